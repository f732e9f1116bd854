import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { readLabelledDataset } from '../../../tools/dataset.js';
import { integerZoom, sampleSupportSet, tilePatches } from '../../../tools/support-set.js';
import { adapt } from '../../../core/adaptation/adapt.js';
import { decodeBundle } from '../../../core/msd/bundle.js';
import { createHeadPatchModel, type LinearHead } from '../../../core/inference/head-patch-model.js';
import { seededGaussian, type MsdWeights } from '../../../core/msd/weights.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { referenceForward } from '../msd/msd-reference.js';
import { maxAbsDiff, randomImage, randomWeights } from '../msd/msd-test-cases.js';

/** σ(b + Σ W·g(x)) in float64 from the plain-loop reference features, W in the head's order. */
function referenceHead(
  head: LinearHead,
  extractors: readonly MsdWeights[],
  pixels: ArrayLike<number>,
  height: number,
  width: number,
): Float64Array {
  const features = extractors.map((e) => referenceForward(e, { height, width, pixels }).features);
  return new Float64Array(height * width).map((_, p) => {
    let z = head.b;
    let k = 0;
    extractors.forEach((e, i) => {
      const depth = e.layers.length;
      for (let c = 0; c < depth; c++) z += head.W[k++] * features[i][p * depth + c];
    });
    return 1 / (1 + Math.exp(-z));
  });
}

/** Fraction of values in (0.05, 0.95): a comparison on saturated probabilities would hide errors. */
const midFraction = (p: ArrayLike<number>) => Array.from(p).filter((v) => v > 0.05 && v < 0.95).length / p.length;

// Depths 12, 1 and 25 in one head: the depth-1 and depth-12 networks run in the depth-25
// network's shared buffer (and depth 1 alone would have no room for the SIMD loops' overrun).
const extractors = [randomWeights(3, 12, 31), randomWeights(3, 1, 32), randomWeights(3, 25, 33)];
const gaussian = seededGaussian(34);
const head: { W: number[]; b: number } = { W: Array.from({ length: 38 }, () => gaussian() / Math.sqrt(38)), b: 0.2 };
// Odd sizes (not multiples of the 4-pixel vectors), a 1-pixel-high strip and sizes below
// 2·dilation + 1 where reflection folds more than once.
const SIZES = [
  [23, 17],
  [5, 7],
  [1, 9],
  [40, 33],
] as const;

// Float32 features against float64 ones: measured max |Δp| ≈ 1e-7 here; a wrong tap, channel,
// pad or weight slice moves probabilities by 1e-2 or more.
const TOLERANCE = 1e-5;

test(
  'equals the float64 reference and the TF.js head model, ' + 'with the SIMD and the plain-JS loops, at odd sizes',
  async () => {
    await initBackend('wasm');
    const tfModel = createHeadPatchModel(head, extractors);
    const worst: Record<string, number> = { simd: 0, plain: 0, tfjs: 0 };
    try {
      for (const simd of [true, false]) {
        const model = createSimdHeadPatchModel(head, extractors, { simd });
        assert.equal(
          model.usesSimd,
          simd,
          simd ? 'Node 20 has WebAssembly SIMD: the SIMD loops must run' : 'simd: false runs the plain loops',
        );
        // One model through every size in turn: its buffers are remade when the size changes.
        for (const [height, width] of SIZES) {
          const pixels = randomImage(height, width, 3, 100 * height + width);
          const expected = referenceHead(head, extractors, pixels, height, width);
          const got = await model.model(Uint8Array.from(pixels), width, height);
          assert.equal(got.length, height * width);
          const d = maxAbsDiff(got, expected);
          worst[simd ? 'simd' : 'plain'] = Math.max(worst[simd ? 'simd' : 'plain'], d);
          assert.ok(d <= TOLERANCE, `${simd ? 'SIMD' : 'plain'} ${height}×${width}: max |Δ| ${d}`);
          if (simd) {
            const viaTf = await tfModel.model(Uint8Array.from(pixels), width, height);
            worst.tfjs = Math.max(worst.tfjs, maxAbsDiff(got, viaTf));
            assert.ok(maxAbsDiff(got, viaTf) <= TOLERANCE, `vs TF.js ${height}×${width}: ${maxAbsDiff(got, viaTf)}`);
          }
        }
        model.dispose();
      }
    } finally {
      tfModel.dispose();
    }
    const pixels = randomImage(40, 33, 3, 100 * 40 + 33);
    assert.ok(midFraction(referenceHead(head, extractors, pixels, 40, 33)) > 0.3, 'the test head is not saturated');
    console.log(
      `max |Δp|: SIMD vs float64 ${worst.simd.toExponential(2)}, ` +
        `plain JS vs float64 ${worst.plain.toExponential(2)}, ` +
        `SIMD vs TF.js wasm ${worst.tfjs.toExponential(2)}`,
    );
  },
);

test('buffers are reused across patches without carrying anything from one patch to the next', async () => {
  const model = createSimdHeadPatchModel(head, extractors);
  const [h, w] = [37, 29];
  const a = Uint8Array.from(randomImage(h, w, 3, 1));
  const b = Uint8Array.from(randomImage(h, w, 3, 2));
  const first = await model.model(a, w, h);
  const kept = first.slice();
  const other = await model.model(b, w, h);
  const again = await model.model(a, w, h);
  await model.model(Uint8Array.from(randomImage(12, 50, 3, 3)), 50, 12);
  const afterResize = await model.model(a, w, h);
  assert.ok(maxAbsDiff(first, other) > 1e-2, 'two different patches give different probabilities');
  assert.deepEqual(again, kept, 'the same patch gives the same bits after another patch');
  assert.deepEqual(afterResize, kept, 'and after a patch of another size');
  assert.deepEqual(first, kept, "a returned array is the caller's: later patches do not overwrite it");
  model.dispose();
});

test('refuses heads that do not fit the extractors, bad patches, aborted calls and use after dispose', async () => {
  assert.throws(
    () => createSimdHeadPatchModel({ W: [1, 2], b: 0 }, extractors),
    /the head has 2 weights, the extractors give 38 features/,
  );
  assert.throws(
    () => createSimdHeadPatchModel({ W: [...head.W.slice(0, 37), NaN], b: 0 }, extractors),
    /not a finite number/,
  );
  assert.throws(() => createSimdHeadPatchModel({ W: [1], b: Infinity }, [extractors[1]]), /not a finite number/);
  assert.throws(() => createSimdHeadPatchModel({ W: [], b: 0 }, []), /at least one extractor/);
  assert.throws(() => createSimdHeadPatchModel({ W: [1, 1], b: 0 }, [randomWeights(1, 2, 5)]), /3 input channels/);
  const broken = { ...extractors[1], layers: [{ ...extractors[1].layers[0], kernel: new Float32Array(5) }] };
  assert.throws(() => createSimdHeadPatchModel({ W: [1], b: 0 }, [broken]), /kernel values/);

  const model = createSimdHeadPatchModel(head, extractors);
  await assert.rejects(model.model(new Uint8Array(10), 2, 2), /a 2×2 RGB patch has 12 bytes, got 10/);
  await assert.rejects(model.model(new Uint8Array(0), 0, 0), /at least 1×1/);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(
    model.model(new Uint8Array(12), 2, 2, aborted.signal),
    (e: unknown) => e instanceof DOMException && e.name === 'AbortError',
  );
  model.dispose();
  await assert.rejects(model.model(new Uint8Array(12), 2, 2), /disposed/);
});

// ---------------------------------------------------------------------------------------------
// The shipped extractors and a head fitted by adapt(): the real weights' magnitudes and a head
// whose W has the standardisation folded in.

const SAMPLE = '.cache/sample/patches';
const BUNDLE = 'models/default/extractors';

test(
  'default extractors with a head fitted by adapt on a sample patch: ' +
    'equal to TF.js on 256² patches and to a float64 loop',
  async () => {
    assert.ok(
      fs.existsSync(`${SAMPLE}/manifest.csv`),
      `${SAMPLE} is missing: run \`npx tsx tools/make-sample-slide.ts\` (npm run sample) first`,
    );
    await initBackend('wasm');
    const bundle = decodeBundle(
      fs.readFileSync(`${BUNDLE}.json`, 'utf8'),
      new Uint8Array(fs.readFileSync(`${BUNDLE}.bin`)).buffer,
    );
    const weights = bundle.classes.map((c) => c.weights);
    const zoom = integerZoom(0.5, bundle.mpp);
    const plasma = [4];
    const support = sampleSupportSet(readLabelledDataset(SAMPLE, 'train'), plasma, {
      size: 256,
      zoom,
      shots: 1,
      seed: 2,
      minPositive: 200,
    });
    // A real head; BFGS capped because what is tested is prediction, not the fit.
    const { head: fitted } = await adapt(support, bundle, { maxBfgsIterations: 30 });
    assert.equal(fitted.W.length, 75);
    const queries = readLabelledDataset(SAMPLE, 'test')
      .flatMap((image) => tilePatches(image, plasma, { size: 256, zoom }).filter((_, i) => i === 5))
      .slice(0, 2);
    assert.equal(queries.length, 2);

    const tensors = tf.memory().numTensors;
    const simd = createSimdHeadPatchModel(fitted, weights);
    assert.equal(tf.memory().numTensors, tensors, 'the SIMD model makes no tensors');
    const viaTf = createHeadPatchModel(fitted, weights);
    try {
      let worstTf = 0;
      let flips = 0;
      let mid = 0;
      const onSupport: Float32Array[] = [];
      for (const q of [support[0], ...queries]) {
        const a = await simd.model(q.rgb, q.width, q.height);
        const b = await viaTf.model(q.rgb, q.width, q.height);
        onSupport.push(a);
        worstTf = Math.max(worstTf, maxAbsDiff(a, b));
        for (let i = 0; i < a.length; i++) {
          if (a[i] > fitted.threshold !== b[i] > fitted.threshold) flips++;
          if (a[i] > 0.05 && a[i] < 0.95) mid++;
        }
      }
      // The fitted head is sharp: most pixels saturate. Enough of them lie in between (where an
      // error would show) and the support patch has pixels on both sides of the threshold.
      assert.ok(mid >= 100, `${mid} pixels with 0.05 < p < 0.95`);
      assert.ok(
        onSupport[0].filter((v) => v > fitted.threshold).length >= 100,
        'the head finds the class on its support patch',
      );

      // float64 on a 96² crop of the support patch (the plain loop is slow), placed where the most
      // probabilities are in between; the crop is its own patch, with its own mirror padding.
      const [h, w] = [96, 96];
      const src = support[0];
      let best = { x: 0, y: 0, n: -1 };
      for (let y0 = 0; y0 + h <= src.height; y0 += 16) {
        for (let x0 = 0; x0 + w <= src.width; x0 += 16) {
          let n = 0;
          for (let y = y0; y < y0 + h; y++)
            for (let x = x0; x < x0 + w; x++)
              if (onSupport[0][y * src.width + x] > 0.05 && onSupport[0][y * src.width + x] < 0.95) n++;
          if (n > best.n) best = { x: x0, y: y0, n };
        }
      }
      const crop = new Uint8Array(h * w * 3);
      for (let y = 0; y < h; y++)
        crop.set(
          src.rgb.subarray(((y + best.y) * src.width + best.x) * 3, ((y + best.y) * src.width + best.x + w) * 3),
          y * w * 3,
        );
      const expected = referenceHead(fitted, weights, crop, h, w);
      const got = await simd.model(crop, w, h);
      const d64 = maxAbsDiff(got, expected);
      const tf64 = maxAbsDiff(await viaTf.model(crop, w, h), expected);
      console.log(
        `default extractors, adapted head (|W|max ${Math.max(...fitted.W.map(Math.abs)).toFixed(2)}, ` +
          `b ${fitted.b.toFixed(2)}): max |Δp| SIMD vs TF.js wasm ${worstTf.toExponential(2)} ` +
          `over 3 patches of 256² (${flips} of ${3 * 65536} pixels change side of the threshold), ` +
          `SIMD vs float64 ${d64.toExponential(2)} (TF.js vs float64 ${tf64.toExponential(2)}) ` +
          `on a 96² crop (${(midFraction(expected) * 100) | 0}% of it in 0.05..0.95); ` +
          `${mid} pixels in 0.05..0.95 over the 256² patches`,
      );
      // This head sums 75 terms of up to ~10² into a logit near 0 (b ≈ −96): float32 rounding alone
      // (ulp 1e-5 at 10²) moves p by ~1e-5 where it is near ½, in TF.js as much as here.
      assert.ok(worstTf <= 1e-4, `SIMD vs TF.js ${worstTf}`);
      assert.ok(d64 <= 1e-4, `SIMD vs float64 ${d64}`);
    } finally {
      simd.dispose();
      viaTf.dispose();
    }
    assert.equal(tf.memory().numTensors, tensors);
  },
);
