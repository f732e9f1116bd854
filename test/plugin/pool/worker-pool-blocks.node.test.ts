import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeBundle } from '../../../core/msd/bundle.js';
import { outputTiles } from '../../../core/inference/patch-grid.js';
import { predictWholeTile } from '../../../core/inference/predict-whole-tile.js';
import { receptiveMargin } from '../../../core/inference/receptive-field.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';
import type { Rect } from '../../../core/math/rect.js';
import type { SlideDescription } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { WorkerPool, type JobEvent, type PoolSlide } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// Block jobs ('whole' tiling): adjacent queued tiles computed in one forward by the real pool over
// one worker served in this thread (worker/in-thread-worker.ts) on TF.js cpu, where the worker
// predicts with the SIMD engine. Depth 5 (margin 15) on a 256×192 image of 64² tiles (4×3); a
// read of at most 0.04 MP holds a 3×2 block (222×158 with the margin), so the 12 tiles need
// several forwards.
const weights = [randomWeights(3, 5, 81)];
const head = { W: [0.8, -0.5, 0.6, -0.7, 0.4], b: -0.1 };
const encoded = encodeBundle({ classes: [{ name: 'c0', weights: weights[0] }], mpp: 0.5, metadata: {} });
const WIDTH = 256,
  HEIGHT = 192;
const pixels = Uint8Array.from({ length: WIDTH * HEIGHT * 3 }, (_, i) => {
  const p = Math.floor(i / 3);
  return Math.round(128 + 80 * Math.sin((p % WIDTH) / (5 + (i % 3))) * Math.cos(p / WIDTH / 7) + ((p * 31) % 13));
});
const tiff = encodeTiff([{ options: { width: WIDTH, height: HEIGHT, samplesPerPixel: 3 }, pixels }]);
const description = (): SlideDescription => ({
  kind: 'blob',
  blob: new Blob([tiff as Uint8Array<ArrayBuffer>]),
  name: 'blocks.tif',
});
const image = { x: 0, y: 0, width: WIDTH, height: HEIGHT };
const TILES = outputTiles(image, image, 64);
const same = (a: Rect, b: Rect) => a.x === b.x && a.y === b.y;

let pool: WorkerPool;
let slide: PoolSlide;
const events: JobEvent[] = [];

before(async () => {
  pool = await WorkerPool.create({
    workers: 1,
    createWorker: () => createInThreadWorker(),
    backends: ['cpu'],
    blockMegapixels: 0.04,
  });
  slide = await pool.openSlide(description());
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  pool.addEventListener('job', (e) => events.push(e.detail));
});

after(() => pool.close());

let heads = 0;
/** A fresh head: nothing of it is cached, so every tile is a new job. */
const freshHead = () => pool.setHead({ W: head.W, b: head.b + 1e-3 * ++heads });
const ask = (tile: Rect, version: number, priority = 0) =>
  pool.predictTile({ slide, level: 0, tile, version, priority });
const settled = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: Error) => e.name,
  );
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** The tiles started together in the first block (more than one tile in one burst of 'started' events). */
function nextBlock(): Promise<Rect[]> {
  return new Promise((resolve) => {
    let burst: Rect[] = [];
    let scheduled = false;
    const on = (e: CustomEvent<JobEvent>) => {
      if (e.detail.type !== 'started') return;
      burst.push(e.detail.tile);
      if (scheduled) return;
      scheduled = true;
      // A block's tiles start in one synchronous loop: what came before the next microtask is one job.
      queueMicrotask(() => {
        scheduled = false;
        if (burst.length < 2) {
          burst = [];
          return;
        }
        pool.removeEventListener('job', on);
        resolve(burst);
      });
    };
    pool.addEventListener('job', on);
  });
}

test("a view's tiles run as blocks after its first; each equals the tile computed alone and is cached", async () => {
  await freshHead();
  const from = events.length;
  const blocksBefore = pool.stats.blocks;
  const version = pool.newViewport();
  const results = await Promise.all(TILES.map((tile, i) => ask(tile, version, i)));
  const source = await openTiff(description());
  const margin = receptiveMargin(weights);
  // The model the worker predicts with (the fresh head's), here, each tile alone.
  const fresh = createSimdHeadPatchModel({ W: head.W, b: head.b + 1e-3 * heads }, weights);
  try {
    for (const [i, tile] of TILES.entries()) {
      assert.equal(results[i].cached, false);
      const alone = await predictWholeTile(source, 0, tile, fresh.model, { margin });
      const worst = maxDiff(results[i].probabilities, alone);
      assert.ok(worst < 2e-5, `tile ${tile.x},${tile.y} differs from the tile computed alone by ${worst}`);
    }
  } finally {
    fresh.dispose();
  }
  const started = events.slice(from).filter((e) => e.type === 'started');
  assert.equal(started.length, TILES.length, 'every tile handed to the worker once');
  assert.deepEqual(started[0].tile, TILES[0], 'the most urgent tile first');
  const blocks = pool.stats.blocks - blocksBefore;
  // 11 tiles after the first, at most 6 per block: two blocks at least, fewer forwards than tiles.
  assert.ok(blocks >= 2, `${blocks} blocks`);
  // Asked again, every tile of the blocks comes from the cache.
  const hits = pool.stats.cacheHits;
  const again = await Promise.all(TILES.map((tile) => ask(tile, pool.newViewport())));
  assert.ok(again.every((r) => r.cached));
  assert.equal(pool.stats.cacheHits - hits, TILES.length);
  assert.equal(events.length, from + 2 * TILES.length, 'no job for a cached tile');
});

test("a pan that keeps one of a block's tiles keeps the block; its other tiles still land in the cache", async () => {
  await freshHead();
  const from = events.length;
  const v1 = pool.newViewport();
  const block = nextBlock();
  const first = TILES.map((tile, i) => ask(tile, v1, i));
  const running = await block;
  // The view moves on and keeps only the block's first tile.
  const kept = running[0];
  let again!: Promise<unknown>;
  pool.newViewport((version) => {
    again = ask(kept, version);
  });
  const outcomes = await Promise.all(first.map(settled));
  assert.ok(outcomes.every((o) => o === 'AbortError' || o === 'resolved'));
  assert.equal(await settled(again), 'resolved');
  const ended = events.slice(from);
  const startedKept = ended.filter((e) => e.type === 'started' && same(e.tile, kept));
  assert.equal(startedKept.length, 1, 'the kept tile was not started again');
  assert.equal(ended.filter((e) => e.type === 'finished' && same(e.tile, kept)).length, 1);
  // The block's other tiles lost their callers but were computed with it: aborted for the view, cached.
  for (const tile of running.slice(1)) {
    assert.equal(ended.filter((e) => e.type === 'aborted' && same(e.tile, tile)).length, 1);
    const r = await ask(tile, pool.newViewport());
    assert.equal(r.cached, true, `tile ${tile.x},${tile.y} of the block is in the cache`);
  }
});

test('a pan that keeps none of a running block aborts it; asked again, its tiles start over or hit', async () => {
  await freshHead();
  const from = events.length;
  const v1 = pool.newViewport();
  const block = nextBlock();
  const first = TILES.map((tile, i) => ask(tile, v1, i));
  const running = await block;
  pool.newViewport();
  assert.ok((await Promise.all(first.map(settled))).every((o) => o === 'AbortError' || o === 'resolved'));
  const again = await ask(running[0], pool.newViewport());
  const ended = events.slice(from);
  for (const tile of running) assert.equal(ended.filter((e) => e.type === 'aborted' && same(e.tile, tile)).length, 1);
  // A worker that finished before the abort reached it leaves the block in the cache; otherwise a new job.
  assert.equal(ended.filter((e) => e.type === 'started' && same(e.tile, running[0])).length, again.cached ? 1 : 2);
});

test('a block whose worker dies goes back to the queue: every one of its tiles still arrives', async () => {
  await freshHead();
  const version = pool.newViewport();
  const block = nextBlock();
  const asked = TILES.map((tile, i) => ask(tile, version, i));
  await block;
  pool.terminateWorker(0);
  const results = await Promise.all(asked);
  assert.ok(results.every((r, i) => r.probabilities.length === TILES[i].width * TILES[i].height));
});
