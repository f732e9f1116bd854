import * as tf from '@tensorflow/tfjs';
import { partialSums, sumPartials } from './pixel-reductions.js';
import type { SupportMatrix } from './support-matrix.js';
import type { TrainingDice } from './objective-values.js';

export type { TrainingDice } from './objective-values.js';

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
