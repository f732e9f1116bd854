// Tf-free, apart from feature-stats.ts (which computes the stats with TF.js), so the head's type
// and the package's public types reach no TF.js types.

/**
 * Standardisation of the features over the labelled support pixels
 * (docs/ARCHITECTURE.md#few-shot-adaptation): the fit runs on z = (x − mean) / std, where every
 * feature has the same scale, so one regularisation strength and one starting step suit all of
 * them; then the scaling is folded back into the weights so that prediction uses the raw
 * features directly.
 */
export interface FeatureStats {
  readonly mean: readonly number[];
  /** The divisor used: the population standard deviation, or 1 for a constant feature. */
  readonly std: readonly number[];
}

/**
 * A feature whose spread is below this fraction of its magnitude is constant up to float32
 * rounding (MSD maps that are zero, or one bias value, over all support pixels). Dividing by
 * such a std would turn rounding noise into a unit-variance feature, so it is left unscaled.
 */
export const CONSTANT_FEATURE_RELATIVE_STD = 1e-6;

export function isConstantFeature(mean: number, std: number): boolean {
  return !(std > CONSTANT_FEATURE_RELATIVE_STD * Math.abs(mean)) || std === 0;
}

/**
 * Folds standardisation into a linear model: b + Σ w_j (x_j − μ_j) / σ_j = b' + Σ W_j x_j with
 * W_j = w_j / σ_j and b' = b − Σ W_j μ_j. Exact in float64.
 */
export function foldStandardisation(w: ArrayLike<number>, b: number, stats: FeatureStats): { W: number[]; b: number } {
  const W = Array.from(w, (v, j) => v / stats.std[j]);
  let bias = b;
  for (let j = 0; j < W.length; j++) bias -= W[j] * stats.mean[j];
  return { W, b: bias };
}
