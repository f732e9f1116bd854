import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLOCK_ROWS,
  createSupportKernels,
  LOGIT_LIMIT,
  type SupportKernels,
} from '../../../core/adaptation/support-kernels.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

/**
 * The fit's kernels, WebAssembly SIMD and plain JS, against float64 loops written here from the
 * formulas: row counts that are not multiples of 4 or of the block (1, 5, 127 … 1003 rows, so the
 * 4-row groups, their masked tails and the float32 blocks are all exercised) and widths of 1, 2,
 * 13 and 19 vectors (C' = 3, 7, 50, 75: the small test extractors and 2 or 3 depth-25 ones).
 */

interface Layout {
  kernels: SupportKernels;
  f32: Float32Array;
  f64: Float64Array;
  a: number;
  theta: number;
  scratch: number;
  v: number;
  out: number;
}

function layout(vectors: number, rows: number, simd: boolean): Layout {
  const width = 4 * vectors;
  let bytes = 64;
  const take = (n: number) => {
    const at = bytes;
    bytes = Math.ceil((bytes + n) / 16) * 16 + 16;
    return at;
  };
  // Three slack rows after the matrix: the 4-row kernels read (and discard) them.
  const a = take(4 * (rows + 3) * width);
  const theta = take(4 * width);
  const scratch = take(4 * BLOCK_ROWS * width);
  const v = take(4 * (rows + 4));
  const out = take(8 * (width * width + width + 1));
  const kernels = createSupportKernels(vectors, bytes, { simd });
  return {
    kernels,
    f32: new Float32Array(kernels.buffer),
    f64: new Float64Array(kernels.buffer),
    a,
    theta,
    scratch,
    v,
    out,
  };
}

/** ‖a − b‖ / ‖b‖ (NaN fails every comparison). */
const relative = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
};

function data(rows: number, width: number, seed: number) {
  const rng = new SeededRandom(seed);
  // Features of mixed scale and sign, a bias column of 1, zero padding: like standardised rows.
  const columns = width - 2;
  const x = new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) x[i * width + j] = (1 + (j % 3)) * rng.gaussian() + (j % 5) - 2;
    x[i * width + columns] = 1;
  }
  const theta = new Float32Array(width);
  for (let j = 0; j <= columns; j++) theta[j] = (0.6 * rng.gaussian()) / Math.sqrt(columns);
  const w = Float32Array.from({ length: rows }, () => rng.next());
  return { x, theta, w, columns };
}

const ROWS = [1, 5, 127, 128, 129, 1003];
const VECTORS = [1, 2, 13, 19];
const kinds = [
  { simd: true, kind: 'wasm-simd' },
  { simd: false, kind: 'js' },
] as const;

test('WebAssembly SIMD is available here, so the SIMD kernels are the ones under test', () => {
  assert.equal(layout(2, 4, true).kernels.kind, 'wasm-simd');
  assert.equal(layout(2, 4, false).kernels.kind, 'js');
});

for (const { simd, kind } of kinds) {
  test(`${kind}: weighted sums and the Gram matrix match float64 loops`, () => {
    let worst = { weighted: 0, gram: 0 };
    for (const vectors of VECTORS) {
      for (const rows of ROWS) {
        const width = 4 * vectors;
        const { x, w } = data(rows, width, 10 * vectors + rows);
        const l = layout(vectors, rows, simd);
        l.f32.set(x, l.a / 4);
        l.f32.set(w, l.v / 4);
        const o = l.out / 8;

        const sumRef = new Float64Array(width);
        const gramRef = new Float64Array(width * width);
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < width; j++) {
            sumRef[j] += w[i] * x[i * width + j];
            for (let k = 0; k < width; k++) gramRef[j * width + k] += w[i] * x[i * width + j] * x[i * width + k];
          }
        }
        l.f64.fill(0.5, o, o + width);
        l.kernels.weightedSum(l.a, rows, l.v, l.out);
        const sums = Array.from(l.f64.subarray(o, o + width), (s) => s - 0.5);
        const sumError = relative(sums, sumRef);
        assert.ok(sumError < 1e-6, `weighted sum, ${vectors} vectors × ${rows} rows: ${sumError} (added to out)`);

        l.f64.fill(0, o, o + width * width);
        l.kernels.gram(l.a, rows, l.v, l.scratch, l.out);
        // Compare the entries the kernels promise: k ≥ j.
        const got: number[] = [];
        const want: number[] = [];
        for (let j = 0; j < width; j++) {
          for (let k = j; k < width; k++) {
            got.push(l.f64[o + j * width + k]);
            want.push(gramRef[j * width + k]);
          }
        }
        const gramError = relative(got, want);
        assert.ok(gramError < 1e-6, `Gram, ${vectors} vectors × ${rows} rows: ${gramError}`);
        worst = {
          weighted: Math.max(worst.weighted, sumError),
          gram: Math.max(worst.gram, gramError),
        };
      }
    }
    console.log(`${kind}: worst relative errors ${JSON.stringify(worst)}`);
  });

  test(`${kind}: the Dice pass (sigmoid, Σp, Σ p(1−p)·a) matches float64 loops, extreme logits included`, () => {
    let worst = { p: 0, gradient: 0 };
    for (const vectors of VECTORS) {
      for (const rows of ROWS) {
        const width = 4 * vectors;
        const { x, theta } = data(rows, width, 7 * vectors + rows);
        // Scale θ so that logits reach far past the ±LOGIT_LIMIT where σ is clamped, on some rows.
        for (let j = 0; j < width; j++) theta[j] *= rows % 2 ? 40 : 4;
        const l = layout(vectors, rows, simd);
        l.f32.set(x, l.a / 4);
        l.f32.set(theta, l.theta / 4);
        const o = l.out / 8;
        let pRef = 0;
        const gRef = new Float64Array(width);
        const gAbs = new Float64Array(width);
        for (let i = 0; i < rows; i++) {
          let z = 0;
          for (let j = 0; j < width; j++) z += x[i * width + j] * theta[j];
          // The kernels' σ is of the logit clamped to ±LOGIT_LIMIT (support-kernels.ts says why).
          const zc = Math.max(-LOGIT_LIMIT, Math.min(LOGIT_LIMIT, z));
          const p = 1 / (1 + Math.exp(-zc));
          const s = p * (1 / (1 + Math.exp(zc)));
          pRef += p;
          for (let j = 0; j < width; j++) {
            gRef[j] += s * x[i * width + j];
            gAbs[j] += Math.abs(s * x[i * width + j]);
          }
        }
        l.f64.fill(0, o, o + 1 + width);
        l.kernels.dice(l.a, rows, l.theta, l.scratch, l.out);
        const p = l.f64[o];
        const g = l.f64.slice(o + 1, o + 1 + width);
        assert.ok(Number.isFinite(p) && g.every(Number.isFinite), 'finite at extreme logits');
        const pError = Math.abs(p - pRef) / Math.max(pRef, 1e-30);
        // Σp: float32 logits and sigmoid (relative error ~1e-7 each). The gradient's terms s·a
        // change sign and cancel, so its error is measured against ‖Σ|s·a|‖. Where |z| is large,
        // s ≈ e^−|z| has the relative error of the float32 logit's absolute error, up to
        // |z|·2⁻²³·(a few) ≈ 1e-5 at |z| = 40 (the TF.js path's float32 logits have it too).
        assert.ok(pError < 2e-6, `Σp, ${vectors} × ${rows}: ${p} vs ${pRef}`);
        const gError = Math.hypot(...Array.from(g, (v, j) => v - gRef[j])) / Math.max(Math.hypot(...gAbs), 1e-30);
        assert.ok(gError < 3e-5, `Σ s·a, ${vectors} × ${rows}: ${gError}`);
        worst = { p: Math.max(worst.p, pError), gradient: Math.max(worst.gradient, gError) };
      }
    }
    console.log(`${kind}: worst relative errors ${JSON.stringify(worst)}`);
  });

  test(`${kind}: the logistic pass (softplus loss, σ − t, σ(z)σ(−z)) matches float64 loops`, () => {
    let worst = { lossOfBound: 0, gradient: 0, weights: 0 };
    for (const vectors of VECTORS) {
      for (const rows of ROWS) {
        for (const target of [0, 1]) {
          const width = 4 * vectors;
          const { x, theta } = data(rows, width, 5 * vectors + rows + target);
          for (let j = 0; j < width; j++) theta[j] *= rows % 2 ? 30 : 3;
          const l = layout(vectors, rows, simd);
          l.f32.set(x, l.a / 4);
          l.f32.set(theta, l.theta / 4);
          l.f32.fill(-1, l.v / 4, l.v / 4 + rows + 4);
          const o = l.out / 8;
          let lossRef = 0;
          let cancelled = 0;
          const gRef = new Float64Array(width);
          const gAbs = new Float64Array(width);
          const sRef = new Float64Array(rows);
          const zRef = new Float64Array(rows);
          for (let i = 0; i < rows; i++) {
            let z = 0;
            for (let j = 0; j < width; j++) z += x[i * width + j] * theta[j];
            zRef[i] = z;
            // softplus(z) − t·z = softplus(z) or softplus(−z), each as max(·, 0) + log1p(e^−|z|),
            // the exponential's argument clamped as in the kernels; σ and σσ' of the clamped logit.
            const y = target === 1 ? -z : z;
            const zc = Math.max(-LOGIT_LIMIT, Math.min(LOGIT_LIMIT, z));
            lossRef += Math.max(y, 0) + Math.log1p(Math.exp(-Math.abs(zc)));
            // The kernels form max(z, 0) + log1p(e) − t·z in float32: where t·z cancels the first
            // term they lose up to an ulp of |z| per row (as the TF.js path does).
            if (target === 1 && z > 0) cancelled += z;
            const p = 1 / (1 + Math.exp(-zc));
            sRef[i] = p / (1 + Math.exp(zc));
            // σ(z) − 1 = −σ(−z): so written, float64 keeps its digits where σ(z) rounds to 1.
            const r = target === 1 ? -1 / (1 + Math.exp(zc)) : p;
            for (let j = 0; j < width; j++) {
              gRef[j] += r * x[i * width + j];
              gAbs[j] += Math.abs(r * x[i * width + j]);
            }
          }
          l.f64.fill(0, o, o + 1 + width);
          l.kernels.logistic(l.a, rows, l.theta, target, l.v, l.scratch, l.out);

          const g = l.f64.subarray(o + 1, o + 1 + width);
          const gError = Math.hypot(...Array.from(g, (v, j) => v - gRef[j])) / Math.max(Math.hypot(...gAbs), 1e-30);
          let sError = 0;
          for (let i = 0; i < rows; i++) {
            const s = l.f32[l.v / 4 + i];
            sError = Math.max(sError, Math.abs(s - sRef[i]) / sRef[i]);
          }
          const label = `${vectors} vectors × ${rows} rows, t = ${target}`;
          // Float32 logits: the loss of a confident pixel, ~e^−|z|, has the relative error of the
          // logit's absolute one (as in the Dice test): up to ~1e-5 at |z| ~ 40.
          const lossBound = 3e-5 * lossRef + 2 ** -23 * cancelled;
          // Reported as the fraction of that bound used.
          const lossError = Math.abs(l.f64[o] - lossRef) / lossBound;
          assert.ok(lossError <= 1, `loss, ${label}: ${l.f64[o]} vs ${lossRef}`);
          assert.ok(gError < 3e-5, `gradient, ${label}: ${gError}`);
          assert.ok(sError < 3e-5, `σ(z)σ(−z), ${label}: ${sError}`);
          worst = {
            lossOfBound: Math.max(worst.lossOfBound, lossError),
            gradient: Math.max(worst.gradient, gError),
            weights: Math.max(worst.weights, sError),
          };
        }
      }
    }
    console.log(`${kind}: worst relative errors ${JSON.stringify(worst)}`);
  });

  test(`${kind}: the logits and the squared row norms match float64 loops`, () => {
    let worst = { logits: 0, norms: 0 };
    for (const vectors of VECTORS) {
      for (const rows of ROWS) {
        const width = 4 * vectors;
        const { x, theta } = data(rows, width, 5 * vectors + rows);
        const l = layout(vectors, rows, simd);
        l.f32.set(x, l.a / 4);
        l.f32.set(theta, l.theta / 4);
        // The logits and the norms go to v (rows + 4 floats: the last group's 3 extra lanes fit).
        const v = l.v / 4;
        l.f32.fill(NaN, v, v + rows + 4);
        l.kernels.logits(l.a, rows, l.theta, l.v);
        const zRef = Array.from({ length: rows }, (_, i) => {
          let z = 0;
          for (let j = 0; j < width; j++) z += x[i * width + j] * theta[j];
          return z;
        });
        // Per row against Σ|a·θ| (the terms cancel): float32 products and sums, ~1e-7 of it.
        const zError = Math.max(
          ...zRef.map((z, i) => {
            let bound = 0;
            for (let j = 0; j < width; j++) bound += Math.abs(x[i * width + j] * theta[j]);
            return Math.abs(l.f32[v + i] - z) / bound;
          }),
        );
        assert.ok(zError < 1e-6, `logits, ${vectors} vectors × ${rows} rows: ${zError}`);
        l.kernels.squaredNorms(l.a, rows, l.v);
        const nError = Math.max(
          ...Array.from({ length: rows }, (_, i) => {
            let s = 0;
            for (let j = 0; j < width; j++) s += x[i * width + j] ** 2;
            return Math.abs(l.f32[v + i] - s) / s;
          }),
        );
        assert.ok(nError < 1e-6, `squared norms, ${vectors} vectors × ${rows} rows: ${nError}`);
        worst = { logits: Math.max(worst.logits, zError), norms: Math.max(worst.norms, nError) };
      }
    }
    console.log(`${kind}: worst relative errors ${JSON.stringify(worst)}`);
  });

  test(`${kind}: the sigmoid of the Dice pass is accurate to float32 over logits from −100 to 100`, () => {
    // One row per logit: feature 0 carries z, θ = [1, 0, …]; Σp and Σs of single rows.
    const l = layout(1, 1, simd);
    l.f32.set([1, 0, 0, 0], l.theta / 4);
    const o = l.out / 8;
    let worstP = 0;
    let worstS = 0;
    for (let z = -100; z <= 100; z += 0.37) {
      const zf = Math.fround(z);
      l.f32.set([zf, 0, 0, 0], l.a / 4);
      l.f64.fill(0, o, o + 5);
      l.kernels.dice(l.a, 1, l.theta, l.scratch, l.out);
      const p = 1 / (1 + Math.exp(-zf));
      const s = p / (1 + Math.exp(zf));
      if (Math.abs(zf) <= LOGIT_LIMIT) {
        worstP = Math.max(worstP, Math.abs(l.f64[o] - p) / p);
        worstS = Math.max(worstS, Math.abs(l.f64[o + 1] / zf - s) / s);
      } else {
        // Clamped: σ(±LOGIT_LIMIT), within float32 of it, and ≤ e^−40 ≈ 4e-18 from the exact value.
        const clamped = 1 / (1 + Math.exp(-Math.sign(zf) * LOGIT_LIMIT));
        assert.ok(Math.abs(l.f64[o] - clamped) <= 5e-7 * clamped, `p(${zf}) = ${l.f64[o]}`);
        assert.ok(Math.abs(l.f64[o] - p) <= 5e-18 + 5e-7 * p, `p(${zf}) = ${l.f64[o]} vs ${p}`);
      }
    }
    console.log(
      `${kind}: worst relative error of σ(z) ${worstP.toExponential(2)}, of σ(z)σ(−z) ${worstS.toExponential(2)}`,
    );
    assert.ok(worstP < 5e-7, `σ(z): ${worstP}`);
    assert.ok(worstS < 5e-7, `σ(z)σ(−z): ${worstS}`);
  });

  test(`${kind}: centre and scale standardise rows in place, summing the centred squares`, () => {
    for (const vectors of [2, 13]) {
      const rows = 1003;
      const width = 4 * vectors;
      const { x } = data(rows, width, 3 + vectors);
      const l = layout(vectors, rows, simd);
      l.f32.set(x, l.a / 4);
      const shift = Float32Array.from({ length: width }, (_, j) => 0.1 * j - 1);
      const scale = Float32Array.from({ length: width }, (_, j) => 0.5 + 0.25 * j);
      l.f32.set(shift, l.theta / 4);
      const o = l.out / 8;
      l.f64.fill(0, o, o + width);
      l.kernels.centre(l.a, rows, l.theta, l.out);
      const squares = new Float64Array(width);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < width; j++) {
          const c = Math.fround(x[i * width + j] - shift[j]);
          assert.equal(l.f32[l.a / 4 + i * width + j], c, `centred (${i}, ${j})`);
          squares[j] += c * c;
        }
      }
      assert.ok(relative(l.f64.subarray(o, o + width), squares) < 1e-6);
      l.f32.set(scale, l.theta / 4);
      l.kernels.scale(l.a, rows, l.theta);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < width; j++) {
          const c = Math.fround(Math.fround(x[i * width + j] - shift[j]) / scale[j]);
          assert.equal(l.f32[l.a / 4 + i * width + j], c, `scaled (${i}, ${j})`);
        }
      }
      // The slack rows are untouched.
      for (let k = 0; k < 3 * width; k++) assert.equal(l.f32[l.a / 4 + rows * width + k], 0);
    }
  });
}
