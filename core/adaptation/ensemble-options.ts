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
 * ~3 400 for its forward: ~4 % by count). Measured by bench:ensemble (5 sample shots, 3
 * extractors, wasm, load ~23–27 on 2 cores, medians of 3 runs), a 762² whole-tile forward took
 * 30 % longer with 6 members and the uncertainty than the head alone (16.2 s against 12.4 s,
 * alternated), more than the count says. 40 steps is a cost cap, not convergence: the members'
 * W moves ~0.99 ‖W‖ from the head's in 40 steps and is still 0.32 ‖W‖ (30 steps), 0.20 ‖W‖ (40)
 * from where 80 steps take it; the fit of all 6 took 8.3 s against 43 s for the head's adapt
 * (0.19×). So the members are the head's refits stopped after 40 steps, warm-started at it, not
 * their resamples' optima.
 */
export const ENSEMBLE_DEFAULTS: EnsembleOptions = { members: 6, seed: 1, maxIterations: 40 };

/** After each member of an ensemble fit. */
export interface EnsembleProgress {
  readonly phase: 'ensemble';
  readonly done: number;
  readonly total: number;
}
