import type { DiceSums } from '../math/dice.js';

/**
 * What one pass of each fitting objective returns, and the Dice objective's options: apart from
 * logistic-regression.ts and dice-objective.ts (which import TF.js for the 'tfjs' engine) so that
 * support-rows.ts — and with it the adapt options in the package's public types — need no TF.js
 * types: a host app's tsc would otherwise check TF.js's own declarations, which fail under a
 * strict host config (readme-snippets.node.test.ts: "the package types compile in a host app").
 */

/** Logistic regression: loss, gradient and, when asked, Hessian. */
export interface LogisticValue {
  readonly f: number;
  readonly g: Float64Array;
  /** Row-major D × D, when asked for. */
  readonly h?: Float64Array;
}

export interface DiceObjectiveOptions {
  /** λ, the weight of ‖w‖₂. */
  readonly lambda: number;
  /** ε of the soft Dice (dice.ts's default: 1). */
  readonly epsilon?: number;
}

export interface DiceValue {
  /** Dice loss + penalty. */
  readonly f: number;
  readonly g: Float64Array;
  /** The soft-Dice part alone. */
  readonly dice: number;
  /** λ‖w‖₂. */
  readonly penalty: number;
  readonly sums: DiceSums;
}

/**
 * The head's Dice on its own support set: the labelled support pixels it calls the class at its
 * threshold (p > t, as the mask layer draws) against their labels, 2|P ∩ T| / (|P| + |T|).
 *
 * A *training-set* figure: the pixels the head was fitted to, so it says how well the linear head
 * can separate what the user painted (low: the class is not linearly separable in these features,
 * or the labels contradict each other), not how well it does elsewhere. Computed where the fit
 * already holds the standardised rows, at the θ it returns: one logits sweep (~2.5 ms for
 * 327 680 rows × 52 with the kernels, support-rows.ts), no feature computed again.
 */
export interface TrainingDice {
  /** In [0, 1]; 1 when neither the labels nor the head have a class pixel. */
  readonly dice: number;
  /** The head's threshold it was counted at. */
  readonly threshold: number;
  /** Labelled pixels of the class called the class. */
  readonly intersection: number;
  /** Labelled pixels called the class. */
  readonly predicted: number;
  /** Labelled pixels of the class. */
  readonly target: number;
}
