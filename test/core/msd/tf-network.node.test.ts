import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { reflectIndex } from '../../../core/msd/reflect-index.js';
import { createMsd, msdFeatures, msdPredict } from '../../../core/msd/tf-network.js';
import type { MsdWeights } from '../../../core/msd/weights.js';
import { initBackend, type BackendName } from '../../../core/msd/tf-backend.js';
import { referenceForward } from './msd-reference.js';
import {
  DEPTHS,
  SIZES,
  TOLERANCE,
  maxAbsDiff,
  positiveFraction,
  randomImage,
  randomWeights,
} from './msd-test-cases.js';

const BACKENDS: BackendName[] = ['wasm', 'cpu'];

interface Outputs {
  features: Float32Array;
  probability: Float32Array;
}

async function runOn(
  backend: BackendName,
  weights: MsdWeights,
  pixels: Int32Array,
  shape: [number, number, number, number],
): Promise<Outputs> {
  await initBackend(backend);
  const net = createMsd(weights);
  const x = tf.tensor4d(pixels, shape, 'int32');
  try {
    const { features, probability } = net.forward(x);
    const out = {
      features: (await features.data()) as Float32Array,
      probability: (await probability.data()) as Float32Array,
    };
    tf.dispose([features, probability]);
    return out;
  } finally {
    x.dispose();
    net.dispose();
  }
}

test('the reference pads by periodic reflection (x[-k] = x[k], x[n-1+k] = x[n-1-k])', () => {
  assert.deepEqual(
    [-4, -3, -2, -1, 0, 3, 4, 5, 6, 7, 10].map((i) => reflectIndex(i, 4)),
    [2, 3, 2, 1, 0, 3, 2, 1, 0, 1, 2],
  );
  assert.deepEqual(
    [-3, 0, 5].map((i) => reflectIndex(i, 1)),
    [0, 0, 0],
  );
});

test('a hand-computed one-layer network: kernel layout [row][column][channel] and reflection', async () => {
  // One input channel, a 1×3 image [1 2 3], kernel rows [1 2 3] [4 5 6] [7 8 9], dilation 1.
  // Height 1: every kernel row reads row 0. Column −1 reflects to 1, column 3 to 1.
  // Pixel 0 sees [2 1 2] → 12·2 + 15·1 + 18·2 = 75; pixel 1 sees [1 2 3] → 12 + 30 + 54 = 96;
  // pixel 2 sees [2 3 2] → 24 + 45 + 36 = 105. Bias −100, then ReLU: 0, 0, 5.
  const weights: MsdWeights = {
    inputChannels: 1,
    layers: [{ dilation: 1, kernel: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), bias: -100 }],
    output: { weights: Float32Array.from([0, 1]), bias: 0 },
    normalisation: { mean: [0], std: [1] },
  };
  const expected = [0, 0, 5];
  assert.deepEqual(
    Array.from(referenceForward(weights, { height: 1, width: 3, pixels: [1, 2, 3] }).features),
    expected,
  );
  for (const backend of BACKENDS) {
    await initBackend(backend);
    const x = tf.tensor4d([1, 2, 3], [1, 1, 3, 1]);
    const y = msdFeatures(weights, x);
    assert.deepEqual(Array.from(await y.data()), expected, backend);
    tf.dispose([x, y]);
  }
});

for (const backend of BACKENDS) {
  describe(`MSD forward on ${backend} equals the float64 reference`, () => {
    let worst = { features: 0, probability: 0 };
    for (const depth of DEPTHS) {
      for (const [height, width] of SIZES) {
        test(`depth ${depth}, ${height}×${width}`, async () => {
          const weights = randomWeights(3, depth, 1000 + depth);
          const pixels = randomImage(height, width, 3, 17 * height + width);
          const reference = referenceForward(weights, { height, width, pixels });
          if (depth >= 3)
            assert.ok(
              positiveFraction(reference.features) > 0.1,
              'fixture maps are mostly zero; the comparison would be weak',
            );
          const got = await runOn(backend, weights, pixels, [1, height, width, 3]);
          const features = maxAbsDiff(got.features, reference.features);
          const probability = maxAbsDiff(got.probability, reference.probability);
          worst = {
            features: Math.max(worst.features, features),
            probability: Math.max(worst.probability, probability),
          };
          assert.ok(features <= TOLERANCE, `features differ by ${features}`);
          assert.ok(probability <= TOLERANCE, `probability differs by ${probability}`);
        });
      }
    }
    test('max abs difference over all cases', () => {
      console.log(
        `${backend}: max |features − reference| = ${worst.features.toExponential(2)}, ` +
          `max |probability − reference| = ${worst.probability.toExponential(2)}`,
      );
    });
  });
}

test('wasm and cpu produce the same outputs (depth 25, 23×17)', async () => {
  const weights = randomWeights(3, 25, 7);
  const pixels = randomImage(23, 17, 3, 8);
  const a = await runOn('wasm', weights, pixels, [1, 23, 17, 3]);
  const b = await runOn('cpu', weights, pixels, [1, 23, 17, 3]);
  const df = maxAbsDiff(a.features, b.features);
  const dp = maxAbsDiff(a.probability, b.probability);
  console.log(`wasm vs cpu: max |Δfeatures| = ${df.toExponential(2)}, max |Δprobability| = ${dp.toExponential(2)}`);
  assert.ok(df <= TOLERANCE && dp <= TOLERANCE, `wasm and cpu differ: ${df}, ${dp}`);
});

describe('inputs', () => {
  test('a batch of two images gives each image its own reference output', async () => {
    await initBackend('wasm');
    const weights = randomWeights(3, 12, 3);
    const first = randomImage(9, 6, 3, 1);
    const second = randomImage(9, 6, 3, 2);
    const net = createMsd(weights);
    const x = tf.tensor4d([...first, ...second], [2, 9, 6, 3], 'int32');
    const y = net.features(x);
    assert.deepEqual(y.shape, [2, 9, 6, 12]);
    const values = await y.data();
    const half = 9 * 6 * 12;
    assert.ok(
      maxAbsDiff(
        values.subarray(0, half),
        referenceForward(weights, { height: 9, width: 6, pixels: first }).features,
      ) <= TOLERANCE,
    );
    assert.ok(
      maxAbsDiff(values.subarray(half), referenceForward(weights, { height: 9, width: 6, pixels: second }).features) <=
        TOLERANCE,
    );
    tf.dispose([x, y]);
    net.dispose();
  });

  test('int32 and float32 inputs give identical outputs; shapes are [N,H,W,depth] and [N,H,W,1]', async () => {
    await initBackend('wasm');
    const weights = randomWeights(3, 3, 4);
    const pixels = randomImage(5, 7, 3, 5);
    const net = createMsd(weights);
    const xi = tf.tensor4d(pixels, [1, 5, 7, 3], 'int32');
    const xf = tf.tensor4d(Float32Array.from(pixels), [1, 5, 7, 3], 'float32');
    const [fi, ff, pi] = [net.features(xi), net.features(xf), net.predict(xi)];
    assert.deepEqual(fi.shape, [1, 5, 7, 3]);
    assert.deepEqual(pi.shape, [1, 5, 7, 1]);
    assert.deepEqual(await fi.data(), await ff.data());
    tf.dispose([xi, xf, fi, ff, pi]);
    net.dispose();
  });

  test('msdFeatures and msdPredict equal the network object', async () => {
    await initBackend('wasm');
    const weights = randomWeights(3, 12, 6);
    const x = tf.tensor4d(randomImage(11, 11, 3, 6), [1, 11, 11, 3], 'int32');
    const net = createMsd(weights);
    const pairs = [
      [msdFeatures(weights, x), net.features(x)],
      [msdPredict(weights, x), net.predict(x)],
    ];
    for (const [a, b] of pairs) assert.deepEqual(await a.data(), await b.data());
    tf.dispose([x, ...pairs.flat()]);
    net.dispose();
  });

  test('wrong inputs and weights are refused with a reason', async () => {
    await initBackend('wasm');
    const weights = randomWeights(3, 3, 9);
    const net = createMsd(weights);
    const gray = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    assert.throws(() => net.features(gray), /1 channels, the network expects 3/);
    net.dispose();
    assert.throws(() => net.features(gray), /disposed/);
    gray.dispose();
    const broken = {
      ...weights,
      layers: [weights.layers[0], { ...weights.layers[1], kernel: new Float32Array(9) }, weights.layers[2]],
    };
    assert.throws(() => createMsd(broken), /layer 1 has 9 kernel values, expected 3·3·4 = 36/);
    assert.throws(
      () => createMsd({ ...weights, output: { weights: new Float32Array(5), bias: 0 } }),
      /output layer has 5 weights/,
    );
    assert.throws(
      () => createMsd({ ...weights, normalisation: { mean: [0, 0, 0], std: [1, 0, 1] } }),
      /standard deviation must be positive/,
    );
  });
});

test('networks share what they can: disposing one leaves another working', async () => {
  await initBackend('wasm');
  const start = tf.memory().numTensors;
  const weights = randomWeights(3, 3, 13);
  const x = tf.tensor4d(randomImage(5, 7, 3, 14), [1, 5, 7, 3], 'int32');
  const a = createMsd(weights);
  const b = createMsd(weights);
  const first = a.features(x);
  const expected = await first.data();
  first.dispose();
  a.dispose();
  const y = b.features(x);
  assert.deepEqual(await y.data(), expected);
  tf.dispose([x, y]);
  b.dispose();
  assert.equal(tf.memory().numTensors, start);
});

describe('no tensor leaks', () => {
  for (const backend of BACKENDS) {
    test(`${backend}: every call leaves tf.memory().numTensors as it was`, async () => {
      await initBackend(backend);
      const weights = randomWeights(3, 25, 11);
      const x = tf.tensor4d(randomImage(23, 17, 3, 12), [1, 23, 17, 3], 'int32');
      const start = tf.memory().numTensors;
      const net = createMsd(weights);
      const withNet = tf.memory().numTensors;
      for (const run of [() => [net.features(x)], () => [net.predict(x)], () => Object.values(net.forward(x))]) {
        const outputs = run();
        assert.equal(tf.memory().numTensors, withNet + outputs.length);
        tf.dispose(outputs);
        assert.equal(tf.memory().numTensors, withNet);
      }
      // A refused call leaves nothing behind either.
      const gray = tf.zeros([1, 3, 3, 2]) as tf.Tensor4D;
      assert.throws(() => net.features(gray));
      gray.dispose();
      net.dispose();
      assert.equal(tf.memory().numTensors, start);
      for (const oneShot of [msdFeatures, msdPredict]) {
        const y = oneShot(weights, x);
        assert.equal(tf.memory().numTensors, start + 1);
        y.dispose();
      }
      assert.equal(tf.memory().numTensors, start);
      x.dispose();
    });
  }
});
