import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adapt } from '../../../core/adaptation/adapt.js';
import { AdaptError } from '../../../core/adaptation/adapt-error.js';
import {
  labelledPixels,
  msdFeatureWriter,
  supportPatchFeatures,
  tfjsFeatureWriter,
} from '../../../core/adaptation/support-row-features.js';
import { MsdWorkspace, packMsdParams } from '../../../core/msd/engine.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { SMALL_OPTIONS, smallExtractors, smallPatch, smallSupport } from './adapt-test-cases.js';
import { maxAbsDiff, randomWeights, TOLERANCE } from '../msd/msd-test-cases.js';

test('labelledPixels lists the class pixels, then the background ones, in row-major order; 255 is left out', () => {
  const mask = Uint8Array.of(0, 1, 255, 1, 0, 0, 255, 1);
  const { positive, negative } = labelledPixels(mask);
  assert.deepEqual(Array.from(positive), [1, 3, 7]);
  assert.deepEqual(Array.from(negative), [0, 4, 5]);
});

test('gatherMaps copies the maps of the last forward pass at the given pixels into strided rows', () => {
  const weights = randomWeights(3, 12, 5);
  const [H, W] = [13, 9];
  for (const simd of [true, false]) {
    const ws = new MsdWorkspace({
      inputChannels: 3,
      depth: 12,
      height: H,
      width: W,
      samples: 1,
      training: false,
      simd,
    });
    const rgb = Int32Array.from({ length: H * W * 3 }, (_, i) => (i * 37) % 256);
    ws.forwardFeatures(0, packMsdParams(weights), rgb, weights.normalisation, 12);
    const pixels = Int32Array.of(0, 8, 9, 57, H * W - 1);
    const stride = 17;
    const out = new Float32Array(3 + stride * pixels.length).fill(-7);
    ws.gatherMaps(0, 10, pixels, out, 3, stride);
    for (let m = 0; m < 12; m++) {
      const plane = ws.featureMap(0, m);
      pixels.forEach((p, k) => {
        const at = 3 + k * stride + m;
        if (m < 10) assert.equal(out[at], plane[p], `map ${m} at pixel ${p}`);
        else if (at < out.length) assert.equal(out[at], -7, 'only `maps` maps are written');
      });
    }
    assert.equal(out[0], -7);
    assert.throws(() => ws.gatherMaps(0, 10, pixels, new Float32Array(10), 0, stride), /do not fit/);
  }
});

test('the MSD engine and TF.js write the same support rows, each patch at its rows', async () => {
  await initBackend('wasm');
  const extractors = smallExtractors();
  const patches = [smallPatch(45, 38, 5), smallPatch(29, 33, 6)];
  const channels = 7;
  const stride = 12;
  const pixels = patches.map((p) => labelledPixels(p.mask));
  const positives = pixels.reduce((s, p) => s + p.positive.length, 0);
  const total = pixels.reduce((s, p) => s + p.positive.length + p.negative.length, 0);
  const before = tf.memory().numTensors;
  const written: Float32Array[] = [];
  for (const writer of [msdFeatureWriter(extractors), tfjsFeatureWriter(extractors)]) {
    assert.equal(writer.channels, channels);
    const out = new Float32Array(total * stride).fill(NaN);
    let p = 0;
    let n = positives;
    for (let k = 0; k < patches.length; k++) {
      await writer.write(patches[k], pixels[k], { out, stride, positive: p, negative: n });
      p += pixels[k].positive.length;
      n += pixels[k].negative.length;
    }
    writer.dispose();
    written.push(out);
    console.log(`${writer.kind}: ${total} rows`);
    assert.ok(writer.kind === 'msd-simd' || writer.kind === 'tfjs', writer.kind);
  }
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  const [msd, tfjs] = written;
  const features = (out: Float32Array) =>
    Float32Array.from({ length: total * channels }, (_, i) => out[Math.floor(i / channels) * stride + (i % channels)]);
  // Every row's features are written (no NaN left) and the columns past C' are not touched.
  for (let r = 0; r < total; r++) {
    for (let j = channels; j < stride; j++)
      assert.ok(Number.isNaN(msd[r * stride + j]) && Number.isNaN(tfjs[r * stride + j]));
  }
  const difference = maxAbsDiff(features(msd), features(tfjs));
  console.log(`largest difference between the engine's and TF.js's features: ${difference.toExponential(2)}`);
  assert.ok(difference < TOLERANCE, `${difference}`);
  // Row 0 is patch 0's first class pixel: compare with a direct forward pass.
  const ws = new MsdWorkspace({ inputChannels: 3, depth: 4, height: 38, width: 45, samples: 1, training: false });
  ws.forwardFeatures(0, packMsdParams(extractors[0].weights), patches[0].rgb, extractors[0].weights.normalisation, 4);
  const first = pixels[0].positive[0];
  for (let m = 0; m < 4; m++) assert.equal(msd[m], ws.featureMap(0, m)[first]);
});

test('features computed apart (supportPatchFeatures) give adapt() the same head as computing them in it', async () => {
  await initBackend('wasm');
  const extractors = smallExtractors();
  const support = smallSupport();
  const options = { ...SMALL_OPTIONS, maxBfgsIterations: 20 };
  const plain = await adapt(support, extractors, options);
  const features = await supportPatchFeatures(support, extractors);
  assert.equal(features.length, 2);
  features.forEach((f, k) => {
    const { positive, negative } = labelledPixels(support[k].mask);
    assert.equal(f.channels, 7);
    assert.equal(f.kind, 'msd-simd');
    assert.equal(f.positive.length, 7 * positive.length);
    assert.equal(f.negative.length, 7 * negative.length);
    assert.equal(f.positive.byteLength, f.positive.buffer.byteLength, 'own buffers: transferable alone');
  });
  for (const given of [features, [features[0], null], [undefined, features[1]]]) {
    const r = await adapt(support, extractors, options, { features: given });
    assert.deepEqual(r.head.W, plain.head.W, 'the same float32 rows, so the same head to the bit');
    assert.equal(r.report.engine.features, 'msd-simd');
  }
  const short = { ...features[1], negative: features[1].negative.subarray(7) };
  await assert.rejects(adapt(support, extractors, options, { features: [features[0], short] }), (err: unknown) => {
    assert.ok(err instanceof AdaptError && err.code === 'bad-patch', `${err}`);
    assert.match(err.message, /the features given for support patch 1 do not fit it/);
    return true;
  });
  await assert.rejects(
    adapt(support, extractors, { ...options, engine: 'tfjs' }, { features }),
    /precomputed features need the kernels engine/,
  );
  await assert.rejects(
    adapt(support, extractors, options, { features: [features[0]] }),
    /features are given for 1 patches/,
  );
});
