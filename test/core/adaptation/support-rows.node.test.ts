import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SATURATED_LOGIT, SupportRows } from '../../../core/adaptation/support-rows.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

/**
 * Dice passes over the active rows only (`skipSaturated`) against float64 loops over every row,
 * written here from the formula, and against the full passes, along a path of θ as BFGS takes
 * one: from a soft head to a sharp one (most rows then saturated, |z| > SATURATED_LOGIT on their
 * right side), small steps (the active rows are reused), one long jump (chosen anew), and back.
 */
const channels = 13;
const lambda = 1e-4;

function problem(seed: number) {
  const rng = new SeededRandom(seed);
  const direction = Array.from({ length: channels }, (_, j) => (j % 3 === 0 ? 1 : -0.5) / (1 + j));
  const x: number[][] = [];
  const t: number[] = [];
  for (let i = 0; i < 6001; i++) {
    const row = Array.from({ length: channels }, (_, j) => Math.fround((1 + (j % 4)) * rng.gaussian() + j));
    let z = -0.8;
    for (let j = 0; j < channels; j++) z += (direction[j] * (row[j] - j)) / (1 + (j % 4));
    x.push(row);
    // A few labels against the features: rows that stay unsaturated however sharp the head.
    t.push(z > 0 !== rng.next() < 0.01 ? 1 : 0);
  }
  return { x, t, direction };
}

function rowsOf({ x, t }: ReturnType<typeof problem>, simd: boolean) {
  const positives = t.filter((v) => v === 1).length;
  const rows = new SupportRows(channels, positives, t.length - positives, { simd });
  let p = 0;
  let n = positives;
  x.forEach((row, i) => rows.matrix.set(row, (t[i] === 1 ? p++ : n++) * rows.width));
  return { rows, stats: rows.standardise() };
}

/** The soft-Dice + λ‖w‖₂ value and gradient in float64 over every row of `a` (rows × width, the class's first). */
function reference(a: Float32Array, width: number, positives: number, theta: readonly number[]) {
  const d = theta.length;
  const rows = a.length / width;
  const gI = new Float64Array(d);
  const gP = new Float64Array(d);
  const magnitude = new Float64Array(d);
  let intersection = 0;
  let predicted = 0;
  for (let i = 0; i < rows; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) z += a[i * width + j] * theta[j];
    const p = 1 / (1 + Math.exp(-z));
    const s = p / (1 + Math.exp(z));
    predicted += p;
    if (i < positives) intersection += p;
    for (let j = 0; j < d; j++) {
      const term = s * a[i * width + j];
      gP[j] += term;
      if (i < positives) gI[j] += term;
      magnitude[j] += Math.abs(term);
    }
  }
  const u = 2 * intersection + 1;
  const v = predicted + positives + 1;
  let norm = 0;
  for (let j = 0; j < d - 1; j++) norm += theta[j] ** 2;
  norm = Math.sqrt(norm);
  const g = Array.from(
    { length: d },
    (_, j) => (-2 / v) * gI[j] + (u / (v * v)) * gP[j] + (j < d - 1 ? (lambda * theta[j]) / norm : 0),
  );
  return { f: 1 - u / v + lambda * norm, g, magnitude: Math.hypot(...magnitude.map((m) => (2 / v) * m)) };
}

for (const simd of [true, false]) {
  const kind = simd ? 'WebAssembly SIMD' : 'plain JS';
  test(`support rows (${kind}): Dice passes over the unsaturated rows equal float64 loops over all rows`, async () => {
    const data = problem(3);
    const skipping = rowsOf(data, simd).rows;
    const { rows: full, stats } = rowsOf(data, simd);
    // The full passes never move rows: the reference reads the standardised rows from them.
    const standardised = full.matrix.slice();
    const d = full.columns;
    const rng = new SeededRandom(9);
    // The labels' own head in standardised space (z = −0.8 + Σ direction_j (x_j − j)/(1 + j mod 4)), a little off.
    const scale = (j: number) => data.direction[j] / (1 + (j % 4));
    const start = Array.from({ length: d }, (_, j) =>
      j < d - 1
        ? scale(j) * stats.std[j] * (1 + 0.1 * rng.gaussian())
        : -0.8 + stats.mean.reduce((sum, mu, k) => sum + scale(k) * (mu - k), 0),
    );
    const path: number[][] = [];
    for (const sharpness of [1, 3, 10, 30, 60, 100]) path.push(start.map((v) => v * sharpness));
    for (let k = 0; k < 12; k++) path.push(path[path.length - 1].map((v) => v + 0.01 * rng.gaussian()));
    path.push(path[path.length - 1].map((v) => v * 0.5));
    for (let k = 0; k < 6; k++) path.push(path[path.length - 1].map((v) => v + 0.003 * rng.gaussian()));
    path.push(start);

    let worst = { f: 0, g: 0, againstFull: 0 };
    for (const theta of path) {
      const got = await skipping.dicePass(theta, { lambda, skipSaturated: true, chunkRows: 1024 });
      const all = await full.dicePass(theta, { lambda, chunkRows: 1024 });
      const want = reference(standardised, full.width, full.positives, theta);
      const fError = Math.abs(got.f - want.f) / want.f;
      const gError = Math.hypot(...got.g.map((v, j) => v - want.g[j])) / Math.max(want.magnitude, 1e-30);
      const againstFull = Math.hypot(...got.g.map((v, j) => v - all.g[j])) / Math.max(want.magnitude, 1e-30);
      assert.ok(fError < 1e-6, `f ${got.f} vs ${want.f} at |θ| ${Math.hypot(...theta)}`);
      assert.ok(gError < 1e-4, `∇f off by ${gError} at |θ| ${Math.hypot(...theta)}`);
      assert.ok(Math.abs(got.f - all.f) < 1e-6 * all.f, `f ${got.f} vs the full pass's ${all.f}`);
      worst = {
        f: Math.max(worst.f, fError),
        g: Math.max(worst.g, gError),
        againstFull: Math.max(worst.againstFull, againstFull),
      };
    }
    const counts = skipping.diceStats;
    const share = counts.rows / (counts.passes * skipping.rows);
    console.log(
      `${kind}: ${counts.passes} passes read ${(100 * share).toFixed(1)} % of the rows, ` +
        `${counts.rebuilds} row choices; ` +
        `worst relative errors ${JSON.stringify(worst)} (saturated beyond |z| = ${SATURATED_LOGIT})`,
    );
    assert.equal(counts.passes, path.length);
    assert.ok(share < 0.6, `the sharp heads' passes skipped rows: ${share} read`);
    assert.ok(counts.rebuilds > 2 && counts.rebuilds < path.length - 10, `${counts.rebuilds} row choices`);
    assert.equal(full.diceStats.rows, path.length * full.rows, 'the full passes read every row');
  });
}

test('thresholdCounts: the rows called the class at a logit cut, as float64 loops count them, SIMD or not', () => {
  const data = problem(7);
  const theta = [...data.direction.map((v) => 2 * v), -0.3];
  for (const simd of [true, false]) {
    const { rows } = rowsOf(data, simd);
    const a = rows.matrix;
    for (const cut of [-1, 0, Math.log(0.7 / 0.3)]) {
      let intersection = 0;
      let predicted = 0;
      let close = 0;
      for (let i = 0; i < rows.rows; i++) {
        let z = 0;
        for (let j = 0; j < theta.length; j++) z += a[i * rows.width + j] * theta[j];
        // Float32 logits may fall either side of the cut within their rounding.
        if (Math.abs(z - cut) < 1e-4) close++;
        if (z > cut) {
          predicted++;
          if (i < rows.positives) intersection++;
        }
      }
      const counts = rows.thresholdCounts(theta, cut);
      assert.ok(predicted > 100 && intersection > 100 && predicted < rows.rows, `a split at ${cut}`);
      assert.ok(Math.abs(counts.predicted - predicted) <= close, `simd ${simd}, cut ${cut}: ${counts.predicted}`);
      assert.ok(Math.abs(counts.intersection - intersection) <= close, `simd ${simd}, cut ${cut}`);
    }
  }
});
