import * as tf from '@tensorflow/tfjs';
import { partialSums, sumPartials } from './pixel-reductions.js';
import type { SupportMatrix } from './support-matrix.js';

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

/** The logit a probability threshold t corresponds to: σ(z) > t ⇔ z > ln(t / (1 − t)). */
export function logitOf(threshold: number): number {
  if (!(threshold > 0 && threshold < 1)) throw new RangeError(`the threshold must be in (0, 1), got ${threshold}`);
  return Math.log(threshold / (1 - threshold));
}

export function trainingDice(
  counts: { readonly intersection: number; readonly predicted: number; readonly target: number },
  threshold: number,
): TrainingDice {
  const { intersection, predicted, target } = counts;
  const dice = predicted + target === 0 ? 1 : (2 * intersection) / (predicted + target);
  return { dice, threshold, intersection, predicted, target };
}

/** The counts of trainingDice over a TF.js support matrix (adapt's 'tfjs' engine): one pass, z > cut per row. */
export async function matrixThresholdCounts(
  matrix: SupportMatrix,
  theta: ArrayLike<number>,
  cut: number,
  checkpoint?: () => Promise<void>,
): Promise<{ intersection: number; predicted: number }> {
  const { values, offsets, sizes } = await matrix.pass(
    theta,
    (c, z) => {
      const called = tf.mul(tf.cast(tf.greater(z, cut), 'float32'), c.weight) as tf.Tensor2D;
      return [partialSums([tf.mul(called, c.target) as tf.Tensor2D, called])];
    },
    checkpoint,
  );
  const totals = new Float64Array(2);
  for (let k = 0; k < matrix.chunks.length; k++) sumPartials(values, offsets[k], sizes[k], 2, totals);
  return { intersection: totals[0], predicted: totals[1] };
}
