import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeBundle } from '../../../core/msd/bundle.js';
import { predictWholeTile } from '../../../core/inference/predict-whole-tile.js';
import { receptiveMargin } from '../../../core/inference/receptive-field.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';
import type { SlideDescription } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { estimateSlideStain } from '../../../core/stain/slide-stain.js';
import { estimateStain, stainNormalisedSource, stainTransform } from '../../../core/stain/stain-normaliser.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';
import { OTHER_E, OTHER_H, RUIFROK_E, RUIFROK_H, twoStainImage } from '../../core/stain/synthetic-stain.js';

// Stain normalisation where pixels enter the extractors, through the real pool and worker code
// (in-thread workers, TF.js cpu): a tile predicted with `stain` equals predictWholeTile here over
// the slide normalised by its own estimated stain to the bundle's; a bundle without statistics
// warns and predicts the raw pixels.
const WIDTH = 160,
  HEIGHT = 120;
const weights = [randomWeights(3, 4, 71)];
const head = { W: [0.9, -0.6, 0.4, 0.7], b: -0.2 };
const slidePixels = twoStainImage(OTHER_H, OTHER_E, WIDTH * HEIGHT, 21).rgb;
const trainingStain = estimateStain(twoStainImage(RUIFROK_H, RUIFROK_E, 20_000, 22, 1.8, 0.8).rgb)!;
const tiff = encodeTiff([{ options: { width: WIDTH, height: HEIGHT, samplesPerPixel: 3 }, pixels: slidePixels }]);
const description = (): SlideDescription => ({
  kind: 'blob',
  blob: new Blob([tiff as Uint8Array<ArrayBuffer>]),
  name: 'stain.tif',
});
const tile = { x: 32, y: 16, width: 64, height: 64 };

async function predictHere(source: Awaited<ReturnType<typeof openTiff>>): Promise<Float32Array> {
  const model = createSimdHeadPatchModel(head, weights);
  try {
    return await predictWholeTile(source, 0, tile, model.model, { margin: receptiveMargin(weights) });
  } finally {
    model.dispose();
  }
}

for (const method of ['reinhard', 'macenko'] as const) {
  test(`stain '${method}': the pool's tile is the prediction over the slide in the bundle's stain`, async () => {
    const pool = await WorkerPool.create({ workers: 1, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
    try {
      const slide = await pool.openSlide(description());
      const bundle = encodeBundle({
        classes: [{ name: 'c0', weights: weights[0] }],
        mpp: 0.5,
        metadata: {},
        stain: trainingStain,
      });
      const loaded = await pool.setExtractors({ kind: 'decoded', ...bundle, stain: method });
      assert.equal(
        loaded.warnings?.some((w) => /stain/.test(w)),
        false,
      );
      await pool.setHead(head);
      const got = (await pool.predictTile({ slide, level: 0, tile })).probabilities;
      const raw = await openTiff(description());
      const own = (await estimateSlideStain(raw, raw))!;
      const normalised = stainNormalisedSource(raw, stainTransform(method, own, trainingStain)!);
      assert.deepEqual(got, await predictHere(normalised));
      const plain = await predictHere(raw);
      assert.ok(
        got.some((v, i) => Math.abs(v - plain[i]) > 1e-3),
        'normalisation changed nothing',
      );
    } finally {
      pool.close();
    }
  });
}

test('a bundle without stain statistics: a warning, and the raw pixels predicted', async () => {
  const pool = await WorkerPool.create({ workers: 1, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  try {
    const slide = await pool.openSlide(description());
    const bundle = encodeBundle({ classes: [{ name: 'c0', weights: weights[0] }], mpp: 0.5, metadata: {} });
    const loaded = await pool.setExtractors({ kind: 'decoded', ...bundle, stain: 'reinhard' });
    assert.ok(
      loaded.warnings?.some((w) => /stain normalisation 'reinhard' is off/.test(w)),
      `${loaded.warnings}`,
    );
    await pool.setHead(head);
    const got = (await pool.predictTile({ slide, level: 0, tile })).probabilities;
    assert.deepEqual(got, await predictHere(await openTiff(description())));
  } finally {
    pool.close();
  }
});
