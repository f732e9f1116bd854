import * as tf from '@tensorflow/tfjs';
import { AdaptError, cooperativeCheckpoint, throwIfAborted } from './adapt-error.js';
import { bfgs, type BfgsStop } from './bfgs.js';
import { spdInverse } from '../math/dense-linear-algebra.js';
import { dicePass, type DiceValue } from './dice-objective.js';
import { logitOf, matrixThresholdCounts, trainingDice } from './training-dice.js';
import type { TrainingDice } from './objective-values.js';
import { extractorSignature, type ExtractorSet } from '../msd/extractor-signature.js';
import { openFeatureExtractor } from '../msd/feature-extractor.js';
import { foldStandardisation, type FeatureStats } from './feature-standardisation.js';
import { supportFeatureStats } from './feature-stats.js';
import type { Head } from './head.js';
import { fitLogisticRegression, type LogisticProblem } from './logistic-regression.js';
import type { LogisticStop } from './logistic-stop.js';
import { GROUP } from './pixel-reductions.js';
import { extractSupportFeatures, type PixelBlock } from './support-features.js';
import { checkSupport, type SupportCounts, type SupportPatch } from './support-patch.js';
import { DEFAULT_CHUNK_ROWS, SupportMatrix } from './support-matrix.js';
import {
  checkPatchFeatures,
  copyPatchFeatures,
  labelledPixels,
  supportFeatureWriter,
  type PatchFeatures,
  type SupportFeatureChoice,
  type SupportFeatureKind,
  type SupportFeatureWriter,
} from './support-row-features.js';
import { SupportRows } from './support-rows.js';
import type { SupportKernels } from './support-kernels.js';
import { ensembleBasis, type EnsembleBasis } from './head-ensemble.js';

/**
 * Few-shot adaptation (docs/ARCHITECTURE.md#few-shot-adaptation): from K annotated support patches, fit
 * the perceptron ŷ = σ(b + g(x)·W) on the concatenated feature maps of the extractors.
 *
 * 1. Features of every support patch: by the MSD engine (WebAssembly SIMD) on the wasm and cpu
 *    backends, by TF.js on the GPU ones, written into one float32 row per labelled pixel
 *    (support-row-features.ts, support-rows.ts).
 * 2. Standardise them over the labelled pixels (support-rows.ts; feature-stats.ts's rules).
 * 3. L2-regularised logistic regression by Newton's method to convergence (logistic-regression.ts).
 * 4. BFGS on soft Dice + λ‖w‖₂ from the logistic solution (dice-objective.ts, bfgs.ts), until
 *    ‖∇‖₂ < gradientTolerance or the iteration cap.
 * 5. Fold the standardisation into W and b (prediction needs no extra pass).
 *
 * Every pass over the pixels is a tight float32 loop with float64 sums (support-kernels.ts:
 * WebAssembly SIMD where the platform has it); the optimisers run in float64.
 *
 * `engine: 'tfjs'` runs the previous implementation instead, every step on the TF.js backend
 * (support-features.ts, feature-stats.ts, support-matrix.ts, chunked passes with grouped sums):
 * the same mathematics, kept to compare with (tools/bench-adapt.ts prints both). Measured on
 * this project's 2-core EPYC (shared, so noisy), 5 shots of the sample data, wasm, medians of 3:
 * 2 depth-25 extractors 1.41 s (features 0.28, standardise 0.01, logistic 0.40, BFGS 0.72 for
 * 141 steps) against 18.4 s, 13×; 3 extractors 2.9 s against 25.2 s, 8.5×. The heads differ by
 * ‖ΔW‖/‖W‖ = 4.7e-5 and 2.8e-4 (float32 rounding of features and logits times the problem's
 * conditioning; the same BFGS step counts).
 */

export type { SupportPatch } from './support-patch.js';

/**
 * 'kernels': float32 support rows and WebAssembly SIMD passes (support-rows.ts); 'tfjs': the
 * earlier implementation, every pass on the TF.js backend (support-matrix.ts).
 */
export type AdaptEngine = 'kernels' | 'tfjs';

export interface AdaptOptions {
  readonly engine: AdaptEngine;
  /**
   * Who computes the support features on the 'kernels' engine: 'auto' is the MSD engine on the
   * wasm and cpu backends (~5× TF.js wasm per patch) and TF.js on webgpu and webgl.
   */
  readonly features: SupportFeatureChoice;
  /** α of the logistic phase's (α/2)‖w‖² (on the mean cross-entropy, standardised w). */
  readonly l2: number;
  /** λ of the Dice phase's λ‖w‖₂ (Euclidean norm, not squared; standardised w; bias free). */
  readonly lambda: number;
  /** BFGS stops when ‖∇‖₂ falls below this (docs/ARCHITECTURE.md#few-shot-adaptation: 1e-5). */
  readonly gradientTolerance: number;
  readonly maxBfgsIterations: number;
  readonly maxNewtonIterations: number;
  /** Newton stops when half its squared decrement was below this (logistic-regression.ts). */
  readonly newtonTolerance: number;
  /**
   * On the 'kernels' engine, leave out work whose result is not used or not measurable: Newton's
   * Hessian for a trial step it rejects, and the rows of a Dice pass whose σ is saturated (their
   * terms are below float32 rounding: support-rows.ts's SATURATED_LOGIT). The same fit to rounding;
   * false runs every pass over every row, the implementation before (tools/bench-adapt.ts compares).
   */
  readonly lean: boolean;
  /** Run phase 2. Without it the head is the logistic one. */
  readonly refine: boolean;
  /** The head's probability threshold. */
  readonly threshold: number;
  /**
   * Rows (pixels) per chunk of the passes, with an abort check between chunks; on the 'tfjs'
   * engine it also bounds their temporary memory (~ rows · (C'+1) · 8 bytes).
   */
  readonly chunkRows: number;
  /** Extra head metadata, e.g. { className: 'plasma' }. */
  readonly metadata: Record<string, unknown>;
}

/**
 * λ = 1e-4 from a small sweep on the sample data (5 shots, 4 classes × 2 support sets, CoNSeP
 * extractors, Dice pooled over 16 test patches): mean test Dice 0.635 logistic only; after BFGS
 * 0.649 (λ = 1e-4), 0.640 (1e-3), 0.623 (1e-2). The price is iterations: 79–229 to ‖∇‖ < 1e-5 at
 * 1e-4, 36–59 at 1e-3. α = 1e-4 was not tuned: the logistic fit is only BFGS's starting point.
 */
export const ADAPT_DEFAULTS: AdaptOptions = {
  engine: 'kernels',
  features: 'auto',
  l2: 1e-4,
  lambda: 1e-4,
  gradientTolerance: 1e-5,
  maxBfgsIterations: 300,
  maxNewtonIterations: 50,
  newtonTolerance: 1e-10,
  lean: true,
  refine: true,
  threshold: 0.5,
  chunkRows: DEFAULT_CHUNK_ROWS,
  metadata: {},
};

export type AdaptProgress =
  | { readonly phase: 'features'; readonly done: number; readonly total: number }
  | { readonly phase: 'logistic'; readonly iteration: number; readonly loss: number; readonly gradientNorm: number }
  | { readonly phase: 'bfgs'; readonly iteration: number; readonly loss: number; readonly gradientNorm: number };

export interface AdaptControl {
  /** Aborting rejects adapt() with an AbortError (AdaptError 'aborted') within about one pass. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: AdaptProgress) => void;
  /**
   * Features of some patches computed already (supportPatchFeatures, e.g. by other workers), by
   * patch index; the others are computed here. Only for the 'kernels' engine.
   */
  readonly features?: readonly (PatchFeatures | null | undefined)[];
  /**
   * Given, on the 'kernels' engine, what the head's ensemble is fitted from later
   * (head-ensemble.ts's basis: a subsample of the standardised support rows, θ, the inverse
   * Hessian), just before adapt() resolves: the caller keeps it for a follow-up fitHeadEnsemble.
   */
  readonly onEnsembleBasis?: (basis: EnsembleBasis) => void;
}

export interface AdaptReport {
  readonly backend: string;
  /** What ran: the engine, who computed the features, and the passes' kernels ('tfjs' on that engine). */
  readonly engine: {
    readonly fit: AdaptEngine;
    readonly features: SupportFeatureKind;
    readonly kernels: SupportKernels['kind'] | 'tfjs';
  };
  readonly support: SupportCounts;
  /** C'. */
  readonly features: number;
  readonly logistic: {
    readonly iterations: number;
    readonly passes: number;
    /** Mean cross-entropy + (α/2)‖w‖² at the solution. */
    readonly loss: number;
    readonly gradientNorm: number;
    readonly stop: LogisticStop;
    /** Soft-Dice loss of the logistic solution on the support (before refinement). */
    readonly diceLoss: number;
  };
  /** Absent when refine is false. */
  readonly bfgs?: {
    readonly iterations: number;
    readonly passes: number;
    /** Soft Dice + λ‖w‖₂ at the solution. */
    readonly loss: number;
    readonly diceLoss: number;
    readonly penalty: number;
    readonly gradientNorm: number;
    /**
     * 'gradient' = converged (‖∇‖ < gradientTolerance); 'max-iterations' = the cap; 'line-search' = flat to
     * precision.
     */
    readonly stop: BfgsStop;
    readonly approximateWolfeSteps: number;
    /** With `lean`: the share of the rows a Dice pass read (mean) and how often its active rows were chosen. */
    readonly activeRows?: { readonly share: number; readonly rebuilds: number };
  };
  /** The head's Dice on its own support pixels at its threshold (training-set Dice, training-dice.ts). */
  readonly trainingDice: TrainingDice;
  /**
   * Set by a worker pool that had the features computed by several workers at once: how many,
   * and how long that took (included in timings.features and timings.total).
   */
  readonly distributed?: {
    readonly workers: number;
    readonly features: number;
    /** Patches whose worker died before answering: computed by the fitting worker instead. */
    readonly lost: number;
  };
  /** Milliseconds per phase. */
  readonly timings: {
    readonly features: number;
    readonly standardise: number;
    readonly logistic: number;
    readonly bfgs: number;
    readonly total: number;
  };
  readonly regulariser: string;
}

export interface AdaptResult {
  /** The refined head (or the logistic one when refine is false). */
  readonly head: Head;
  /** The phase-1 solution, for comparison (the paper reports both). */
  readonly logisticHead: Head;
  readonly report: AdaptReport;
}

/**
 * Relative error of the Dice objective as computed: each logit is a float32 dot product over C'
 * features whose terms cancel (the standardised features are strongly correlated), and its
 * rounding changes erratically with θ. Measured on the sample data, 5 shots: f jitters by 1e-8 to
 * 3e-8 at f ≈ 0.29. Below this the line search judges a step by its slope (approximate Wolfe,
 * bfgs.ts); 1e-6·|f| is Hager & Zhang's default for the same purpose.
 */
const DICE_F_RELATIVE_TOLERANCE = 1e-6;

function checkOptions(o: AdaptOptions): void {
  const bad = (name: string, value: unknown, rule: string) =>
    new AdaptError('bad-options', `${name} is ${JSON.stringify(value)}; it must be ${rule}`);
  if (!(o.l2 >= 0 && Number.isFinite(o.l2))) throw bad('l2', o.l2, 'a finite number ≥ 0');
  if (!(o.lambda >= 0 && Number.isFinite(o.lambda))) throw bad('lambda', o.lambda, 'a finite number ≥ 0');
  if (!(o.gradientTolerance > 0)) throw bad('gradientTolerance', o.gradientTolerance, '> 0');
  if (!(Number.isInteger(o.maxBfgsIterations) && o.maxBfgsIterations >= 0))
    throw bad('maxBfgsIterations', o.maxBfgsIterations, 'an integer ≥ 0');
  if (!(Number.isInteger(o.maxNewtonIterations) && o.maxNewtonIterations >= 1))
    throw bad('maxNewtonIterations', o.maxNewtonIterations, 'an integer ≥ 1');
  if (!(o.newtonTolerance > 0)) throw bad('newtonTolerance', o.newtonTolerance, '> 0');
  if (!(o.threshold > 0 && o.threshold < 1)) throw bad('threshold', o.threshold, 'strictly between 0 and 1');
  if (!(Number.isInteger(o.chunkRows) && o.chunkRows >= GROUP && o.chunkRows % GROUP === 0))
    throw bad('chunkRows', o.chunkRows, `a positive multiple of ${GROUP}`);
  if (o.engine !== 'kernels' && o.engine !== 'tfjs') throw bad('engine', o.engine, "'kernels' or 'tfjs'");
  if (!['auto', 'msd', 'tfjs'].includes(o.features)) throw bad('features', o.features, "'auto', 'msd' or 'tfjs'");
}

/** The support, standardised, as both phases see it. */
interface Prepared {
  readonly stats: FeatureStats;
  readonly logistic: LogisticProblem | SupportMatrix;
  readonly dice: (theta: ArrayLike<number>) => Promise<DiceValue>;
  readonly features: SupportFeatureKind;
  readonly kernels: SupportKernels['kind'] | 'tfjs';
  /** Labelled pixels called the class at logit > cut, and those of the class (training-dice.ts). */
  readonly thresholdCounts: (
    theta: ArrayLike<number>,
    cut: number,
  ) => Promise<{ intersection: number; predicted: number }>;
  /** The Dice passes' active rows so far (lean kernels engine). */
  readonly activeRows?: () => { share: number; rebuilds: number };
  /** performance.now() when the features were done. */
  readonly featuresDone: number;
  /** The standardised rows ('kernels' engine): what an ensemble basis is drawn from. */
  readonly rows?: SupportRows;
  dispose(): void;
}

type Checkpoint = () => Promise<void>;
type FeatureProgress = (done: number) => Promise<void>;

/** The earlier implementation: TF.js features, statistics and chunked passes. */
async function prepareTfjs(
  support: readonly SupportPatch[],
  extractors: ExtractorSet,
  o: AdaptOptions,
  checkpoint: Checkpoint,
  onFeatures: FeatureProgress,
): Promise<Prepared> {
  const extractor = openFeatureExtractor(extractors);
  let blocks: PixelBlock[] = [];
  let matrix: SupportMatrix | undefined;
  try {
    blocks = await extractSupportFeatures(support, extractor, onFeatures);
    extractor.dispose();
    const featuresDone = performance.now();
    const stats = await supportFeatureStats(blocks);
    await checkpoint();
    matrix = await SupportMatrix.build(blocks, stats, { chunkRows: o.chunkRows, checkpoint, consume: true });
    blocks = [];
    const m = matrix;
    return {
      stats,
      logistic: m,
      dice: (theta) => dicePass(m, theta, { lambda: o.lambda }, checkpoint),
      thresholdCounts: (theta, cut) => matrixThresholdCounts(m, theta, cut, checkpoint),
      features: 'tfjs',
      kernels: 'tfjs',
      featuresDone,
      dispose: () => m.dispose(),
    };
  } catch (err) {
    matrix?.dispose();
    throw err;
  } finally {
    extractor.dispose();
    tf.dispose(blocks.map((b) => b.features));
  }
}

/** Features into float32 rows (positives first), standardised in place; passes by support-kernels.ts. */
async function prepareRows(
  support: readonly SupportPatch[],
  extractors: ExtractorSet,
  counts: SupportCounts,
  o: AdaptOptions,
  checkpoint: Checkpoint,
  onFeatures: FeatureProgress,
  precomputed: AdaptControl['features'],
): Promise<Prepared> {
  const channels = extractorSignature(extractors).reduce((sum, e) => sum + e.depth, 0);
  if (channels === 0) throw new AdaptError('no-extractors', 'no feature extractors were given');
  // Made only if some patch has no features given.
  let writer: SupportFeatureWriter | undefined;
  let kind: SupportFeatureKind | undefined;
  try {
    const rows = new SupportRows(channels, counts.positive, counts.negative);
    let positive = 0;
    let negative = counts.positive;
    for (let k = 0; k < support.length; k++) {
      const pixels = labelledPixels(support[k].mask);
      const target = { out: rows.matrix, stride: rows.width, positive, negative };
      const given = precomputed?.[k];
      if (given) {
        checkPatchFeatures(given, pixels, channels, k);
        copyPatchFeatures(given, target);
        kind ??= given.kind;
      } else {
        writer ??= supportFeatureWriter(extractors, o.features);
        await writer.write(support[k], pixels, target);
        kind = writer.kind;
      }
      positive += pixels.positive.length;
      negative += pixels.negative.length;
      await onFeatures(k + 1);
    }
    const featuresDone = performance.now();
    const stats = rows.standardise();
    const passOptions = { chunkRows: o.chunkRows, checkpoint };
    return {
      stats,
      logistic: {
        columns: rows.columns,
        labelled: rows.labelled,
        positives: rows.positives,
        logisticPass: (theta, l2, withHessian) => rows.logisticPass(theta, l2, withHessian, passOptions),
        hessianOfLastPass: () => rows.hessianOfLastPass(),
      },
      dice: (theta) => rows.dicePass(theta, { lambda: o.lambda, ...passOptions, skipSaturated: o.lean }),
      thresholdCounts: async (theta, cut) => rows.thresholdCounts(theta, cut),
      activeRows: o.lean
        ? () => {
            const s = rows.diceStats;
            return { share: s.rows / Math.max(1, s.passes * rows.rows), rebuilds: s.rebuilds };
          }
        : undefined,
      features: kind!,
      kernels: rows.kernels.kind,
      featuresDone,
      rows,
      dispose: () => undefined,
    };
  } finally {
    writer?.dispose();
  }
}

/** Fits a head to the support patches. Leaves no tensors behind, whatever happens. */
export async function adapt(
  support: readonly SupportPatch[],
  extractors: ExtractorSet,
  options: Partial<AdaptOptions> = {},
  control: AdaptControl = {},
): Promise<AdaptResult> {
  const o: AdaptOptions = { ...ADAPT_DEFAULTS, ...options };
  checkOptions(o);
  const { signal, onProgress } = control;
  throwIfAborted(signal);
  if (control.features && o.engine !== 'kernels')
    throw new AdaptError('bad-options', 'precomputed features need the kernels engine');
  if (control.features && control.features.length !== support.length)
    throw new AdaptError(
      'bad-options',
      `features are given for ${control.features.length} patches, the support set has ${support.length}`,
    );
  const counts = checkSupport(support);
  const checkpoint = cooperativeCheckpoint(signal);
  const t0 = performance.now();

  const signature = extractorSignature(extractors);
  const onFeatures = async (done: number) => {
    onProgress?.({ phase: 'features', done, total: support.length });
    await checkpoint();
  };
  const prepared =
    o.engine === 'tfjs'
      ? await prepareTfjs(support, extractors, o, checkpoint, onFeatures)
      : await prepareRows(support, extractors, counts, o, checkpoint, onFeatures, control.features);
  try {
    const t1 = prepared.featuresDone;
    const stats = prepared.stats;
    const columns = stats.mean.length + 1;
    await checkpoint();
    const t2 = performance.now();

    const logistic = await fitLogisticRegression(prepared.logistic, {
      l2: o.l2,
      maxIterations: o.maxNewtonIterations,
      tolerance: o.newtonTolerance,
      lazyHessian: o.lean,
      checkpoint,
      onIteration: ({ iteration, loss, gradientNorm }) =>
        onProgress?.({ phase: 'logistic', iteration, loss, gradientNorm }),
    });
    let passes = 0;
    const evaluateDice = async (theta: ArrayLike<number>): Promise<DiceValue> => {
      passes++;
      const value = await prepared.dice(theta);
      if (!Number.isFinite(value.f)) throw new AdaptError('not-finite', `the Dice objective is ${value.f}`);
      return value;
    };
    const atLogistic = await evaluateDice(logistic.theta);
    const t3 = performance.now();

    let theta = logistic.theta;
    let bfgsReport: AdaptReport['bfgs'];
    const inverseHessian = spdInverse(logistic.hessian, columns);
    if (o.refine) {
      // The logistic Hessian Aᵀ diag(p(1−p)) A/N + αI holds the features' correlations, which
      // make the Dice objective badly conditioned too: as BFGS's starting inverse Hessian it cut
      // the iterations to convergence 3 to 10× on the sample data (λ from 1e-4 to 1e-2). If it
      // cannot be inverted BFGS starts from the identity.
      const result = await bfgs(evaluateDice, logistic.theta, {
        gradientTolerance: o.gradientTolerance,
        maxIterations: o.maxBfgsIterations,
        initialValue: atLogistic,
        initialInverseHessian: inverseHessian,
        lineSearch: { fTolerance: DICE_F_RELATIVE_TOLERANCE * Math.abs(atLogistic.f) },
        onIteration: ({ iteration, f, gradientNorm }) =>
          onProgress?.({ phase: 'bfgs', iteration, loss: f, gradientNorm }),
      });
      theta = result.x;
      const final = result.value;
      bfgsReport = {
        iterations: result.iterations,
        passes,
        loss: result.f,
        diceLoss: final.dice,
        penalty: final.penalty,
        gradientNorm: result.gradientNorm,
        stop: result.stop,
        approximateWolfeSteps: result.approximateSteps,
        ...(prepared.activeRows ? { activeRows: prepared.activeRows() } : {}),
      };
    }
    const t4 = performance.now();
    const called = await prepared.thresholdCounts(theta, logitOf(o.threshold));
    const supportDice = trainingDice({ ...called, target: counts.positive }, o.threshold);

    const fitted = (theta: Float64Array, phase: string): Head => {
      const d = theta.length;
      const { W, b } = foldStandardisation(theta.subarray(0, d - 1), theta[d - 1], stats);
      if (W.some((v) => !Number.isFinite(v)) || !Number.isFinite(b))
        throw new AdaptError('not-finite', `the ${phase} solution is not finite`);
      return {
        W,
        b,
        featureStats: stats,
        threshold: o.threshold,
        metadata: {
          ...o.metadata,
          extractors: signature,
          ...('mpp' in extractors ? { mpp: extractors.mpp } : {}),
          fit: phase,
          shots: counts.patches,
          pixels: { positive: counts.positive, negative: counts.negative },
          l2: o.l2,
          ...(phase === 'logistic' ? {} : { lambda: o.lambda }),
        },
      };
    };
    const logisticHead = fitted(logistic.theta, 'logistic');
    const head = o.refine ? fitted(theta, 'logistic+bfgs') : logisticHead;
    if (control.onEnsembleBasis && prepared.rows) {
      const { lambda, gradientTolerance, chunkRows } = o;
      control.onEnsembleBasis(
        ensembleBasis(prepared.rows, { theta, stats, lambda, gradientTolerance, inverseHessian, chunkRows }),
      );
    }
    return {
      head,
      logisticHead,
      report: {
        backend: tf.getBackend(),
        engine: { fit: o.engine, features: prepared.features, kernels: prepared.kernels },
        support: counts,
        features: columns - 1,
        logistic: {
          iterations: logistic.iterations,
          passes: logistic.evaluations,
          loss: logistic.loss,
          gradientNorm: logistic.gradientNorm,
          stop: logistic.stop,
          diceLoss: atLogistic.dice,
        },
        bfgs: bfgsReport,
        trainingDice: supportDice,
        timings: { features: t1 - t0, standardise: t2 - t1, logistic: t3 - t2, bfgs: t4 - t3, total: t4 - t0 },
        regulariser:
          'logistic: (l2/2)·‖w‖₂²; Dice phase: lambda·‖w‖₂ (Euclidean norm, not squared); ' +
          'w = weights of the standardised features, bias not penalised',
      },
    };
  } finally {
    prepared.dispose();
  }
}
