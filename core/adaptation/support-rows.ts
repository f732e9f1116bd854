import { DICE_EPSILON, diceGradient, diceLoss, type DiceSums } from '../math/dice.js';
import type { DiceObjectiveOptions, DiceValue } from './objective-values.js';
import { isConstantFeature, type FeatureStats } from './feature-standardisation.js';
import type { LogisticValue } from './objective-values.js';
import { BLOCK_ROWS, createSupportKernels, type SupportKernels } from './support-kernels.js';

/**
 * The support matrix of the perceptron fit without TF.js (docs/ARCHITECTURE.md#few-shot-adaptation):
 * one float32 row per *labelled* support pixel — the class's pixels first, then the background's —
 * holding that pixel's C' features, then (once standardised) z = (x − mean)/std and a 1 for the
 * bias, padded with zeros to whole 4-float vectors. The rows live in the memory of the kernels
 * (support-kernels.ts) that make the passes over them, so nothing is copied per pass.
 *
 * The same mathematics as the TF.js path (support-matrix.ts, logistic-regression.ts,
 * dice-objective.ts): the same float32 standardised features and float32 logits, sums over
 * pixels in float64 (after float32 blocks of BLOCK_ROWS rows). Unlabelled pixels are simply not
 * stored, where the TF.js path weighs them by 0; ordering the rows by class turns Σ t·(…) into a
 * sum over the first `positives` rows, so the Dice pass needs one weighted row sum, not two.
 */
export interface SupportRowsOptions {
  /** false: the plain-JS kernels even where WebAssembly SIMD exists (for comparing the two). */
  readonly simd?: boolean;
}

/** Rows read past the end of a range by the 4-row kernels: kept as zero rows after the matrix. */
const SLACK_ROWS = 3;

/**
 * |z| from which a row on the right side of it (z > this for the class, z < −this for the
 * background) is left out of a Dice pass: its σ(z)σ(−z) < e^−30 = 9.4e-14, so even 10⁶ such rows
 * change the gradient's sums by < 1e-7 — less than the float32 rounding of one row's logit — and
 * its p is 1 (class) or 0 to float32 precision, counted without reading the row. At the Dice
 * solution of 5 sample shots, 92 % of the rows are that far (93.5 % beyond 25, 96 % beyond 15).
 */
export const SATURATED_LOGIT = 30;

/**
 * Radii of the active-row sets tried (θ-distances a set stays valid for): 1e-3 · 2^(k/2).
 * A set holds the rows that could come within SATURATED_LOGIT of the unsaturated side while
 * ‖θ − θ_ref‖₂ ≤ radius (|Δz_i| ≤ ‖a_i‖₂ · ‖Δθ‖₂).
 */
const RADII = Array.from({ length: 41 }, (_, k) => 1e-3 * 2 ** (k / 2));
/** Rows per sample of the histogram of margins that sets the radius. */
const HISTOGRAM_STRIDE = 8;

/** 2^e·√2: margins m with RADII[2e] ≤ m < this are in bin 2e, up to RADII[2e + 2] in bin 2e + 1. */
const HALF_STEPS = Array.from({ length: 21 }, (_, e) => 2 ** e * Math.SQRT2);

/** k with RADII[k] ≤ m < RADII[k + 1] for m ≥ RADII[0] (the last bin also holds every larger m), without a log. */
function radiusBin(m: number): number {
  const q = m / RADII[0];
  if (q >= 2 ** 20) return RADII.length - 1;
  const e = 31 - Math.clz32(q);
  return 2 * e + (q >= HALF_STEPS[e] ? 1 : 0);
}

/**
 * The active rows of the Dice passes: the class's rows 0 … positives − 1 of them first in their
 * part of the matrix, the background's from `positives` on, valid within `radius` of `theta`.
 */
interface ActiveRows {
  readonly theta: Float64Array;
  readonly radius: number;
  readonly positives: number;
  readonly negatives: number;
}

export class SupportRows {
  readonly kernels: SupportKernels;
  /** Labelled pixels (the N of every mean). */
  readonly rows: number;
  /** Labelled pixels of the class: rows 0 … positives − 1. */
  readonly positives: number;
  /** C'. */
  readonly features: number;
  /** D = C' + 1: the unknowns θ = [w; b]. */
  readonly columns: number;
  /** Floats per row: D rounded up to a multiple of 4. */
  readonly width: number;
  /** rows × width floats; row i starts at i · width. Fill rows with raw features, then standardise(). */
  readonly matrix: Float32Array;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly at: {
    matrix: number;
    theta: number;
    scratch: number;
    weight: number;
    out: number;
    hessian: number;
    logits: number;
    norms: number;
  };
  private standardised = false;
  /** ‖a_i‖₂ in `at.norms`, computed at the first pass that skips rows. */
  private normsReady = false;
  private active: ActiveRows | undefined;
  /** Counts of the Dice passes, for the benchmark: rows read, and how often the active set was chosen anew. */
  readonly diceStats = { passes: 0, rows: 0, rebuilds: 0 };
  private readonly options: SupportRowsOptions;

  constructor(features: number, positives: number, negatives: number, options: SupportRowsOptions = {}) {
    this.options = options;
    if (!(Number.isInteger(features) && features >= 1)) throw new Error(`features must be ≥ 1, got ${features}`);
    if (!(Number.isInteger(positives) && Number.isInteger(negatives) && positives >= 0 && negatives >= 0))
      throw new Error(`row counts must be integers ≥ 0, got ${positives} and ${negatives}`);
    this.features = features;
    this.columns = features + 1;
    this.width = Math.ceil(this.columns / 4) * 4;
    this.positives = positives;
    this.rows = positives + negatives;
    const width = this.width;
    let bytes = 64;
    const take = (floats: number, size = 4) => {
      const start = bytes;
      bytes = Math.ceil((bytes + size * floats) / 16) * 16 + 16;
      return start;
    };
    const at = {
      matrix: take((this.rows + SLACK_ROWS) * width),
      theta: take(width),
      scratch: take(Math.max(BLOCK_ROWS, 1) * width),
      weight: take(this.rows + 4),
      out: take(1 + width, 8),
      hessian: take(width * width, 8),
      logits: take(this.rows + 4),
      norms: take(this.rows + 4),
    };
    this.kernels = createSupportKernels(width / 4, bytes, options);
    this.at = at;
    this.f32 = new Float32Array(this.kernels.buffer);
    this.f64 = new Float64Array(this.kernels.buffer);
    this.matrix = this.f32.subarray(at.matrix / 4, at.matrix / 4 + this.rows * width);
  }

  /**
   * Mean and std of every feature over the rows (sums in float32 blocks, then float64; the
   * variance from centred values, as feature-stats.ts), then the rows standardised in place to
   * [z | 1 | 0…], z in float32. A constant feature keeps std 1 (feature-stats.ts's
   * isConstantFeature). Three kernel sweeps: ~20 ms for 5 shots × C' = 50, where float64
   * JavaScript loops took ~170 ms.
   */
  standardise(): FeatureStats {
    if (this.standardised) throw new Error('the support rows are standardised already');
    if (this.rows === 0) throw new Error('feature statistics need at least one labelled pixel');
    const { rows, features: c, width, kernels, f32, f64, at } = this;
    const a = this.rowAddress(0);
    const o = at.out / 8;
    // Σ x as a weighted sum with weights 1.
    f32.fill(1, at.weight / 4, at.weight / 4 + rows);
    f64.fill(0, o, o + width);
    kernels.weightedSum(a, rows, at.weight, at.out);
    const mean = Array.from(f64.subarray(o, o + c), (s) => s / rows);
    // Centre in place, as the TF.js path in float32 with μ as float32, summing the squares on the
    // way (a second pass on centred values: E[x²] − E[x]² would cancel). The bias column, still
    // 0, becomes 0 − (−1) = 1; the padding stays 0.
    const shift = at.theta / 4;
    for (let j = 0; j < width; j++) f32[shift + j] = j < c ? mean[j] : j === c ? -1 : 0;
    f64.fill(0, o, o + width);
    kernels.centre(a, rows, at.theta, at.out);
    const std = mean.map((mu, j) => {
      const s = Math.sqrt(f64[o + j] / rows);
      return isConstantFeature(mu, s) ? 1 : s;
    });
    for (let j = 0; j < width; j++) f32[shift + j] = j < c ? std[j] : 1;
    kernels.scale(a, rows, at.theta);
    this.standardised = true;
    return { mean, std };
  }

  /**
   * New standardised rows made of these rows `indices` (repeats allowed: a bootstrap resample),
   * the first `positives` of them from the class's rows and the rest from the background's, as
   * the passes expect. For the head's ensemble (head-ensemble.ts): a subsample kept after the fit,
   * and each member's resample of it.
   */
  resampled(indices: ArrayLike<number>, positives: number): SupportRows {
    if (!this.standardised) throw new Error('standardise() the support rows before resampling them');
    const n = indices.length;
    if (!(Number.isInteger(positives) && positives >= 0 && positives <= n))
      throw new Error(`positives must be an integer in 0…${n}, got ${positives}`);
    const out = new SupportRows(this.features, positives, n - positives, this.options);
    const { width, matrix } = this;
    for (let i = 0; i < n; i++) {
      const r = indices[i];
      if (!(Number.isInteger(r) && r >= 0 && r < this.rows)) throw new Error(`row ${r} is not one of ${this.rows}`);
      if (i < positives !== r < this.positives)
        throw new Error(`row ${r} is in the wrong class for position ${i} (${positives} positives first)`);
      out.matrix.set(matrix.subarray(r * width, (r + 1) * width), i * width);
    }
    out.standardised = true;
    return out;
  }

  private checkReady(theta: ArrayLike<number>): void {
    if (!this.standardised) throw new Error('standardise() the support rows before a pass');
    if (theta.length !== this.columns)
      throw new Error(`θ has ${theta.length} entries, the rows ${this.columns} columns`);
    const t = this.at.theta / 4;
    for (let j = 0; j < this.width; j++) this.f32[t + j] = j < this.columns ? theta[j] : 0;
  }

  /** Runs `work(first, count)` over the rows from `from` to `to` in runs of `chunk`, a checkpoint before each. */
  private async ranges(
    from: number,
    to: number,
    chunk: number,
    checkpoint: (() => Promise<void>) | undefined,
    work: (first: number, count: number) => void,
  ): Promise<void> {
    for (let first = from; first < to; first += chunk) {
      await checkpoint?.();
      work(first, Math.min(chunk, to - first));
    }
  }

  /** The active rows for a pass at θ (at at.theta): the current set if θ is within its radius, else a new one. */
  private activeRowsAt(theta: ArrayLike<number>): ActiveRows {
    const current = this.active;
    if (current) {
      let d2 = 0;
      for (let j = 0; j < this.columns; j++) d2 += (theta[j] - current.theta[j]) ** 2;
      if (Math.sqrt(d2) <= current.radius) return current;
    }
    this.active = this.chooseActiveRows(Float64Array.from(theta));
    this.diceStats.rebuilds++;
    return this.active;
  }

  /**
   * The logits at θ of every row (one kernel sweep, ~2.5 ms for 327 680 × 52), then the rows
   * that could reach the unsaturated side of ±SATURATED_LOGIT within a radius moved to the front
   * of their class's part. The radius: the largest of RADII whose set holds at most twice the rows
   * unsaturated now plus 1/64 of all — a wider one is valid for more steps, a narrower one is
   * cheaper per pass.
   */
  private chooseActiveRows(theta: Float64Array): ActiveRows {
    const { rows, positives, kernels, f32, at } = this;
    const z = at.logits / 4;
    const r = at.norms / 4;
    if (!this.normsReady) {
      kernels.squaredNorms(this.rowAddress(0), rows, at.norms);
      for (let i = 0; i < rows; i++) f32[r + i] = Math.sqrt(f32[r + i]);
      this.normsReady = true;
    }
    kernels.logits(this.rowAddress(0), rows, at.theta, at.logits);
    // counts[k]: saturated rows whose margin (|z| − SATURATED_LOGIT)/‖a‖ is in [RADII[k], RADII[k + 1]), estimated
    // from every HISTOGRAM_STRIDE-th row (the radius needs no more; all of them took ~7 ms of CPU a choice, as much
    // as the logits).
    const counts = new Float64Array(RADII.length);
    let unsaturated = 0;
    for (let i = 0; i < rows; i += HISTOGRAM_STRIDE) {
      const t = (i < positives ? f32[z + i] : -f32[z + i]) - SATURATED_LOGIT;
      const m = t / f32[r + i];
      if (m >= RADII[0]) counts[radiusBin(m)] += HISTOGRAM_STRIDE;
      else unsaturated += HISTOGRAM_STRIDE;
    }
    // A radius past every saturated row's margin would skip nothing: the smallest then, so that the next pass
    // looks again.
    const budget = Math.min(2 * unsaturated + rows / 64, rows - 1);
    let radius = RADII[0];
    for (let k = 0, active = unsaturated; k < RADII.length && active <= budget; active += counts[k++])
      radius = RADII[k];
    const keep = (sign: number) => (i: number) => sign * f32[z + i] - SATURATED_LOGIT <= radius * f32[r + i];
    return {
      theta,
      radius,
      positives: this.partition(0, positives, keep(1)),
      negatives: this.partition(positives, rows, keep(-1)),
    };
  }

  /** Moves the rows of [from, to) that `keep` keeps to its front (with their logits and norms); returns how many. */
  private partition(from: number, to: number, keep: (i: number) => boolean): number {
    let i = from;
    let j = to - 1;
    for (;;) {
      while (i <= j && keep(i)) i++;
      while (i <= j && !keep(j)) j--;
      if (i > j) return i - from;
      this.swapRows(i, j);
      i++;
      j--;
    }
  }

  /** Swaps two rows (through the scratch block, free between passes), their logits and norms. */
  private swapRows(i: number, j: number): void {
    const { f32, width, at } = this;
    const a = this.rowAddress(i) / 4;
    const b = this.rowAddress(j) / 4;
    const temp = at.scratch / 4;
    f32.copyWithin(temp, a, a + width);
    f32.copyWithin(a, b, b + width);
    f32.copyWithin(b, temp, temp + width);
    for (const base of [at.logits / 4, at.norms / 4]) {
      const t = f32[base + i];
      f32[base + i] = f32[base + j];
      f32[base + j] = t;
    }
  }

  /**
   * The rows the head at θ calls the class (logit > cut, in float32 as the passes compute it), and
   * how many of those are the class's: training-dice.ts's counts. One logits sweep.
   */
  thresholdCounts(theta: ArrayLike<number>, cut: number): { intersection: number; predicted: number } {
    this.checkReady(theta);
    const { rows, positives, kernels, f32, at } = this;
    kernels.logits(this.rowAddress(0), rows, at.theta, at.logits);
    // The lean passes' active rows were chosen with the logits this overwrites: the next pass chooses again.
    this.active = undefined;
    const z = at.logits / 4;
    let intersection = 0;
    let predicted = 0;
    for (let i = 0; i < rows; i++) {
      if (f32[z + i] > cut) {
        predicted++;
        if (i < positives) intersection++;
      }
    }
    return { intersection, predicted };
  }

  /** The N of every mean (as SupportMatrix names it). */
  get labelled(): number {
    return this.rows;
  }

  private rowAddress(i: number): number {
    return this.at.matrix + 4 * i * this.width;
  }

  /**
   * F = (1/N) Σ [softplus(z) − t z] + (α/2)‖w‖², its gradient and optionally its Hessian
   * (logistic-regression.ts's logisticPass, the same formulas): one kernel pass per class for
   * F and ∇F (it leaves σ(z)σ(−z) per row), the Gram kernel for the Hessian. Measured on 5 shots ×
   * C' = 50 (CPU time, this 2-core EPYC): the per-pixel terms in float64 JavaScript cost ~10 ms
   * a pass against ~2.5 ms for the logits; vectorised in the kernel they cost nearly nothing.
   */
  async logisticPass(
    theta: ArrayLike<number>,
    l2: number,
    withHessian: boolean,
    options: { chunkRows?: number; checkpoint?: () => Promise<void> } = {},
  ): Promise<LogisticValue> {
    this.checkReady(theta);
    const { rows, positives, width, columns: d, kernels, f64, at } = this;
    const chunk = options.chunkRows ?? 65536;
    const o = at.out / 8;
    f64.fill(0, o, o + 1 + width);
    if (withHessian) f64.fill(0, at.hessian / 8, at.hessian / 8 + width * width);
    const pass = (from: number, to: number, target: number) =>
      this.ranges(from, to, chunk, options.checkpoint, (first, count) => {
        kernels.logistic(this.rowAddress(first), count, at.theta, target, at.weight + 4 * first, at.scratch, at.out);
        if (withHessian) kernels.gram(this.rowAddress(first), count, at.weight + 4 * first, at.scratch, at.hessian);
      });
    // The class's rows first: a range that ends mid-group zeroes the next 3 weights, which the
    // background's pass then writes.
    await pass(0, positives, 1);
    await pass(positives, rows, 0);
    const lossSum = f64[o];
    const n = rows;
    const g = new Float64Array(d);
    let penalty = 0;
    for (let j = 0; j < d; j++) g[j] = f64[o + 1 + j] / n;
    for (let j = 0; j < d - 1; j++) {
      g[j] += l2 * theta[j];
      penalty += theta[j] * theta[j];
    }
    this.lastLogistic = { l2, chunk, checkpoint: options.checkpoint };
    const h = withHessian ? this.logisticHessian(l2) : undefined;
    return { f: lossSum / n + 0.5 * l2 * penalty, g, h };
  }

  /** What the last logisticPass left for hessianOfLastPass: its σ(z)σ(−z) per row are in `at.weight`. */
  private lastLogistic: { l2: number; chunk: number; checkpoint?: () => Promise<void> } | undefined;

  /**
   * ∇²F at the θ of the last logisticPass (made without its Hessian), from the row weights that
   * pass left: the same Gram sweeps in the same order as a pass with the Hessian, so the same
   * float64 sums, bit for bit. Newton then needs no Hessian for a trial step it rejects
   * (logistic-regression.ts; 2 of 13 on the sample data).
   */
  async hessianOfLastPass(): Promise<Float64Array> {
    const last = this.lastLogistic;
    if (!last) throw new Error('hessianOfLastPass needs a logisticPass before it');
    const { rows, positives, width, kernels, f64, at } = this;
    f64.fill(0, at.hessian / 8, at.hessian / 8 + width * width);
    const gram = (from: number, to: number) =>
      this.ranges(from, to, last.chunk, last.checkpoint, (first, count) =>
        kernels.gram(this.rowAddress(first), count, at.weight + 4 * first, at.scratch, at.hessian),
      );
    await gram(0, positives);
    await gram(positives, rows);
    return this.logisticHessian(last.l2);
  }

  /** The Hessian the Gram sweeps left in `at.hessian` (upper triangle), mirrored, over N, plus αI_w. */
  private logisticHessian(l2: number): Float64Array {
    const { columns: d, width, f64, at } = this;
    const n = this.rows;
    const h = new Float64Array(d * d);
    const o = at.hessian / 8;
    // The kernels write the upper triangle (k ≥ j); mirror it.
    for (let j = 0; j < d; j++) {
      for (let k = j; k < d; k++) {
        const v = f64[o + j * width + k] / n;
        h[j * d + k] = v;
        h[k * d + j] = v;
      }
    }
    for (let j = 0; j < d - 1; j++) h[j * d + j] += l2;
    return h;
  }

  /**
   * L = 1 − (2 Σ p t + ε)/(Σ p + Σ t + ε) + λ‖w‖₂ and its gradient (dice-objective.ts's
   * dicePass, the same formulas): Σ p·t and Aᵀ(s ⊙ t) are the sums over the class's rows.
   *
   * With `skipSaturated`, over the active rows only (chooseActiveRows): the rows left out add p = 1
   * (class) or nothing, to float32 precision (SATURATED_LOGIT). Measured on 5 sample shots × C' = 50
   * (BFGS from the logistic solution, 143 passes): 20.8 % of the rows read, the passes' CPU 1.0 s →
   * 0.57–0.75 s at a load of 12–22; each rebuild of the choice costs 11–16 ms (30 of them).
   */
  async dicePass(
    theta: ArrayLike<number>,
    options: DiceObjectiveOptions & { chunkRows?: number; checkpoint?: () => Promise<void>; skipSaturated?: boolean },
  ): Promise<DiceValue> {
    this.checkReady(theta);
    const { lambda, epsilon = DICE_EPSILON } = options;
    const { rows, positives, width, columns: d, kernels, f64, at } = this;
    const chunk = options.chunkRows ?? 65536;
    const o = at.out / 8;
    const pass = async (from: number, to: number): Promise<Float64Array> => {
      f64.fill(0, o, o + 1 + width);
      await this.ranges(from, to, chunk, options.checkpoint, (first, count) =>
        kernels.dice(this.rowAddress(first), count, at.theta, at.scratch, at.out),
      );
      return f64.slice(o, o + 1 + d);
    };
    let [posEnd, negEnd] = [positives, rows];
    if (options.skipSaturated) {
      const active = this.activeRowsAt(theta);
      posEnd = active.positives;
      negEnd = positives + active.negatives;
    }
    const pos = await pass(0, posEnd);
    const neg = await pass(positives, negEnd);
    // Saturated class rows: p = 1 each.
    pos[0] += positives - posEnd;
    this.diceStats.passes++;
    this.diceStats.rows += posEnd + negEnd - positives;
    const sums: DiceSums = { intersection: pos[0], predicted: pos[0] + neg[0], target: positives };
    const { a, b } = diceGradient(sums, epsilon);
    const g = new Float64Array(d);
    for (let j = 0; j < d; j++) g[j] = a * pos[1 + j] + b * (pos[1 + j] + neg[1 + j]);
    let norm = 0;
    for (let j = 0; j < d - 1; j++) norm += theta[j] * theta[j];
    norm = Math.sqrt(norm);
    if (norm > 0) for (let j = 0; j < d - 1; j++) g[j] += (lambda * theta[j]) / norm;
    const dice = diceLoss(sums, epsilon);
    return { f: dice + lambda * norm, g, dice, penalty: lambda * norm, sums };
  }
}
