import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import { encodeBundle } from '../../../core/msd/bundle.js';
import type { SlideDescription } from '../../../core/slide/pixel-source.js';
import { WorkerPool, type PoolSlide } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// The cells a worker traces (with a tile, or alone for a threshold change) through the real pool
// over two workers served in this thread (worker/in-thread-worker.ts: the worker's own code and
// messages, transfers included): they must be cellInstances of the same probabilities at the same
// threshold, here on the test's thread, and their areas the count of pixels above it.
const weights = [randomWeights(3, 4, 71)];
const head = { W: [0.9, -0.6, 0.4, 0.7], b: -0.1 };
const encoded = encodeBundle({ classes: [{ name: 'c0', weights: weights[0] }], mpp: 0.5, metadata: {} });
const WIDTH = 200,
  HEIGHT = 160;
const pixels = Uint8Array.from({ length: WIDTH * HEIGHT * 3 }, (_, i) => {
  const p = Math.floor(i / 3),
    c = i % 3;
  const x = p % WIDTH,
    y = Math.floor(p / WIDTH);
  return Math.round(128 + 90 * Math.sin(x / (4 + c)) * Math.cos(y / 5) + ((p * 37) % 23));
});
const tiff = encodeTiff([{ options: { width: WIDTH, height: HEIGHT, samplesPerPixel: 3 }, pixels }]);
const description = (): SlideDescription => ({
  kind: 'blob',
  blob: new Blob([tiff as Uint8Array<ArrayBuffer>]),
  name: 'contours.tif',
});

let pool: WorkerPool;
let slide: PoolSlide;

before(async () => {
  pool = await WorkerPool.create({ workers: 2, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  slide = await pool.openSlide(description());
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  await pool.setHead(head);
});

after(() => pool.close());

/** The reference: cellInstances on this thread, as the worker's answer shapes them. */
const reference = (p: Float32Array, width: number, height: number, threshold: number) =>
  cellInstances(p, width, height, { threshold }).cells.map((c) => ({ rings: c.rings, area: c.area }));

/** A threshold that cuts the map into many cells: its median. */
const median = (p: Float32Array) => Float32Array.from(p).sort()[p.length >> 1];

test('a tile asked with contours comes with the cells cellInstances finds in its probabilities', async () => {
  const tile = { x: 8, y: 16, width: 128, height: 96 };
  const plain = await pool.predictTile({ slide, level: 0, tile, tiling: 'whole' });
  assert.equal(plain.contours, undefined, 'not asked, not traced');
  const threshold = median(plain.probabilities);
  // Another tile of the same slide (the first is in the cache now, without contours).
  const other = { x: 64, y: 40, width: 128, height: 96 };
  const r = await pool.predictTile({ slide, level: 0, tile: other, tiling: 'whole', contours: { threshold } });
  assert.equal(r.cached, false);
  assert.ok(r.contours, 'traced by the worker');
  assert.equal(r.contours.threshold, threshold);
  const expected = reference(r.probabilities, other.width, other.height, threshold);
  assert.ok(expected.length > 10, `${expected.length} cells`);
  assert.deepEqual(r.contours.cells, expected);
  const above = r.probabilities.filter((p) => p > threshold).length;
  assert.equal(
    r.contours.cells.reduce((s, c) => s + c.area, 0),
    above,
    'the cells cover exactly the pixels above the threshold',
  );
  const again = await pool.predictTile({ slide, level: 0, tile: other, tiling: 'whole', contours: { threshold } });
  assert.equal(again.cached, true);
  assert.deepEqual(again.contours, r.contours, 'from the cache, with the cells its worker traced');
  const cachedPlain = await pool.predictTile({ slide, level: 0, tile, tiling: 'whole', contours: { threshold } });
  assert.deepEqual(
    [cachedPlain.cached, cachedPlain.contours],
    [true, undefined],
    'a cached tile computed without contours has none: the caller traces',
  );
});

test('traceContours traces a map in a worker at any threshold, leaving the caller its map', async () => {
  const tile = { x: 0, y: 0, width: 96, height: 80 };
  const { probabilities } = await pool.predictTile({ slide, level: 0, tile, tiling: 'whole' });
  const copy = Float32Array.from(probabilities);
  const thresholds = [median(probabilities), Math.min(...copy) + 0.75 * (Math.max(...copy) - Math.min(...copy))];
  // Both at once: the two workers each get one.
  const traced = await Promise.all(
    thresholds.map((threshold) => pool.traceContours({ probabilities, width: 96, height: 80, threshold })),
  );
  traced.forEach((t, i) => {
    assert.equal(t.threshold, thresholds[i]);
    assert.deepEqual(t.cells, reference(copy, 96, 80, thresholds[i]));
  });
  assert.ok(traced[0].cells.length > 0 && traced[1].cells.length > 0);
  assert.notDeepEqual(traced[0].cells, traced[1].cells, 'another threshold, other cells');
  assert.deepEqual(probabilities, copy, 'copied to the worker, not transferred');
  await assert.rejects(
    pool.traceContours({ probabilities, width: 95, height: 80, threshold: 0.5 }),
    /7680 probabilities for a 95×80 map/,
  );
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    pool.traceContours({ probabilities, width: 96, height: 80, threshold: 0.5, signal: controller.signal }),
    { name: 'AbortError' },
  );
});
