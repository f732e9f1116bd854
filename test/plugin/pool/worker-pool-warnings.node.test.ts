import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeBundle, writeBundle } from '../../../core/msd/bundle.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// What a worker could not check when it loaded a bundle reaches the pool's caller: an old bundle
// (no checksum, no probe) loads with warnings, a sealed one without; a damaged one is refused.
const bundle = { classes: [{ name: 'c0', weights: randomWeights(3, 2, 31) }], mpp: 0.25, metadata: {} };

test('bundle warnings cross the worker boundary; a corrupted sealed bundle is refused there', async () => {
  const pool = await WorkerPool.create({ workers: 1, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  try {
    const old = encodeBundle(bundle);
    const loadedOld = await pool.setExtractors({ kind: 'decoded', manifest: old.manifest, weights: old.weights });
    assert.equal(loadedOld.warnings?.length, 2);
    assert.match(loadedOld.warnings![0], /no weightsSha256/);
    const sealed = await writeBundle(bundle);
    const loaded = await pool.setExtractors({ kind: 'decoded', manifest: sealed.manifest, weights: sealed.weights });
    assert.equal(loaded.warnings, undefined);
    const damaged = sealed.weights.slice(0);
    new DataView(damaged).setFloat32(8, 0.5, true);
    await assert.rejects(pool.setExtractors({ kind: 'decoded', manifest: sealed.manifest, weights: damaged }), {
      name: 'BundleError',
      code: 'checksum-mismatch',
    });
  } finally {
    pool.close();
  }
});
