import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { dicePass } from '../../../core/adaptation/dice-objective.js';
import { supportFeatureStats } from '../../../core/adaptation/feature-stats.js';
import { paddedLayout } from '../../../core/adaptation/pixel-reductions.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import type { PixelBlock } from '../../../core/adaptation/support-features.js';
import { MASK_IGNORED } from '../../../core/adaptation/support-patch.js';
import { SupportMatrix } from '../../../core/adaptation/support-matrix.js';
import { SupportRows } from '../../../core/adaptation/support-rows.js';
import type { DiceValue } from '../../../core/adaptation/dice-objective.js';
import type { FeatureStats } from '../../../core/adaptation/feature-standardisation.js';
import { initBackend } from '../../../core/msd/tf-backend.js';

/**
 * The soft-Dice objective's gradient against central finite differences. The objective as the
 * code computes it is float32 underneath (f jitters by ~1e-9 here), which would swamp a
 * finite difference with a small step; so the differences are taken of an independent float64
 * implementation of the same formula, written here, and the code's value is checked against it
 * separately. Each is then a tight check of one thing.
 */
const channels = 5;
const EPSILON = 1;

function data(seed: number) {
  const rng = new SeededRandom(seed);
  const sizes = [700, 2100];
  return sizes.map((n) => {
    const x = new Float32Array(n * channels);
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let z = -1.5;
      for (let j = 0; j < channels; j++) {
        const v = Math.fround(3 * j + (1 + j) * rng.gaussian());
        x[i * channels + j] = v;
        z += ((j % 2 ? 0.8 : -0.5) * (v - 3 * j)) / (1 + j);
      }
      mask[i] = rng.next() < 0.05 ? MASK_IGNORED : rng.next() < 1 / (1 + Math.exp(-3 * z)) ? 1 : 0;
    }
    return { x, mask };
  });
}

/** L(θ) = 1 − (2Σpt + ε)/(Σp + Σt + ε) + λ‖w‖₂ in float64 on the standardised labelled rows. */
function reference(
  rows: { x: Float32Array; mask: Uint8Array }[],
  mean: readonly number[],
  std: readonly number[],
  lambda: number,
) {
  const a: number[][] = [];
  const t: number[] = [];
  for (const { x, mask } of rows) {
    mask.forEach((m, i) => {
      if (m === MASK_IGNORED) return;
      a.push([...Array.from({ length: channels }, (_, j) => (x[i * channels + j] - mean[j]) / std[j]), 1]);
      t.push(m);
    });
  }
  return (theta: number[]) => {
    let pt = 0;
    let ps = 0;
    let ts = 0;
    a.forEach((ai, i) => {
      const p = 1 / (1 + Math.exp(-ai.reduce((s, v, j) => s + v * theta[j], 0)));
      pt += p * t[i];
      ps += p;
      ts += t[i];
    });
    const norm = Math.hypot(...theta.slice(0, channels));
    return 1 - (2 * pt + EPSILON) / (ps + ts + EPSILON) + lambda * norm;
  };
}

const CASES = [
  [0, [0.5, -1.2, 0.8, 0.1, -0.3, -1]],
  [0.01, [2.5, -4, 3, 0.7, -1.1, -3]],
  [0.05, [-0.2, 0.3, 0.1, -0.05, 0.4, 0.2]],
] as const;

/** The objective's value against the float64 reference, and its gradient against central differences of it. */
async function checkAgainstReference(
  label: string,
  rows: ReturnType<typeof data>,
  stats: FeatureStats,
  pass: (theta: readonly number[], lambda: number) => Promise<DiceValue>,
) {
  let worst = 0;
  let worstValue = 0;
  for (const [lambda, theta] of CASES) {
    const f64 = reference(rows, stats.mean, stats.std, lambda);
    const value = await pass(theta, lambda);
    const exact = f64([...theta]);
    worstValue = Math.max(worstValue, Math.abs(value.f - exact) / exact);
    assert.ok(Math.abs(value.f - exact) < 1e-6 * exact, `L = ${value.f}, float64 reference ${exact}`);
    assert.ok(Math.abs(value.dice + value.penalty - value.f) < 1e-15);
    const h = 1e-5;
    const fd = theta.map(
      (_, j) =>
        (f64(theta.map((v, k) => (k === j ? v + h : v))) - f64(theta.map((v, k) => (k === j ? v - h : v)))) / (2 * h),
    );
    const error = Math.hypot(...fd.map((v, j) => v - value.g[j])) / Math.hypot(...fd);
    worst = Math.max(worst, error);
    assert.ok(error < 1e-5, `λ = ${lambda}: ‖∇L − FD‖/‖FD‖ = ${error}`);
  }
  console.log(
    `${label}: worst relative error of ∇L against central differences (h = 1e-5): ${worst.toExponential(2)}; ` +
      `of L against float64: ${worstValue.toExponential(2)}`,
  );
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: the soft-Dice + λ‖w‖₂ gradient matches central finite differences`, async () => {
    await initBackend(backend);
    const rows = data(4);
    const blocks: PixelBlock[] = rows.map(({ x, mask }) => {
      const layout = paddedLayout(mask.length);
      const f = new Float32Array(layout.rows * channels);
      f.set(x);
      const m = new Uint8Array(layout.rows).fill(MASK_IGNORED);
      m.set(mask);
      return { features: tf.tensor2d(f, [layout.rows, channels]), mask: m, group: layout.group };
    });
    const stats = await supportFeatureStats(blocks);
    const matrix = await SupportMatrix.build(blocks, stats);
    tf.dispose(blocks.map((b) => b.features));
    try {
      await checkAgainstReference(backend, rows, stats, (theta, lambda) => dicePass(matrix, theta, { lambda }));
    } finally {
      matrix.dispose();
    }
  });
}

for (const simd of [true, false]) {
  const kind = simd ? 'WebAssembly SIMD' : 'plain JS';
  test(`support rows (${kind}): the soft-Dice + λ‖w‖₂ gradient matches central finite differences`, async () => {
    const rows = data(4);
    const masks = rows.flatMap(({ mask }) => Array.from(mask));
    const positives = masks.filter((m) => m === 1).length;
    const support = new SupportRows(channels, positives, masks.filter((m) => m === 0).length, { simd });
    let p = 0;
    let n = positives;
    for (const { x, mask } of rows) {
      mask.forEach((m, i) => {
        if (m !== MASK_IGNORED)
          support.matrix.set(x.subarray(i * channels, (i + 1) * channels), (m === 1 ? p++ : n++) * support.width);
      });
    }
    const stats = support.standardise();
    // Chunks of 512 rows: the class's rows end inside a chunk, so both sums cross chunk borders.
    await checkAgainstReference(`rows (${support.kernels.kind})`, rows, stats, (theta, lambda) =>
      support.dicePass(theta, { lambda, chunkRows: 512 }),
    );
  });
}
