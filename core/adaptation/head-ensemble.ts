import { AdaptError, cooperativeCheckpoint, throwIfAborted } from './adapt-error.js';
import { bfgs } from './bfgs.js';
import { foldStandardisation, type FeatureStats } from './feature-standardisation.js';
import { ENSEMBLE_VERSION, MAX_ENSEMBLE_MEMBERS, type HeadEnsemble } from './head.js';
import { SeededRandom } from '../math/seeded-random.js';
import type { SupportRows } from './support-rows.js';
import { ENSEMBLE_DEFAULTS, type EnsembleOptions, type EnsembleProgress } from './ensemble-options.js';

export { ENSEMBLE_DEFAULTS, type EnsembleOptions, type EnsembleProgress } from './ensemble-options.js';

/**
 * The head's ensemble (docs/ARCHITECTURE.md#uncertainty): E refits of the head on bootstrap
 * resamples of its labelled support pixels, whose disagreement says where the support does not
 * pin the head down (core/inference/uncertainty.ts turns it into the uncertainty layer).
 *
 * How it is fitted, and why:
 * - **After the head, not with it.** adapt() keeps a *basis* (ensembleBasis below): a seeded,
 *   class-stratified subsample of at most ENSEMBLE_BASIS_ROWS of its standardised support rows,
 *   the solution θ and the logistic Hessian's inverse it started BFGS from. Copying it costs a
 *   few ms; the head is delivered at once, and the members are fitted by a follow-up request
 *   (the worker's 'fit-ensemble') with progress and an abort, on that basis alone: the support's
 *   features are not computed again and the full rows (100 MB for 5 fully painted patches at
 *   C' = 75) are not kept.
 * - **A subsample basis.** Neighbouring pixels are nearly the same feature vector, so 32 768
 *   rows carry most of what 327 680 do; a resample of fewer rows spreads the members somewhat
 *   more than a full-size one would (m-out-of-n bootstrap), which errs towards showing doubt.
 * - **Stratified bootstrap.** Each member draws its class rows from the basis's class rows and
 *   its background rows from the background's, with replacement, as many of each as the basis
 *   has: the class balance, which the Dice objective is sensitive to, stays that of the support.
 * - **The same estimator, warm-started.** Each member minimises the head's own refinement
 *   objective (soft Dice + λ‖w‖₂ over the resample, dice-objective.ts) by BFGS from the head's θ,
 *   with the inverse logistic Hessian as its first inverse-Hessian estimate, for at most
 *   `maxIterations` steps. Starting at the head makes each member the head's nearest optimum on
 *   its resample (the objective is not convex: a cold start could land in another basin and
 *   show disagreement the support does not cause), and costs a fraction of the head's fit.
 * Cost, measured: see ENSEMBLE_DEFAULTS.
 */

/** Rows of the basis kept after a fit (float32: ~10 MB at C' = 75). */
export const ENSEMBLE_BASIS_ROWS = 32768;

/**
 * The basis's own subsample is drawn with this seed, so a support always gives the same basis;
 * the members' resamples use the ensemble's seed.
 */
const BASIS_SEED = 0x5eed;

/** As adapt.ts's DICE_F_RELATIVE_TOLERANCE: f's float32 jitter, below which the line search judges by slope. */
const DICE_F_RELATIVE_TOLERANCE = 1e-6;

/** What a fit leaves for its ensemble: see the file's comment. */
export interface EnsembleBasis {
  /** Standardised rows, class first (support-rows.ts). */
  readonly rows: SupportRows;
  /** The head's standardised θ = [w; b]. */
  readonly theta: Float64Array;
  readonly stats: FeatureStats;
  /** The head's λ and BFGS gradient tolerance. */
  readonly lambda: number;
  readonly gradientTolerance: number;
  /** Row-major D × D, or undefined (BFGS then starts from a scaled identity). */
  readonly inverseHessian?: Float64Array;
  readonly chunkRows?: number;
}

export interface EnsembleFitControl {
  /** Aborting rejects with an AbortError (AdaptError 'aborted') within about one pass. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: EnsembleProgress) => void;
}

/** `count` distinct integers of [from, from + n), ascending (partial Fisher–Yates). */
function distinct(from: number, n: number, count: number, random: SeededRandom): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => from + i);
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = from + i;
  for (let i = 0; i < count; i++) {
    const j = i + random.int(n - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return Array.from(pool.subarray(0, count)).sort((a, b) => a - b);
}

/**
 * The basis of a fit on `rows` (standardised): all of them when there are at most `maxRows`,
 * else a class-stratified subsample of that many (each class in proportion, at least one row of
 * each class the support has).
 */
export function ensembleBasis(
  rows: SupportRows,
  fit: Omit<EnsembleBasis, 'rows'>,
  maxRows = ENSEMBLE_BASIS_ROWS,
): EnsembleBasis {
  const n = rows.rows;
  const p = rows.positives;
  const take = Math.min(n, maxRows);
  let takePositive = Math.round((take * p) / Math.max(1, n));
  if (p > 0) takePositive = Math.max(1, takePositive);
  if (n - p > 0) takePositive = Math.min(takePositive, take - 1);
  const random = new SeededRandom(BASIS_SEED);
  const indices = [...distinct(0, p, takePositive, random), ...distinct(p, n - p, take - takePositive, random)];
  return { ...fit, rows: rows.resampled(indices, takePositive) };
}

/** Member k's generator: seeds apart by an odd 32-bit constant, so members do not share draws. */
const memberRandom = (seed: number, k: number) => new SeededRandom((seed + Math.imul(k + 1, 0x9e3779b1)) >>> 0);

/** E members fitted on stratified bootstrap resamples of the basis: see the file's comment. */
export async function fitHeadEnsemble(
  basis: EnsembleBasis,
  options: Partial<EnsembleOptions> = {},
  control: EnsembleFitControl = {},
): Promise<HeadEnsemble> {
  const o = { ...ENSEMBLE_DEFAULTS, ...options };
  if (!(Number.isInteger(o.members) && o.members >= 1 && o.members <= MAX_ENSEMBLE_MEMBERS))
    throw new AdaptError('bad-options', `members is ${o.members}; it must be an integer 1 … ${MAX_ENSEMBLE_MEMBERS}`);
  if (!(Number.isInteger(o.maxIterations) && o.maxIterations >= 0))
    throw new AdaptError('bad-options', `maxIterations is ${o.maxIterations}; it must be an integer ≥ 0`);
  if (!Number.isFinite(o.seed)) throw new AdaptError('bad-options', `seed is ${o.seed}; it must be a number`);
  const { signal, onProgress } = control;
  throwIfAborted(signal);
  const checkpoint = cooperativeCheckpoint(signal);
  const { rows, theta, stats, lambda, gradientTolerance, inverseHessian } = basis;
  const n = rows.rows;
  const p = rows.positives;
  const members: { W: number[]; b: number }[] = [];
  for (let k = 0; k < o.members; k++) {
    const random = memberRandom(o.seed, k);
    const indices = new Int32Array(n);
    for (let i = 0; i < p; i++) indices[i] = random.int(p);
    for (let i = p; i < n; i++) indices[i] = p + random.int(n - p);
    const resample = rows.resampled(indices, p);
    await checkpoint();
    const objective = async (x: ArrayLike<number>) => {
      const value = await resample.dicePass(x, { lambda, chunkRows: basis.chunkRows, checkpoint });
      if (!Number.isFinite(value.f)) throw new AdaptError('not-finite', `the Dice objective is ${value.f}`);
      return value;
    };
    const start = await objective(theta);
    const result = await bfgs(objective, theta, {
      gradientTolerance,
      maxIterations: o.maxIterations,
      initialValue: start,
      ...(inverseHessian ? { initialInverseHessian: inverseHessian } : {}),
      lineSearch: { fTolerance: DICE_F_RELATIVE_TOLERANCE * Math.abs(start.f) },
    });
    const d = result.x.length;
    const folded = foldStandardisation(result.x.subarray(0, d - 1), result.x[d - 1], stats);
    if (folded.W.some((v) => !Number.isFinite(v)) || !Number.isFinite(folded.b))
      throw new AdaptError('not-finite', `ensemble member ${k + 1} is not finite`);
    members.push(folded);
    onProgress?.({ phase: 'ensemble', done: k + 1, total: o.members });
  }
  return { version: ENSEMBLE_VERSION, method: 'bootstrap', seed: o.seed, rows: n, members };
}
