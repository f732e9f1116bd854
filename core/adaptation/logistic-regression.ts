import * as tf from '@tensorflow/tfjs';
import { choleskySolve, dot, norm2 } from '../math/dense-linear-algebra.js';
import { groupedColumnSums, partialSums, sumPartials } from './pixel-reductions.js';
import { SupportMatrix } from './support-matrix.js';
import type { LogisticStop } from './logistic-stop.js';
import type { LogisticValue } from './objective-values.js';

/**
 * Phase 1 of the adaptation (docs/ARCHITECTURE.md#few-shot-adaptation): L2-regularised logistic regression,
 *
 *   F(w, b) = (1/N) Σ_i [softplus(z_i) − t_i z_i] + (α/2) ‖w‖²,   z_i = a_i·θ,  θ = [w; b],
 *
 * over the N labelled support pixels (the bias is not penalised), solved to convergence by
 * Newton's method with backtracking (IRLS). The gradient (1/N) Aᵀ(p − t) + α w and the Hessian
 * (1/N) Aᵀ diag(p(1 − p)) A + α I_w are passes over the pixels (support-rows.ts's kernels, or
 * logisticPass below on the TF.js backend); the (C'+1)-square Newton system is solved in float64
 * by Cholesky.
 */

/**
 * One pass: F, ∇F and optionally ∇²F at θ. `checkpoint` runs before each chunk, so that an
 * abort is seen within one chunk even where a whole pass is long (the cpu backend's Hessian).
 */
export async function logisticPass(
  matrix: SupportMatrix,
  theta: ArrayLike<number>,
  l2: number,
  withHessian: boolean,
  checkpoint?: () => Promise<void>,
): Promise<LogisticValue> {
  const d = matrix.columns;
  const { values, offsets, sizes } = await matrix.pass(
    theta,
    (c, z) => {
      const p = tf.sigmoid(z);
      // softplus(z) − t·z is the cross-entropy of σ(z) against t, stable for any z.
      const loss = tf.mul(tf.sub(tf.softplus(z), tf.mul(c.target, z)), c.weight) as tf.Tensor2D;
      const residual = tf.mul(tf.sub(p, c.target), c.weight) as tf.Tensor2D;
      const out: tf.Tensor[] = [partialSums([loss]), groupedColumnSums(c.a, [residual], c.group)];
      if (withHessian) {
        const s = tf.mul(tf.mul(p, tf.sub(1, p)), c.weight);
        // The Hessian's precision only sets Newton's rate, not the solution: one plain product.
        // (Estimating it from every 4th pixel instead, to save its cost, doubled the
        // iterations on the sample data: the curvature sits on the few uncertain pixels.)
        out.push(tf.matMul(tf.transpose(tf.mul(c.a, s)), c.a));
      }
      return out;
    },
    checkpoint,
  );
  const per = withHessian ? 3 : 2;
  const n = matrix.labelled;
  const lossSum = new Float64Array(1);
  const g = new Float64Array(d);
  const h = withHessian ? new Float64Array(d * d) : undefined;
  for (let k = 0; k < matrix.chunks.length; k++) {
    const base = k * per;
    sumPartials(values, offsets[base], sizes[base], 1, lossSum);
    for (let j = 0; j < d; j++) g[j] += values[offsets[base + 1] + j];
    if (h) for (let j = 0; j < d * d; j++) h[j] += values[offsets[base + 2] + j];
  }
  let penalty = 0;
  for (let j = 0; j < d - 1; j++) {
    g[j] = g[j] / n + l2 * theta[j];
    penalty += theta[j] * theta[j];
  }
  g[d - 1] /= n;
  if (h) {
    for (let j = 0; j < d * d; j++) h[j] /= n;
    for (let j = 0; j < d - 1; j++) h[j * d + j] += l2;
  }
  return { f: lossSum[0] / n + 0.5 * l2 * penalty, g, h };
}

/**
 * What Newton's method needs of the support: its size and one pass (F, ∇F, optionally ∇²F) at θ.
 * A SupportMatrix (TF.js, logisticPass above) or SupportRows (support-rows.ts: float32 rows and
 * WebAssembly SIMD kernels) — the same mathematics.
 */
export interface LogisticProblem {
  /** D = C' + 1. */
  readonly columns: number;
  readonly labelled: number;
  readonly positives: number;
  logisticPass(
    theta: ArrayLike<number>,
    l2: number,
    withHessian: boolean,
    options?: { checkpoint?: () => Promise<void> },
  ): Promise<LogisticValue>;
  /**
   * ∇²F at the θ of the last logisticPass, which was made without it (SupportRows keeps what
   * it needs): where present, a trial step's pass computes no Hessian until the step is taken.
   */
  hessianOfLastPass?(): Promise<Float64Array>;
}

export interface LogisticOptions {
  /** α, the weight of (α/2)‖w‖² against the mean cross-entropy. */
  readonly l2: number;
  readonly maxIterations: number;
  /**
   * Stop once half the squared Newton decrement, λ²/2 = ½ ∇Fᵀ H⁻¹ ∇F (an estimate of F − F*),
   * was below this before the last step: that step then leaves an error of order its square.
   */
  readonly tolerance: number;
  /** Awaited after each step; may throw to cancel. */
  readonly onIteration?: (progress: { iteration: number; loss: number; gradientNorm: number }) => void | Promise<void>;
  /** Awaited before each chunk of every pass; may throw to cancel. */
  readonly checkpoint?: () => Promise<void>;
  /**
   * With a problem that has hessianOfLastPass: compute the Hessian only for a trial step that is
   * taken (the same Hessians, bit for bit, none for the steps backtracking rejects). false: every
   * trial pass computes it, as before (kept to compare with, tools/bench-adapt.ts).
   */
  readonly lazyHessian?: boolean;
}

export const LOGISTIC_DEFAULTS: Omit<LogisticOptions, 'onIteration' | 'checkpoint'> = {
  l2: 1e-4,
  maxIterations: 50,
  tolerance: 1e-10,
};

export interface LogisticResult {
  /** θ = [w; b] in standardised feature space. */
  readonly theta: Float64Array;
  readonly loss: number;
  readonly gradientNorm: number;
  readonly iterations: number;
  /** Passes over the support pixels. */
  readonly evaluations: number;
  /**
   * 'converged': the decrement test passed; 'max-iterations': the cap; 'no-progress': a Newton
   * step decreased F by no measurable amount even when halved many times (F is flat to float32
   * precision: as converged as this arithmetic allows).
   */
  readonly stop: LogisticStop;
  /** ∇²F at the last point where it was computed (the solution, or the step before it): row-major D × D. */
  readonly hessian: Float64Array;
}

/** Solves H δ = −g, adding a growing ridge if rounding has made H indefinite. */
function newtonStep(h: Float64Array, g: Float64Array, d: number): Float64Array {
  const rhs = g.map((v) => -v);
  let trace = 0;
  for (let j = 0; j < d; j++) trace += h[j * d + j];
  for (let ridge = 0; ; ridge = ridge === 0 ? 1e-12 * (trace / d) : ridge * 10) {
    const m = h.slice();
    for (let j = 0; j < d; j++) m[j * d + j] += ridge;
    const step = choleskySolve(m, rhs, d);
    if (step) return step;
    if (ridge > trace) throw new Error('logistic regression: the Hessian is not positive definite');
  }
}

export async function fitLogisticRegression(
  support: SupportMatrix | LogisticProblem,
  options: Partial<LogisticOptions> = {},
): Promise<LogisticResult> {
  const {
    l2,
    maxIterations,
    tolerance,
    onIteration,
    checkpoint,
    lazyHessian = true,
  } = {
    ...LOGISTIC_DEFAULTS,
    ...options,
  };
  if (!(l2 >= 0)) throw new Error(`l2 must be ≥ 0, got ${l2}`);
  const matrix: LogisticProblem =
    support instanceof SupportMatrix
      ? {
          columns: support.columns,
          labelled: support.labelled,
          positives: support.positives,
          logisticPass: (theta, alpha, withHessian) => logisticPass(support, theta, alpha, withHessian, checkpoint),
        }
      : support;
  const pass = (theta: ArrayLike<number>, withHessian: boolean) =>
    matrix.logisticPass(theta, l2, withHessian, { checkpoint });
  const d = matrix.columns;
  const lazy = lazyHessian && matrix.hessianOfLastPass !== undefined;
  // Start from the best constant model, w = 0 and b = logit of the class fraction: from θ = 0
  // (p = ½ everywhere) the first steps would only be spent learning how rare the class is.
  let theta = new Float64Array(d);
  const fraction = matrix.positives / matrix.labelled;
  if (fraction > 0 && fraction < 1) theta[d - 1] = Math.log(fraction / (1 - fraction));
  let value = await pass(theta, true);
  let evaluations = 1;
  let iterations = 0;
  let stop: LogisticStop;
  let hessian = value.h!;
  for (;;) {
    if (iterations >= maxIterations) {
      stop = 'max-iterations';
      break;
    }
    const step = newtonStep(hessian, value.g, d);
    const decrement = -dot(value.g, step);
    if (!(decrement > 0)) {
      stop = 'converged';
      break;
    }
    const last = decrement / 2 < tolerance;
    // F's own float32 jitter is ~1e-8 relative (its logits are dot products whose terms cancel);
    // a step promising less decrease than ~10× that cannot be judged by F, so a full Newton step
    // (which this close to the optimum is right) is taken on trust.
    const trusted = last || decrement / 2 < 1e-7 * Math.abs(value.f);
    let t = 1;
    let next: LogisticValue | undefined;
    for (;;) {
      const candidate = theta.map((v, j) => v + t * step[j]);
      // The last step needs no Hessian after it: skip the most expensive part of the pass.
      const needsHessian = !last || t < 1;
      const trial = await pass(candidate, needsHessian && !lazy);
      evaluations++;
      if (trial.f <= value.f - 1e-4 * t * decrement || (trusted && t === 1)) {
        next = needsHessian && lazy ? { ...trial, h: await matrix.hessianOfLastPass!() } : trial;
        theta = candidate;
        break;
      }
      t /= 2;
      if (t < 1e-10) break;
    }
    if (!next) {
      stop = 'no-progress';
      break;
    }
    value = next;
    if (value.h) hessian = value.h;
    iterations++;
    await onIteration?.({ iteration: iterations, loss: value.f, gradientNorm: norm2(value.g) });
    if (last) {
      stop = 'converged';
      break;
    }
  }
  return { theta, loss: value.f, gradientNorm: norm2(value.g), iterations, evaluations, stop, hessian };
}
