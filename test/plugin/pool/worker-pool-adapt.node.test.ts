import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adapt, type AdaptProgress } from '../../../core/adaptation/adapt.js';
import { AdaptError } from '../../../core/adaptation/adapt-error.js';
import { encodeBundle } from '../../../core/msd/bundle.js';
import { resampledSource } from '../../../core/inference/resampled-source.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import type { SlideDescription } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { readGridPatches } from '../../../core/support-set/support-patches.js';
import { WorkerPool, type PoolSlide } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// Adaptation through the real pool over real workers served in this thread: the support features
// spread over the workers ('support-features'), the fit in one of them, against adapt() here on
// the same pixels. In-thread workers share one thread, so this checks what is computed and who
// computes it, not the parallel speed (the browser has real threads).
const weights = [randomWeights(3, 4, 41), randomWeights(3, 3, 42)];
const classes = weights.map((w, i) => ({ name: `c${i}`, weights: w }));
const encoded = encodeBundle({ classes, mpp: 0.5, metadata: {} });
const SIZE = 160;
// Dark discs (the "class") on a light background, with texture, so the fit has something to find.
const pixels = new Uint8Array(SIZE * SIZE * 3);
for (let y = 0; y < SIZE; y++) {
  for (let x = 0; x < SIZE; x++) {
    const inDisc =
      ((x % 40) - 20) ** 2 + ((y % 40) - 20) ** 2 < 120 || ((x + 20) % 40) ** 2 + ((y + 13) % 40) ** 2 < 60;
    const base = inDisc ? [90, 40, 140] : [230, 170, 200];
    for (let c = 0; c < 3; c++)
      pixels[3 * (y * SIZE + x) + c] = Math.max(0, base[c] - ((x * 7 + y * 13 + c * 29) % 37));
  }
}
const tiff = encodeTiff([{ options: { width: SIZE, height: SIZE, samplesPerPixel: 3 }, pixels }]);
const description = (): SlideDescription => ({
  kind: 'blob',
  blob: new Blob([tiff as Uint8Array<ArrayBuffer>]),
  name: 'discs.tif',
});
const PATCH = 48;
/** Patches with a painted mask: 1 on dark pixels, 0 on light ones, an unlabelled band. */
function patchesAt(corners: readonly [number, number][]) {
  return corners.map(([x, y]) => {
    const mask = new Uint8Array(PATCH * PATCH);
    for (let r = 0; r < PATCH; r++) {
      for (let c = 0; c < PATCH; c++) {
        const i = 3 * ((y + r) * SIZE + x + c);
        mask[r * PATCH + c] = c < 3 ? 255 : pixels[i] < 160 ? 1 : 0;
      }
    }
    return { x, y, size: PATCH, mask };
  });
}
const patches = patchesAt([
  [0, 0],
  [50, 20],
  [100, 90],
  [30, 110],
  [70, 60],
]);
const OPTIONS = { lambda: 1e-3 };

let pool: WorkerPool;
let slide: PoolSlide;

before(async () => {
  pool = await WorkerPool.create({ workers: 3, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  slide = await pool.openSlide(description());
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
});

after(() => pool.close());

/** adapt() on this thread on the same pixels. */
async function direct(options: typeof OPTIONS & { engine?: 'tfjs' }) {
  await initBackend('cpu');
  const source = await openTiff(description());
  const grid = pool.inferenceGrid(slide);
  const view = resampledSource(source, grid.level, grid.width, grid.height);
  return adapt(await readGridPatches(patches, view), classes, options);
}

test('the features are spread over the idle workers and the head is the one adapt() gives here', async () => {
  const grid = pool.inferenceGrid(slide);
  const progress: AdaptProgress[] = [];
  const answer = await pool.adapt({ slide, grid, patches, options: OPTIONS }, { onProgress: (p) => progress.push(p) });
  const here = await direct(OPTIONS);
  const { report } = answer;
  console.log(
    `pool: ${JSON.stringify(report.distributed)}; features ${report.engine.features}, ` +
      `${report.bfgs!.iterations} BFGS steps`,
  );
  assert.equal(report.distributed?.workers, 3, 'all three workers were idle: each computed a share');
  assert.equal(report.distributed?.lost, 0);
  assert.ok(report.timings.features >= report.distributed!.features);
  assert.equal(report.engine.features, 'msd-simd');
  // The same MSD engine on the same pixels: the same float32 rows, so the same head to the bit.
  assert.deepEqual(answer.head.W, here.head.W);
  assert.equal(answer.head.b, here.head.b);
  // Feature progress counts the patches once, as the shares come in, then the fit's phases.
  const features = progress.filter((p) => p.phase === 'features');
  assert.equal(features.at(-1)!.phase === 'features' && features.at(-1)!.done, patches.length);
  assert.ok(features.every((p) => p.phase === 'features' && p.total === patches.length));
  assert.ok(progress.some((p) => p.phase === 'bfgs'));
  // Every worker is free again: tiles run after the fit.
  await pool.setHead({ W: answer.head.W, b: answer.head.b });
  const tiles = await Promise.all(
    [0, 1, 2].map((k) =>
      pool.predictTile({ slide, inference: grid, tile: { x: 32 * k, y: 0, width: 32, height: 32 } }),
    ),
  );
  assert.ok(tiles.every((t) => t.probabilities.length === 32 * 32));
});

test('a helper that dies leaves its share to the fitter: the same head', async () => {
  const grid = pool.inferenceGrid(slide);
  // All three are idle: worker 0 fits, 1 and 2 help. The requests are posted synchronously.
  const started = pool.adapt({ slide, grid, patches, options: OPTIONS });
  pool.terminateWorker(2);
  const answer = await started;
  // Patch k went to worker k mod 3: worker 2 had patch 2 only.
  assert.deepEqual([answer.report.distributed?.workers, answer.report.distributed?.lost], [3, 1]);
  const here = await direct(OPTIONS);
  assert.deepEqual(answer.head.W, here.head.W);
});

test("the TF.js engine fits in one worker, computing its own features, and gives that engine's head here", async () => {
  const grid = pool.inferenceGrid(slide);
  const answer = await pool.adapt({ slide, grid, patches, options: { ...OPTIONS, engine: 'tfjs' } });
  assert.equal(answer.report.distributed, undefined);
  assert.equal(answer.report.engine.fit, 'tfjs');
  const here = await direct({ ...OPTIONS, engine: 'tfjs' });
  const d = Math.hypot(...answer.head.W.map((w, i) => w - here.head.W[i])) / Math.hypot(...here.head.W);
  assert.ok(d < 1e-6, `${d}`);
});

test('an abort while the shares are computed rejects with an AbortError and frees the workers', async () => {
  const grid = pool.inferenceGrid(slide);
  const controller = new AbortController();
  const started = pool.adapt(
    { slide, grid, patches, options: OPTIONS },
    {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'features') controller.abort();
      },
    },
  );
  await assert.rejects(started, (err: unknown) => err instanceof Error && err.name === 'AbortError');
  // The pool still adapts (nothing left reserved).
  const again = await pool.adapt({ slide, grid, patches: patches.slice(0, 2), options: OPTIONS });
  assert.equal(again.report.distributed?.workers, 2);
});

test("a helper's refusal of its share (a bad patch) is the adaptation's error, with its class and code", async () => {
  const grid = pool.inferenceGrid(slide);
  const [good, other] = patches;
  const bad = { ...other, mask: other.mask.subarray(0, 100).slice() };
  await assert.rejects(pool.adapt({ slide, grid, patches: [good, bad], options: OPTIONS }), (err: unknown) => {
    assert.ok(err instanceof AdaptError, `${err}`);
    assert.equal(err.code, 'bad-patch');
    assert.match(err.message, /so its mask needs 2304 values, got 100/);
    return true;
  });
});
