import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPyramid, encodeTiff, renderRegion } from '../../../tools/sample/index.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { WorkerPool, type WorkerStatus } from '../../../plugin/pool/worker-pool.js';
import { sharedBytesStats } from '../../../plugin/slide/shared-slide.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { GatedFileServer } from '../../gated-file-server.js';

// Pools over real workers served in this thread (worker/in-thread-worker.ts), each opening a URL
// slide: one reader of its bytes for all of them, a link per worker, closed when the worker dies,
// the reader gone when the last holder closes.
const SPEC = { seed: 9, width: 1100, height: 700, mpp: 0.5 };
const dir = mkdtempSync(join(tmpdir(), 'shared-slide-'));
let bytes: Uint8Array;
let server: GatedFileServer;

before(async () => {
  const { rgb } = renderRegion(SPEC, 0, 0, SPEC.width, SPEC.height);
  const levels = buildPyramid({ width: SPEC.width, height: SPEC.height, channels: 3, data: rgb });
  bytes = encodeTiff(
    levels.map((level, i) => ({
      options: { width: level.width, height: level.height, samplesPerPixel: 3, compression: 'deflate', reduced: i > 0 },
      pixels: level.data,
    })),
  );
  writeFileSync(join(dir, 'slide.tif'), bytes);
  server = await GatedFileServer.serve(join(dir, 'slide.tif'));
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The pool's next 'workers' event where worker 0 has a backend again (its replacement started). */
function replaced(pool: WorkerPool): Promise<void> {
  return new Promise((resolve) => {
    const listener = (event: CustomEvent<readonly WorkerStatus[]>) => {
      if (event.detail[0].backend === undefined) return;
      pool.removeEventListener('workers', listener);
      resolve();
    };
    pool.addEventListener('workers', listener);
  });
}

test('two pools of two workers read a URL slide once, through links that end with their workers', async () => {
  const make = () => WorkerPool.create({ workers: 2, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  const pools = await Promise.all([make(), make()]);
  try {
    const slides = await Promise.all(pools.map((pool) => pool.openSlide({ kind: 'url', url: server.url })));
    const held = async () => {
      const s = await sharedBytesStats(server.url);
      return s && { holders: s.holders, links: s.links };
    };
    assert.deepEqual(await held(), { holders: 2, links: 4 });

    const direct = await openTiff({ kind: 'blob', blob: new Blob([bytes as Uint8Array<ArrayBuffer>]) });
    const rect = { x: 100, y: 50, width: 700, height: 500 };
    const want = await direct.readRegion({ level: 0, ...rect });
    const got = await Promise.all(pools.map((pool, i) => pool.readRegion(slides[i], 0, rect)));
    for (const g of got) assert.ok(Buffer.from(g).equals(Buffer.from(want)), 'the pixels of a direct read');
    const totals = server.totals();
    assert.equal(totals.bytes, totals.distinct, 'no byte was asked for twice');
    const stats = (await sharedBytesStats(server.url))!;
    assert.equal(stats.requests, totals.requests);
    assert.equal(stats.bytes, totals.bytes);

    // A dead worker's link is closed at once; its replacement gets a new one.
    const back = replaced(pools[0]);
    pools[0].terminateWorker(0);
    assert.deepEqual(await held(), { holders: 2, links: 3 });
    await back;
    assert.deepEqual(await held(), { holders: 2, links: 4 });

    pools[0].close();
    assert.deepEqual(await held(), { holders: 1, links: 2 });
  } finally {
    pools.forEach((pool) => pool.close());
  }
  assert.equal(await sharedBytesStats(server.url), undefined, 'the last holder gone, the reader is too');
});
