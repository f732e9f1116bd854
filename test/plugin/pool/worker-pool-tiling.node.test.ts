import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeBundle } from '../../../core/msd/bundle.js';
import { outputTiles } from '../../../core/inference/patch-grid.js';
import type { PatchModel } from '../../../core/inference/patch-model.js';
import { predictTile } from '../../../core/inference/predict-tile.js';
import { predictWholeTile } from '../../../core/inference/predict-whole-tile.js';
import { receptiveMargin } from '../../../core/inference/receptive-field.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';
import type { Rect } from '../../../core/math/rect.js';
import type { SlideDescription } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { WorkerPool, type PoolSlide } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// Both tilings through the real pool over two workers served in this thread (worker/in-thread-
// worker.ts: the worker's own code and messages) on TF.js cpu, where a worker predicts with the
// SIMD engine: whole-forward tiles must be the numbers predictWholeTile gives here, and equal a
// forward over the whole image whatever the tile size; 'patches' must stay predictTile's.
// Depths 5 and 8: margins 15 and 36 (dilations 1…5, 1…8), so the image has tiles whose read
// reaches the image's edges and tiles whose margin lies wholly inside it.
const weights = [randomWeights(3, 5, 61), randomWeights(3, 8, 62)];
const head = { W: [0.9, -0.6, 0.4, 0.7, -0.8, 0.5, -0.3, 0.6, -0.7, 0.2, 0.8, -0.4, 0.3], b: -0.2 };
const encoded = encodeBundle({
  classes: weights.map((w, i) => ({ name: `c${i}`, weights: w })),
  mpp: 0.5,
  metadata: {},
});
const PATCHES = { patchSize: 64, stride: 32 };
const WIDTH = 300,
  HEIGHT = 220;
// Structure at several scales plus a little texture, so that borders and margins show.
const pixels = Uint8Array.from({ length: WIDTH * HEIGHT * 3 }, (_, i) => {
  const p = Math.floor(i / 3),
    c = i % 3;
  const x = p % WIDTH,
    y = Math.floor(p / WIDTH);
  return Math.round(
    128 + 70 * Math.sin(x / (6 + c)) * Math.cos(y / 9) + 40 * Math.sin((x + 2 * y) / 23) + ((p * 37) % 17),
  );
});
const tiff = encodeTiff([{ options: { width: WIDTH, height: HEIGHT, samplesPerPixel: 3 }, pixels }]);
const description = (): SlideDescription => ({
  kind: 'blob',
  blob: new Blob([tiff as Uint8Array<ArrayBuffer>]),
  name: 'tiling.tif',
});
// Measured ~1e-7 between different reads of the same pixels (other row lengths); a margin one
// layer short moves interior pixels by more than 1e-3.
const TOLERANCE = 2e-5;

let pool: WorkerPool;
let slide: PoolSlide;

before(async () => {
  pool = await WorkerPool.create({
    workers: 2,
    createWorker: () => createInThreadWorker(),
    backends: ['cpu'],
    grid: PATCHES,
  });
  slide = await pool.openSlide(description());
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  await pool.setHead(head);
});

after(() => pool.close());

/** The model a worker on cpu predicts with, on this thread. */
async function withModel<T>(use: (model: PatchModel) => Promise<T>): Promise<T> {
  const model = createSimdHeadPatchModel(head, weights);
  try {
    return await use(model.model);
  } finally {
    model.dispose();
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** max |a − b| between a tile's values and the same pixels of a larger result over `region`. */
function worstInside(tile: Rect, values: Float32Array, region: Rect, larger: Float32Array): number {
  let worst = 0;
  for (let r = 0; r < tile.height; r++) {
    for (let c = 0; c < tile.width; c++) {
      const at = (tile.y - region.y + r) * region.width + (tile.x - region.x + c);
      worst = Math.max(worst, Math.abs(values[r * tile.width + c] - larger[at]));
    }
  }
  return worst;
}

test('the pool computes whole tiles by default; a tiling that is not one is refused', async () => {
  assert.equal(pool.tiling, 'whole');
  await assert.rejects(
    pool.predictTile({ slide, level: 0, tile: { x: 0, y: 0, width: 8, height: 8 }, tiling: 'tiles' as never }),
    (err: Error) => err instanceof RangeError && /tiling must be 'whole' or 'patches', got "tiles"/.test(err.message),
  );
  await assert.rejects(WorkerPool.create({ workers: 1, tiling: 'all' as never }), RangeError);
});

test(
  'whole tiles through the pool equal predictWholeTile here and one forward of the whole image, at any tile size',
  { timeout: 120_000 },
  async () => {
    const image = { x: 0, y: 0, width: WIDTH, height: HEIGHT };
    const source = await openTiff(description());
    const margin = receptiveMargin(weights);
    assert.equal(margin, 36);
    // The independent reference: the model over the whole image in one forward.
    const whole = await withModel((model) => model(pixels, WIDTH, HEIGHT));
    const bySize = new Map<number, { tile: Rect; probabilities: Float32Array }[]>();
    for (const size of [128, 64, 45]) {
      const tiles = outputTiles(image, image, size);
      const results = await Promise.all(tiles.map((tile) => pool.predictTile({ slide, level: 0, tile })));
      let worst = 0;
      for (const [i, tile] of tiles.entries()) {
        const r = results[i];
        assert.deepEqual([r.cached, r.patches], [false, 1], 'one forward per tile');
        const here: Float32Array = await withModel((model) => predictWholeTile(source, 0, tile, model, { margin }));
        assert.deepEqual(r.probabilities, here, `${size}² tile at ${tile.x},${tile.y}: the numbers computed here`);
        worst = Math.max(worst, worstInside(tile, r.probabilities, image, whole));
      }
      assert.ok(worst < TOLERANCE, `${size}² tiles differ from the whole-image forward by ${worst}`);
      bySize.set(
        size,
        tiles.map((tile, i) => ({ tile, probabilities: results[i].probabilities })),
      );
    }
    // Tiles computed alone equal the same pixels computed together: every 64² tile against the
    // 128² tile holding it, and the 45² tiles against both.
    const coarse = bySize.get(128)!;
    for (const size of [64, 45]) {
      let worst = 0;
      for (const { tile, probabilities } of bySize.get(size)!) {
        for (const big of coarse) {
          const inside =
            tile.x >= big.tile.x &&
            tile.y >= big.tile.y &&
            tile.x + tile.width <= big.tile.x + big.tile.width &&
            tile.y + tile.height <= big.tile.y + big.tile.height;
          if (inside) worst = Math.max(worst, worstInside(tile, probabilities, big.tile, big.probabilities));
        }
      }
      assert.ok(worst < TOLERANCE, `${size}² tiles differ from the 128² tiles holding them by ${worst}`);
    }
  },
);

test("'patches' through the pool is predictTile's average; the two tilings are computed and cached apart", async () => {
  const tile = { x: 40, y: 30, width: 100, height: 80 };
  const source = await openTiff(description());
  const patches = await pool.predictTile({ slide, level: 0, tile, tiling: 'patches' });
  assert.deepEqual(patches.probabilities, await withModel((model) => predictTile(source, 0, tile, model, PATCHES)));
  assert.ok(patches.patches > 1);
  const whole = await pool.predictTile({ slide, level: 0, tile });
  assert.equal(whole.cached, false, 'a whole tile is not served from the patches one');
  const margin = receptiveMargin(weights);
  assert.deepEqual(
    whole.probabilities,
    await withModel((model) => predictWholeTile(source, 0, tile, model, { margin })),
  );
  // Patch borders (mirror padding 64 px apart) show in the average, never in a whole forward.
  assert.ok(maxDiff(whole.probabilities, patches.probabilities) > 1e-3);
  const wholeAgain = await pool.predictTile({ slide, level: 0, tile, tiling: 'whole' });
  const patchesAgain = await pool.predictTile({ slide, level: 0, tile, tiling: 'patches' });
  assert.deepEqual([wholeAgain.cached, patchesAgain.cached], [true, true]);
  assert.equal(wholeAgain.probabilities, whole.probabilities);
  assert.equal(patchesAgain.probabilities, patches.probabilities);
});

test("a pool made with tiling 'patches' computes patches when a request does not say", async () => {
  const other = await WorkerPool.create({
    workers: 1,
    createWorker: () => createInThreadWorker(),
    backends: ['cpu'],
    grid: PATCHES,
    tiling: 'patches',
  });
  try {
    assert.equal(other.tiling, 'patches');
    const otherSlide = await other.openSlide(description());
    await other.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
    await other.setHead(head);
    const tile = { x: 40, y: 30, width: 100, height: 80 };
    const r = await other.predictTile({ slide: otherSlide, level: 0, tile });
    const expected = await pool.predictTile({ slide, level: 0, tile, tiling: 'patches' });
    assert.deepEqual(r.probabilities, expected.probabilities);
  } finally {
    other.close();
  }
});
