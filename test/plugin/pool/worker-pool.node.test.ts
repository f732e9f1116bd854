import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeBundle } from '../../../core/msd/bundle.js';
import { predictTile } from '../../../core/inference/predict-tile.js';
import { resampledSource } from '../../../core/inference/resampled-source.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';
import type { SlideDescription } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { WorkerPool, type PoolSlide, type WorkerStatus } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// The real pool over real workers served in this thread (worker/in-thread-worker.ts) on TF.js cpu,
// where a worker predicts with the SIMD engine: the same numbers as that engine here. The paper's
// patches (predictTile); whole-forward tiles are worker-pool-tiling.node.test.ts's.
const weights = [randomWeights(3, 2, 31), randomWeights(3, 3, 32)];
const head = { W: [0.8, -0.5, 0.3, 0.6, -0.9], b: -0.1 };
// Declared for 0.25 µm/px: on a slide stated as 0.5 µm/px the inference grid is level 0 upsampled 2×.
const encoded = encodeBundle({
  classes: weights.map((w, i) => ({ name: `c${i}`, weights: w })),
  mpp: 0.25,
  metadata: {},
});
const grid = { patchSize: 32, stride: 16 };
const SIZE = 96;
const tiff = encodeTiff([
  {
    options: { width: SIZE, height: SIZE, samplesPerPixel: 3 },
    pixels: new Uint8Array(SIZE * SIZE * 3).map((_, i) => (i * 37) % 251),
  },
]);
const description = (): SlideDescription => ({
  kind: 'blob',
  blob: new Blob([tiff as Uint8Array<ArrayBuffer>]),
  name: 'small.tif',
});

let pool: WorkerPool;
let slide: PoolSlide;

before(async () => {
  pool = await WorkerPool.create({
    workers: 2,
    createWorker: () => createInThreadWorker(),
    backends: ['cpu'],
    tiling: 'patches',
    grid,
  });
  slide = await pool.openSlide(description());
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  await pool.setHead(head);
});

after(() => pool.close());

/** The same tile on this thread, without the pool and its protocol. */
async function direct(
  tile: { x: number; y: number; width: number; height: number },
  inference?: { level: number; width: number; height: number },
) {
  const source = await openTiff(description());
  const model = createSimdHeadPatchModel(head, weights);
  try {
    const pixels = inference ? resampledSource(source, inference.level, inference.width, inference.height) : source;
    return await predictTile(pixels, 0, tile, model.model, grid);
  } finally {
    model.dispose();
  }
}

test('tiles of a level and of an inference grid come back as computed here; again, from the cache', async () => {
  const tile = { x: 8, y: 16, width: 40, height: 24 };
  const plain = await pool.predictTile({ slide, level: 0, tile });
  assert.deepEqual(plain.probabilities, await direct(tile));
  const inference = pool.inferenceGrid(slide, { slideMpp: 0.5 });
  assert.deepEqual([inference.level, inference.width, inference.height], [0, 2 * SIZE, 2 * SIZE]);
  const scaled = await pool.predictTile({ slide, inference, tile });
  assert.deepEqual(scaled.probabilities, await direct(tile, inference));
  assert.notDeepEqual(scaled.probabilities, plain.probabilities, 'other pixels, another job');
  const again = await pool.predictTile({ slide, inference, tile });
  assert.equal(again.cached, true);
  assert.equal(again.probabilities, scaled.probabilities);
});

test("a worker's death and its replacement's start arrive as 'workers' events; its job still finishes", async () => {
  const seen: (readonly WorkerStatus[])[] = [];
  const replaced = new Promise<void>((resolve) => {
    const listener = (event: CustomEvent<readonly WorkerStatus[]>) => {
      seen.push(event.detail);
      if (event.detail[0].backend !== undefined) {
        pool.removeEventListener('workers', listener);
        resolve();
      }
    };
    pool.addEventListener('workers', listener);
  });
  const tile = { x: 48, y: 48, width: 32, height: 32 };
  const job = pool.predictTile({ slide, level: 0, tile });
  pool.terminateWorker(0);
  await replaced;
  assert.deepEqual(
    seen.map((statuses) => statuses.map((s) => `${s.index}:${s.backend}:${s.restarts}`)),
    [
      ['0:undefined:1', '1:cpu:0'],
      ['0:cpu:1', '1:cpu:0'],
    ],
    'dead and replaced (no backend yet), then started',
  );
  assert.deepEqual((await job).probabilities, await direct(tile));
  assert.deepEqual(pool.workers, seen[1]);
});
