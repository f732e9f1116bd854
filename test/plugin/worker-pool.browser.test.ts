import { assert } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { WorkerPool, type PoolSlide, type WorkerPoolOptions } from '../../plugin/worker-pool.js';
import { decodeBundle, encodeBundle } from '../../worker/extractor-bundle.js';
import { createHeadPatchModel } from '../../worker/head-patch-model.js';
import type { GridOptions, Rect } from '../../worker/patch-grid.js';
import { predictTile } from '../../worker/predict-region.js';
import type { ExtractorSource } from '../../worker/protocol.js';
import { initBackend } from '../../worker/tf-backend.js';
import { openTiff } from '../../worker/tiff-pixel-source.js';
import { randomWeights } from '../worker/msd-test-cases.js';

// Tiny random extractors (depth 2 and 3) on wasm keep this fast; what is tested is the engine.
const workerUrl = new URL('/worker/worker-entry.ts', location.origin);
const noWebgpuWorkerUrl = new URL('/test/plugin/no-webgpu-worker.ts', location.origin);
const crashingWorkerUrl = new URL('/test/plugin/crashing-worker.ts', location.origin);
const slideUrl = new URL('/files/.cache/sample/sample-slide.tif', location.origin).href;
const encoded = encodeBundle({ classes: [{ name: 'a', weights: randomWeights(3, 2, 21) }, { name: 'b', weights: randomWeights(3, 3, 22) }], mpp: 0.5, metadata: {} });
const source: ExtractorSource = { kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights };
const head = { W: [0.8, -0.5, 0.3, 0.6, -0.9], b: -0.1 };
const SMALL: GridOptions = { patchSize: 64, stride: 16 };

/** The same tile on the main thread, with the same code the workers run. */
async function inThread(tile: Rect, grid: GridOptions): Promise<Float32Array> {
  await initBackend('wasm');
  const slide = await openTiff({ kind: 'url', url: slideUrl });
  const bundle = decodeBundle(encoded.manifest, encoded.weights);
  const model = createHeadPatchModel(head, bundle.classes.map((c) => c.weights));
  try {
    return await predictTile(slide, 0, tile, model.model, grid);
  } finally {
    model.dispose();
  }
}

async function configured(options: WorkerPoolOptions): Promise<{ pool: WorkerPool; slide: PoolSlide }> {
  const pool = await WorkerPool.create({ workerUrl, backends: ['wasm'], ...options });
  const slide = await pool.openSlide({ kind: 'url', url: slideUrl });
  await pool.setExtractors(source);
  await pool.setHead(head);
  return { pool, slide };
}

const isAbort = (e: unknown) => e instanceof DOMException && e.name === 'AbortError';

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('worker pool', function () {
  before(async function (this: Mocha.Context) {
    const r = await fetch(slideUrl, { headers: { Range: 'bytes=0-0' } });
    await r.body?.cancel();
    if (!r.ok) {
      console.log('skipped: the sample slide is not generated (npm run sample)');
      this.skip();
    }
  });

  it('computes the same tiles as the main thread, at the default grid, and caches them', async () => {
    const { pool, slide } = await configured({ workers: 2 });
    try {
      assert.deepEqual(pool.workers.map((w) => w.backend), ['wasm', 'wasm']);
      const tiles = [{ x: 1000, y: 1000, width: 64, height: 48 }, { x: 8192 - 40, y: 3000, width: 40, height: 30 }];
      const results = await Promise.all(tiles.map((tile, i) => pool.predictTile({ slide, level: 0, tile, priority: i })));
      for (const [i, tile] of tiles.entries()) {
        const expected = await inThread(tile, {});
        assert.equal(results[i].probabilities.length, tile.width * tile.height);
        assert.isAtMost(maxDiff(results[i].probabilities, expected), 1e-6, `tile ${i}`);
        assert.isAbove(results[i].patches, 0);
      }
      assert.notEqual(results[0].worker, results[1].worker, 'two workers shared the two jobs');
      const again = await pool.predictTile({ slide, level: 0, tile: tiles[0] });
      assert.isTrue(again.cached);
      assert.strictEqual(again.probabilities, results[0].probabilities);
    } finally {
      pool.close();
    }
  });

  it('never delivers aborted or stale jobs, and goes on with the next ones', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: SMALL });
    try {
      const tile = (i: number) => ({ x: 64 * i, y: 512, width: 64, height: 64 });
      const controllers = Array.from({ length: 6 }, () => new AbortController());
      const delivered: number[] = [];
      const outcomes = controllers.map((c, i) =>
        pool.predictTile({ slide, level: 0, tile: tile(i), priority: i, signal: c.signal }).then(
          (r) => (delivered.push(i), r),
          (e) => (isAbort(e) ? 'aborted' : Promise.reject(e)),
        ),
      );
      controllers[0].abort(); // running
      controllers[3].abort(); // queued
      const settled = await Promise.all(outcomes);
      assert.deepEqual(settled.map((s) => (s === 'aborted' ? s : 'ok')), ['aborted', 'ok', 'ok', 'aborted', 'ok', 'ok']);
      assert.deepEqual(delivered, [1, 2, 4, 5], 'in priority order, aborted ones never');
      const expected = await inThread(tile(4), SMALL);
      assert.isAtMost(maxDiff((settled[4] as { probabilities: Float32Array }).probabilities, expected), 1e-6);

      // A new viewport drops the old one's jobs, running or queued.
      const old = [6, 7, 8].map((i) => pool.predictTile({ slide, level: 0, tile: tile(i) }).then(() => 'delivered', (e) => (isAbort(e) ? 'aborted' : e)));
      pool.newViewport();
      const fresh = pool.predictTile({ slide, level: 0, tile: tile(9) });
      assert.deepEqual(await Promise.all(old), ['aborted', 'aborted', 'aborted']);
      assert.isFalse((await fresh).cached);
      assert.isTrue(isAbort(await pool.predictTile({ slide, level: 0, tile: tile(10), version: 0 }).catch((e) => e)), 'an old version is refused');
    } finally {
      pool.close();
    }
  });

  it('replaces a killed worker and finishes its job', async () => {
    const { pool, slide } = await configured({ workers: 2, grid: SMALL });
    try {
      const tile = { x: 2048, y: 2048, width: 64, height: 64 };
      const job = pool.predictTile({ slide, level: 0, tile });
      const other = pool.predictTile({ slide, level: 0, tile: { x: 4096, y: 0, width: 64, height: 64 } });
      pool.terminateWorker(0);
      const [r] = await Promise.all([job, other]);
      assert.isAtMost(maxDiff(r.probabilities, await inThread(tile, SMALL)), 1e-6);
      assert.equal(pool.workers[0].restarts, 1);
      // The replacement is configured and takes work.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const both = await Promise.all([1, 2, 3, 4].map((i) => pool.predictTile({ slide, level: 0, tile: { x: 64 * i, y: 4096, width: 64, height: 64 } })));
      assert.includeMembers(both.map((b) => b.worker), [0, 1]);
    } finally {
      pool.close();
    }
  });

  it('replaces a worker that crashes, gives up a job that crashes every worker, and goes on', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: SMALL, workerUrl: crashingWorkerUrl, maxAttempts: 2 });
    try {
      const doomed = pool.predictTile({ slide, level: 0, tile: { x: 4242, y: 0, width: 16, height: 16 } });
      const fine = pool.predictTile({ slide, level: 0, tile: { x: 4000, y: 0, width: 16, height: 16 }, priority: 1 });
      const err = await doomed.catch((e) => e);
      assert.match(String(err), /given up: its worker died 2 times/);
      assert.equal((await fine).probabilities.length, 256);
      assert.equal(pool.workers[0].restarts, 2);
      assert.equal(pool.workers[0].backend, 'wasm');
    } finally {
      pool.close();
    }
  });

  it('drops queued jobs of a replaced head', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: SMALL });
    try {
      const jobs = [0, 1, 2].map((i) => pool.predictTile({ slide, level: 0, tile: { x: 64 * i, y: 1024, width: 32, height: 32 } }).then(() => 'ok', (e) => (isAbort(e) ? 'aborted' : e)));
      await pool.setHead({ W: [1, 1, 1, 1, 1], b: 0 });
      assert.deepEqual(await Promise.all(jobs), ['aborted', 'aborted', 'aborted']);
      const after = await pool.predictTile({ slide, level: 0, tile: { x: 0, y: 1024, width: 32, height: 32 } });
      assert.isFalse(after.cached, 'a tile of the old head is not served for the new one');
    } finally {
      pool.close();
    }
  });

  it('holds the same TF.js memory after 100 small jobs as after 10', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: { patchSize: 32, stride: 16 } });
    try {
      const run = (from: number, to: number) => Promise.all(Array.from({ length: to - from }, (_, k) => pool.predictTile({ slide, level: 0, tile: { x: 16 * (from + k), y: 100, width: 16, height: 16 } })));
      await run(0, 10);
      const after10 = await pool.memory(0);
      await run(10, 100);
      const after100 = await pool.memory(0);
      assert.equal(after100.backend, 'wasm');
      assert.equal(after100.numTensors, after10.numTensors);
      assert.equal(after100.numBytes, after10.numBytes);
    } finally {
      pool.close();
    }
  });

  it('falls back to wasm where WebGPU is missing', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: SMALL, workerUrl: noWebgpuWorkerUrl, backends: ['webgpu', 'wasm'] });
    try {
      const [w] = pool.workers;
      assert.equal(w.backend, 'wasm');
      assert.match(w.failures[0], /webgpu/);
      const tile = { x: 300, y: 300, width: 40, height: 40 };
      const r = await pool.predictTile({ slide, level: 0, tile });
      assert.isAtMost(maxDiff(r.probabilities, await inThread(tile, SMALL)), 1e-6);
    } finally {
      pool.close();
    }
  });

  after(() => tf.disposeVariables());
});
