import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createHeadPatchModel } from '../../../core/inference/head-patch-model.js';
import { createMsd } from '../../../core/msd/tf-network.js';
import { seededGaussian } from '../../../core/msd/weights.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { referenceForward } from '../msd/msd-reference.js';
import { maxAbsDiff, randomImage, randomWeights } from '../msd/msd-test-cases.js';

test(
  'σ(b + Σ W·g(x)) over three extractors equals the float64 reference, ' + 'on wasm, without leaking tensors',
  async () => {
    await initBackend('wasm');
    const extractors = [randomWeights(3, 2, 11), randomWeights(3, 3, 12), randomWeights(3, 1, 13)];
    const gaussian = seededGaussian(4);
    const W = Array.from({ length: 6 }, () => gaussian());
    const b = 0.2;
    const [h, w] = [19, 23];
    const pixels = randomImage(h, w, 3, 99);
    const features = extractors.map((e) => referenceForward(e, { height: h, width: w, pixels }).features);
    const expected = new Float64Array(h * w).map((_, p) => {
      let z = b,
        k = 0;
      extractors.forEach((e, i) => {
        for (let c = 0; c < e.layers.length; c++) z += W[k++] * features[i][p * e.layers.length + c];
      });
      return 1 / (1 + Math.exp(-z));
    });

    // A mix of networks passed in (kept) and weights (owned by the model).
    const given = createMsd(extractors[1]);
    const before = tf.memory().numTensors;
    const head = createHeadPatchModel({ W, b }, [extractors[0], given, extractors[2]]);
    const rgb = Uint8Array.from(pixels);
    const first = await head.model(rgb, w, h);
    const during = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await head.model(rgb, w, h);
    assert.equal(tf.memory().numTensors, during, 'each call leaves nothing behind');
    assert.ok(maxAbsDiff(first, expected) < 1e-5, `max difference ${maxAbsDiff(first, expected)}`);
    head.dispose();
    assert.equal(tf.memory().numTensors, before, 'dispose frees what the model made, not the network it was given');
    given.dispose();

    const empty = tf.memory().numTensors;
    assert.throws(() => createHeadPatchModel({ W: [1, 2], b: 0 }, [extractors[0], extractors[1]]), /5 features/);
    assert.equal(tf.memory().numTensors, empty, 'a rejected head leaks nothing');
  },
);
