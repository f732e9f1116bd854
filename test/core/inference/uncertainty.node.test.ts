import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHeadPatchModel, type LinearHead } from '../../../core/inference/head-patch-model.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';
import {
  binaryEntropy,
  quantiseUncertainty,
  tileUncertainty,
  uncertaintyBytes,
} from '../../../core/inference/uncertainty.js';
import { seededGaussian } from '../../../core/msd/weights.js';
import { createMsd } from '../../../core/msd/tf-network.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { referenceForward } from '../msd/msd-reference.js';
import { randomImage, randomWeights } from '../msd/msd-test-cases.js';

/** u = 1 − (1 − H₂(p))(1 − min(1, 2σ)) in float64, σ the population std of the members. */
function referenceU(p: number, members: readonly number[]): number {
  const h = p <= 0 || p >= 1 ? 0 : -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
  if (members.length === 0) return h;
  const mean = members.reduce((s, v) => s + v, 0) / members.length;
  const sd = Math.sqrt(members.reduce((s, v) => s + (v - mean) ** 2, 0) / members.length);
  return 1 - (1 - h) * (1 - Math.min(1, 2 * sd));
}

test('binary entropy: 1 bit at ½, 0 at the ends and outside, symmetric', () => {
  assert.equal(binaryEntropy(0.5), 1);
  for (const p of [0, 1, -0.1, 1.2, NaN]) assert.equal(binaryEntropy(p), 0);
  for (const p of [1e-9, 0.01, 0.2, 0.37]) {
    assert.ok(Math.abs(binaryEntropy(p) - binaryEntropy(1 - p)) < 1e-12);
    assert.ok(Math.abs(binaryEntropy(p) - referenceU(p, [])) < 1e-12);
  }
});

test('tileUncertainty equals the float64 formula, with and without members; bytes round it', () => {
  const random = new SeededRandom(5);
  const n = 2000;
  const p = Float32Array.from({ length: n }, (_, i) => (i < 4 ? [0, 1, 0.5, 1e-7][i] : random.next()));
  const members = [0, 1, 2, 3, 4].map(() =>
    Float32Array.from(p, (v, i) =>
      i % 7 === 0 ? random.next() : Math.min(1, Math.max(0, v + 0.05 * random.gaussian())),
    ),
  );
  const alone = tileUncertainty(p);
  const withMembers = tileUncertainty(p, members);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(alone[i] - referenceU(p[i], [])) < 1e-6, `pixel ${i} alone`);
    const m = members.map((a) => a[i]);
    assert.ok(Math.abs(withMembers[i] - referenceU(p[i], m)) < 1e-6, `pixel ${i} with members`);
    assert.ok(withMembers[i] >= alone[i] - 1e-7, 'members only add doubt');
    assert.ok(withMembers[i] >= 0 && withMembers[i] <= 1);
  }
  assert.deepEqual(Array.from(tileUncertainty(p, [])), Array.from(alone), 'no members: H₂(p)');
  // Members that agree with each other add nothing, wherever they are.
  const same = tileUncertainty(p, [p, p, p]);
  same.forEach((u, i) => assert.ok(Math.abs(u - alone[i]) < 1e-6));

  const bytes = quantiseUncertainty(withMembers);
  bytes.forEach((b, i) => assert.equal(b, Math.round(255 * withMembers[i])));
  assert.deepEqual(Array.from(quantiseUncertainty([-1, 0, 0.5, 1, 2, NaN])), [0, 0, 128, 255, 255, 0]);
  const mine = new Uint8Array(n);
  assert.equal(uncertaintyBytes(p, mine), mine, "the worker's bytes when there are some");
  assert.deepEqual(uncertaintyBytes(p), quantiseUncertainty(alone));
  assert.throws(() => uncertaintyBytes(p, new Uint8Array(3)), /3 uncertainty values for 2000/);
  assert.throws(() => tileUncertainty(p, [new Float32Array(3)]), /member has 3 values/);
});

test(
  'a head with an ensemble: the patch models give the uncertainty of float64 features and heads ' +
    '(SIMD, plain JS, TF.js), and no uncertain model without one',
  async () => {
    await initBackend('wasm');
    const extractors = [randomWeights(3, 12, 31), randomWeights(3, 25, 33)];
    const gaussian = seededGaussian(35);
    // Large enough weights that p is sure in places, where only the members can show doubt.
    const weightsOf = () => Array.from({ length: 37 }, () => (6 * gaussian()) / Math.sqrt(37));
    const W = weightsOf();
    // Members near the head: W plus 0.6 of another random direction each.
    const members = [0, 1, 2, 3].map(() => {
      const d = weightsOf();
      return { W: W.map((w, j) => w + 0.6 * d[j]), b: 0.2 + 0.3 * gaussian() };
    });
    const head: LinearHead = { W, b: 0.2, members };
    const [width, height] = [41, 23];
    const pixels = randomImage(height, width, 3, 36);
    const features = extractors.map((e) => referenceForward(e, { height, width, pixels }).features);
    const probability = (h: { W: ArrayLike<number>; b: number }, p: number) => {
      let z = h.b;
      let k = 0;
      extractors.forEach((e, i) => {
        const depth = e.layers.length;
        for (let c = 0; c < depth; c++) z += h.W[k++] * features[i][p * depth + c];
      });
      return 1 / (1 + Math.exp(-z));
    };
    const expected = Float64Array.from({ length: width * height }, (_, p) =>
      referenceU(
        probability(head, p),
        members.map((m) => probability(m, p)),
      ),
    );
    const spread = expected.filter((u, p) => u - binaryEntropy(probability(head, p)) > 0.05).length;
    assert.ok(spread > expected.length / 10, `the members disagree somewhere beyond H₂(p) (${spread} pixels)`);
    const rgb = Uint8Array.from(pixels);
    const networks = extractors.map((e) => createMsd(e));
    const models = [
      { name: 'SIMD', compiled: createSimdHeadPatchModel(head, extractors) },
      { name: 'plain JS', compiled: createSimdHeadPatchModel(head, extractors, { simd: false }) },
      { name: 'TF.js', compiled: createHeadPatchModel(head, networks) },
    ];
    try {
      for (const { name, compiled } of models) {
        assert.ok(compiled.uncertain, `${name}: a head with members has an uncertain model`);
        const out = await compiled.uncertain(rgb, width, height);
        const plain = await compiled.model(rgb, width, height);
        let worst = 0;
        out.uncertainty.forEach((u, p) => (worst = Math.max(worst, Math.abs(u - expected[p]))));
        // Float32 features against float64: |Δp| ~ 1e-7, times H₂'s slope (≤ ~25 bits here).
        assert.ok(worst < 1e-4, `${name}: max |Δu| = ${worst}`);
        out.probabilities.forEach((v, p) => assert.ok(Math.abs(v - probability(head, p)) < 1e-5));
        assert.deepEqual(plain, out.probabilities, `${name}: the head's probabilities are the same either way`);
      }
      const single = createSimdHeadPatchModel({ W, b: 0.2 }, extractors);
      assert.equal(single.uncertain, undefined, 'a head without members has none');
      single.dispose();
      assert.throws(
        () => createSimdHeadPatchModel({ W, b: 0, members: [{ W: W.slice(1), b: 0 }] }, extractors),
        /an ensemble member has 36 weights, the extractors give 37/,
      );
    } finally {
      models.forEach((m) => m.compiled.dispose());
      networks.forEach((n) => n.dispose());
    }
  },
);
