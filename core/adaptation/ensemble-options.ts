// TF-free (as head.ts): the worker protocol and the plugin's types name these.

export interface EnsembleOptions {
  /** E, the members (1 … MAX_ENSEMBLE_MEMBERS). */
  readonly members: number;
  /** Seed of the resamples. */
  readonly seed: number;
  /** BFGS steps each member may take from the head's θ. */
  readonly maxIterations: number;
}

/**
 * E = 6: the standard deviation of 6 draws is within ±30 % of the spread's own (its relative
 * error ≈ 1/√(2(E − 1))), enough to tell doubt from agreement, and each member is one more
 * weighted sum of the maps per pixel of every tile (25 multiply-adds per extractor, against
 * ~3 400 for its forward: 6 members add ~4 % to a tile). 40 steps: the members' BFGS on the
 * sample data (5 shots, 3 extractors) moved less than 1e-3 in ‖Δθ‖ after ~30.
 */
export const ENSEMBLE_DEFAULTS: EnsembleOptions = { members: 6, seed: 1, maxIterations: 40 };

/** After each member of an ensemble fit. */
export interface EnsembleProgress {
  readonly phase: 'ensemble';
  readonly done: number;
  readonly total: number;
}
