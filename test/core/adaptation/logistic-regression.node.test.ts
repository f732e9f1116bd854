import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { supportFeatureStats } from '../../../core/adaptation/feature-stats.js';
import { fitLogisticRegression, logisticPass } from '../../../core/adaptation/logistic-regression.js';
import { paddedLayout } from '../../../core/adaptation/pixel-reductions.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import type { PixelBlock } from '../../../core/adaptation/support-features.js';
import { MASK_IGNORED } from '../../../core/adaptation/support-patch.js';
import { SupportMatrix } from '../../../core/adaptation/support-matrix.js';
import { SupportRows } from '../../../core/adaptation/support-rows.js';
import { initBackend } from '../../../core/msd/tf-backend.js';

/**
 * A small problem with features of very different scales and offsets (as MSD maps have), one
 * constant feature (a dead map), overlapping classes (so the optimum is finite without the
 * penalty too) and unlabelled pixels, in blocks of odd sizes: the padded layouts of
 * pixel-reductions.ts, and one block split into several chunks.
 */
function problem(seed: number) {
  const rng = new SeededRandom(seed);
  const channels = 6;
  const scale = [1, 10, 0.1, 3, 50, 1];
  const offset = [0, 40, -2, 5, 100, 7];
  const truth = [1.5, -0.08, 8, 0.4, 0.01];
  const sizes = [300, 1000, 5000];
  const raw: { x: Float64Array; mask: Uint8Array }[] = sizes.map((n) => {
    const x = new Float64Array(n * channels);
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let z = -1;
      for (let j = 0; j < channels; j++) {
        // Store float32 values: the backend sees exactly these numbers.
        const v = j === 5 ? offset[j] : Math.fround(offset[j] + scale[j] * rng.gaussian());
        x[i * channels + j] = v;
        if (j < 5) z += truth[j] * (v - offset[j]);
      }
      mask[i] = rng.next() < 0.1 ? MASK_IGNORED : rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    return { x, mask };
  });
  return { channels, raw };
}

function blocksOf({ channels, raw }: ReturnType<typeof problem>): PixelBlock[] {
  return raw.map(({ x, mask }) => {
    const n = mask.length;
    const layout = paddedLayout(n);
    const padded = new Float32Array(layout.rows * channels);
    padded.set(x);
    const paddedMask = new Uint8Array(layout.rows).fill(MASK_IGNORED);
    paddedMask.set(mask);
    return { features: tf.tensor2d(padded, [layout.rows, channels]), mask: paddedMask, group: layout.group };
  });
}

/** The same problem as float32 support rows (support-rows.ts): labelled pixels only, the class's first. */
function rowsOf({ channels, raw }: ReturnType<typeof problem>, simd: boolean): SupportRows {
  const masks = raw.flatMap(({ mask }) => Array.from(mask));
  const positives = masks.filter((m) => m === 1).length;
  const negatives = masks.filter((m) => m === 0).length;
  const rows = new SupportRows(channels, positives, negatives, { simd });
  let p = 0;
  let n = positives;
  for (const { x, mask } of raw) {
    mask.forEach((m, i) => {
      if (m === MASK_IGNORED) return;
      rows.matrix.set(x.subarray(i * channels, (i + 1) * channels), (m === 1 ? p++ : n++) * rows.width);
    });
  }
  return rows;
}

/**
 * The independent reference: plain Newton in float64 on the labelled rows, standardised with
 * float64 statistics computed here, and its own line search and stopping rule.
 */
function referenceFit({ channels, raw }: ReturnType<typeof problem>, l2: number) {
  const rows: number[][] = [];
  const t: number[] = [];
  for (const { x, mask } of raw) {
    mask.forEach((m, i) => {
      if (m === MASK_IGNORED) return;
      rows.push(Array.from(x.subarray(i * channels, (i + 1) * channels)));
      t.push(m);
    });
  }
  const n = rows.length;
  const mean = Array.from({ length: channels }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / n);
  const std = mean.map((m, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j] - m) ** 2, 0) / n));
  const used = std.map((s) => (s === 0 ? 1 : s));
  const a = rows.map((r) => [...r.map((v, j) => (v - mean[j]) / used[j]), 1]);
  const d = channels + 1;
  const evaluate = (theta: number[]) => {
    let f = 0;
    const g = new Array(d).fill(0);
    const h = Array.from({ length: d }, () => new Array(d).fill(0));
    a.forEach((ai, i) => {
      const z = ai.reduce((s, v, j) => s + v * theta[j], 0);
      const p = 1 / (1 + Math.exp(-z));
      f += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - t[i] * z;
      for (let j = 0; j < d; j++) {
        g[j] += (p - t[i]) * ai[j];
        for (let k = 0; k < d; k++) h[j][k] += p * (1 - p) * ai[j] * ai[k];
      }
    });
    f /= n;
    for (let j = 0; j < d; j++) {
      g[j] /= n;
      for (let k = 0; k < d; k++) h[j][k] /= n;
    }
    for (let j = 0; j < d - 1; j++) {
      f += 0.5 * l2 * theta[j] ** 2;
      g[j] += l2 * theta[j];
      h[j][j] += l2;
    }
    return { f, g, h };
  };
  // Gaussian elimination with partial pivoting (not the Cholesky of the code under test).
  const solve = (m: number[][], b: number[]) => {
    const aug = m.map((row, i) => [...row, b[i]]);
    for (let c = 0; c < d; c++) {
      let pivot = c;
      for (let r = c + 1; r < d; r++) if (Math.abs(aug[r][c]) > Math.abs(aug[pivot][c])) pivot = r;
      [aug[c], aug[pivot]] = [aug[pivot], aug[c]];
      for (let r = c + 1; r < d; r++) {
        const factor = aug[r][c] / aug[c][c];
        for (let k = c; k <= d; k++) aug[r][k] -= factor * aug[c][k];
      }
    }
    const x = new Array(d).fill(0);
    for (let r = d - 1; r >= 0; r--) {
      let s = aug[r][d];
      for (let k = r + 1; k < d; k++) s -= aug[r][k] * x[k];
      x[r] = s / aug[r][r];
    }
    return x;
  };
  let theta = new Array(d).fill(0);
  for (let it = 0; it < 100; it++) {
    const { f, g, h } = evaluate(theta);
    const step = solve(
      h,
      g.map((v) => -v),
    );
    let s = 1;
    while (evaluate(theta.map((v, j) => v + s * step[j])).f > f && s > 1e-12) s /= 2;
    theta = theta.map((v, j) => v + s * step[j]);
    if (Math.max(...step.map(Math.abs)) < 1e-15) break;
  }
  const final = evaluate(theta);
  return { theta, f: final.f, gradientNorm: Math.hypot(...final.g), mean, std: used, n };
}

const relative = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.sqrt(Array.from(a).reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / Array.from(b).reduce((s, v) => s + v * v, 0));

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: logistic regression by Newton matches an independent float64 Newton solution to 1e-6`, async () => {
    await initBackend(backend);
    const p = problem(3);
    const l2 = 1e-3;
    const reference = referenceFit(p, l2);
    assert.ok(reference.gradientNorm < 1e-13, `the reference itself converged: ‖∇‖ = ${reference.gradientNorm}`);
    const before = tf.memory().numTensors;
    const blocks = blocksOf(p);
    const stats = await supportFeatureStats(blocks);
    assert.ok(relative(stats.mean, reference.mean) < 1e-7, `mean off by ${relative(stats.mean, reference.mean)}`);
    assert.ok(relative(stats.std, reference.std) < 1e-6, `std off by ${relative(stats.std, reference.std)}`);
    assert.equal(stats.std[5], 1, 'a constant feature is left unscaled');

    for (const chunkRows of [1024, 65536]) {
      const matrix = await SupportMatrix.build(blocks, stats, { chunkRows });
      try {
        assert.equal(matrix.labelled, reference.n);
        const result = await fitLogisticRegression(matrix, { l2 });
        const error = relative(result.theta, reference.theta);
        console.log(
          `${backend}, chunks of ${chunkRows} rows (${matrix.chunks.length} chunks): ` +
            `${result.iterations} Newton steps, ${result.stop}, ‖θ − θ_ref‖/‖θ_ref‖ = ${error.toExponential(2)}, ` +
            `‖∇F‖ = ${result.gradientNorm.toExponential(2)}`,
        );
        assert.equal(result.stop, 'converged');
        assert.ok(error < 1e-6, `relative error ${error}`);
        assert.ok(Math.abs(result.loss - reference.f) / reference.f < 1e-6, `loss ${result.loss} vs ${reference.f}`);
        assert.ok(result.gradientNorm < 1e-6, `‖∇F‖ = ${result.gradientNorm}`);
        // Quadratic convergence: a handful of steps, not dozens.
        assert.ok(result.iterations <= 12, `${result.iterations} iterations`);
        // The reported Hessian is the float64 one of the last pass: symmetric, positive diagonal.
        const d = matrix.columns;
        for (let j = 0; j < d; j++) {
          assert.ok(result.hessian[j * d + j] > 0);
          for (let k = 0; k < j; k++) assert.ok(Math.abs(result.hessian[j * d + k] - result.hessian[k * d + j]) < 1e-6);
        }
      } finally {
        matrix.dispose();
      }
    }
    tf.dispose(blocks.map((b) => b.features));
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  });
}

for (const simd of [true, false]) {
  const kind = simd ? 'WebAssembly SIMD' : 'plain JS';
  test(`support rows (${kind} kernels): Newton matches the independent float64 Newton solution to 1e-6`, async () => {
    const p = problem(3);
    const l2 = 1e-3;
    const reference = referenceFit(p, l2);
    const rows = rowsOf(p, simd);
    assert.equal(rows.kernels.kind, simd ? 'wasm-simd' : 'js');
    const stats = rows.standardise();
    assert.ok(relative(stats.mean, reference.mean) < 1e-7, `mean off by ${relative(stats.mean, reference.mean)}`);
    assert.ok(relative(stats.std, reference.std) < 1e-6, `std off by ${relative(stats.std, reference.std)}`);
    assert.equal(stats.std[5], 1, 'a constant feature is left unscaled');
    assert.equal(rows.labelled, reference.n);
    // Chunks of 1024 rows (several per pass, each its own kernel call) and one chunk for all.
    for (const chunkRows of [1024, 65536]) {
      const result = await fitLogisticRegression(
        {
          columns: rows.columns,
          labelled: rows.labelled,
          positives: rows.positives,
          logisticPass: (theta, alpha, withHessian) => rows.logisticPass(theta, alpha, withHessian, { chunkRows }),
        },
        { l2 },
      );
      const error = relative(result.theta, reference.theta);
      console.log(
        `rows (${rows.kernels.kind}), chunks of ${chunkRows}: ${result.iterations} Newton steps, ${result.stop}, ` +
          `‖θ − θ_ref‖/‖θ_ref‖ = ${error.toExponential(2)}, ‖∇F‖ = ${result.gradientNorm.toExponential(2)}`,
      );
      assert.equal(result.stop, 'converged');
      assert.ok(error < 1e-6, `relative error ${error}`);
      assert.ok(Math.abs(result.loss - reference.f) / reference.f < 1e-6, `loss ${result.loss} vs ${reference.f}`);
      assert.ok(result.gradientNorm < 1e-6, `‖∇F‖ = ${result.gradientNorm}`);
      assert.ok(result.iterations <= 12, `${result.iterations} iterations`);
    }
  });
}

/**
 * A rare class (71 of 4000) on heavy-tailed, correlated features (cubes of one factor plus noise):
 * Newton's full steps from the logit start overshoot, and backtracking rejects 4 trials.
 */
function rareClass(seed: number): SupportRows {
  const rng = new SeededRandom(seed);
  const channels = 8;
  const x: number[][] = [];
  const t: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const u = rng.gaussian();
    const row = Array.from({ length: channels }, (_, j) => Math.fround((u + (0.2 + 0.1 * j) * rng.gaussian()) ** 3));
    x.push(row);
    t.push(3 * (row[0] - row[3]) + u + 0.3 * rng.gaussian() > 20 ? 1 : 0);
  }
  const positives = t.filter((v) => v === 1).length;
  const rows = new SupportRows(channels, positives, t.length - positives, { simd: true });
  let p = 0;
  let n = positives;
  x.forEach((row, i) => rows.matrix.set(row, (t[i] === 1 ? p++ : n++) * rows.width));
  return rows;
}

test('Hessians only for the steps taken (hessianOfLastPass) give the same Newton fit, bit for bit', async () => {
  const fits = [];
  for (const lazyHessian of [false, true]) {
    const rows = rareClass(5);
    rows.standardise();
    let hessians = 0;
    const result = await fitLogisticRegression(
      {
        columns: rows.columns,
        labelled: rows.labelled,
        positives: rows.positives,
        logisticPass: (theta, alpha, withHessian) => {
          if (withHessian) hessians++;
          return rows.logisticPass(theta, alpha, withHessian, { chunkRows: 1024 });
        },
        hessianOfLastPass: () => {
          hessians++;
          return rows.hessianOfLastPass();
        },
      },
      { l2: 1e-6, lazyHessian },
    );
    fits.push({ result, hessians });
  }
  const [eager, lazy] = fits;
  console.log(
    `Newton: ${eager.result.iterations} steps, ${eager.result.evaluations} passes; Hessians ${eager.hessians} ` +
      `computed with every trial, ${lazy.hessians} only for the steps taken`,
  );
  assert.equal(eager.result.stop, 'converged');
  assert.deepEqual(Array.from(lazy.result.theta), Array.from(eager.result.theta));
  assert.deepEqual(Array.from(lazy.result.hessian), Array.from(eager.result.hessian));
  assert.equal(lazy.result.iterations, eager.result.iterations);
  assert.ok(eager.result.evaluations > eager.result.iterations + 1, 'backtracking rejected some trials');
  assert.equal(lazy.hessians, lazy.result.iterations, 'one Hessian per step taken (the start, not the last step)');
  assert.ok(lazy.hessians < eager.hessians, `${lazy.hessians} Hessians against ${eager.hessians}`);
});

test('hessianOfLastPass is the Hessian a pass with it computes, bit for bit, and needs a pass before it', async () => {
  const p = problem(6);
  const rows = rowsOf(p, true);
  rows.standardise();
  await assert.rejects(rows.hessianOfLastPass(), /needs a logisticPass before it/);
  const rng = new SeededRandom(2);
  const theta = Array.from({ length: rows.columns }, () => 0.3 * rng.gaussian());
  const full = await rows.logisticPass(theta, 1e-3, true, { chunkRows: 1024 });
  const plain = await rows.logisticPass(theta, 1e-3, false, { chunkRows: 1024 });
  assert.equal(plain.h, undefined);
  assert.deepEqual(Array.from(plain.g), Array.from(full.g));
  assert.deepEqual(Array.from(await rows.hessianOfLastPass()), Array.from(full.h!));
});

test('support rows and the TF.js matrix give the same logistic pass (F, ∇F, ∇²F) at the same θ', async () => {
  await initBackend('wasm');
  const p = problem(8);
  const blocks = blocksOf(p);
  const matrix = await SupportMatrix.build(blocks, await supportFeatureStats(blocks));
  const rows = rowsOf(p, true);
  rows.standardise();
  try {
    const theta = [0.3, -0.2, 0.5, 0.1, -0.4, 0, 0.2];
    const a = await logisticPass(matrix, theta, 1e-2, true);
    const b = await rows.logisticPass(theta, 1e-2, true);
    assert.ok(Math.abs(a.f - b.f) / a.f < 1e-6, `F ${b.f} vs ${a.f}`);
    assert.ok(relative(b.g, a.g) < 1e-5, `∇F off by ${relative(b.g, a.g)}`);
    assert.ok(relative(b.h!, a.h!) < 1e-5, `∇²F off by ${relative(b.h!, a.h!)}`);
    const h = b.h!;
    const d = theta.length;
    for (let j = 0; j < d; j++) for (let k = 0; k < j; k++) assert.equal(h[j * d + k], h[k * d + j]);
  } finally {
    matrix.dispose();
    tf.dispose(blocks.map((b) => b.features));
  }
});

test("the support rows' logistic gradient and Hessian agree with finite differences of their own loss", async () => {
  const rows = rowsOf(problem(8), true);
  rows.standardise();
  const theta = [0.3, -0.2, 0.5, 0.1, -0.4, 0, 0.2];
  const value = await rows.logisticPass(theta, 1e-2, true);
  const h = 1e-3;
  for (let j = 0; j < theta.length; j++) {
    const plus = await rows.logisticPass(
      theta.map((v, k) => (k === j ? v + h : v)),
      1e-2,
      true,
    );
    const minus = await rows.logisticPass(
      theta.map((v, k) => (k === j ? v - h : v)),
      1e-2,
      true,
    );
    const fd = (plus.f - minus.f) / (2 * h);
    assert.ok(Math.abs(fd - value.g[j]) < 1e-5, `∂F/∂θ${j}: ${value.g[j]} vs finite difference ${fd}`);
    for (let k = 0; k < theta.length; k++) {
      const fdh = (plus.g[k] - minus.g[k]) / (2 * h);
      assert.ok(Math.abs(fdh - value.h![k * theta.length + j]) < 1e-4, `∂²F/∂θ${k}∂θ${j}`);
    }
  }
});

test('the logistic pass gradient and Hessian agree with finite differences of its own loss', async () => {
  await initBackend('cpu');
  const p = problem(8);
  const blocks = blocksOf(p);
  const matrix = await SupportMatrix.build(blocks, await supportFeatureStats(blocks));
  try {
    const theta = [0.3, -0.2, 0.5, 0.1, -0.4, 0, 0.2];
    const value = await logisticPass(matrix, theta, 1e-2, true);
    const h = 1e-3;
    for (let j = 0; j < theta.length; j++) {
      const plus = await logisticPass(
        matrix,
        theta.map((v, k) => (k === j ? v + h : v)),
        1e-2,
        true,
      );
      const minus = await logisticPass(
        matrix,
        theta.map((v, k) => (k === j ? v - h : v)),
        1e-2,
        true,
      );
      const fd = (plus.f - minus.f) / (2 * h);
      assert.ok(Math.abs(fd - value.g[j]) < 1e-5, `∂F/∂θ${j}: ${value.g[j]} vs finite difference ${fd}`);
      for (let k = 0; k < theta.length; k++) {
        const fdh = (plus.g[k] - minus.g[k]) / (2 * h);
        assert.ok(Math.abs(fdh - value.h![k * theta.length + j]) < 1e-4, `∂²F/∂θ${k}∂θ${j}`);
      }
    }
  } finally {
    matrix.dispose();
    tf.dispose(blocks.map((b) => b.features));
  }
});
