import * as tf from '@tensorflow/tfjs';
import { DICE_EPSILON, diceGradient, diceLoss, type DiceSums } from '../math/dice.js';
import { groupedColumnSums, partialSums, sumPartials } from './pixel-reductions.js';
import type { SupportMatrix } from './support-matrix.js';
import type { DiceObjectiveOptions, DiceValue } from './objective-values.js';

/**
 * Phase 2's objective (docs/ARCHITECTURE.md#few-shot-adaptation: "BFGS on soft-Dice loss + λ‖W‖₂"):
 *
 *   L(θ) = 1 − (2 Σ p_i t_i + ε) / (Σ p_i + Σ t_i + ε) + λ ‖w‖₂,   p_i = σ(a_i·θ),
 *
 * with the sums over all labelled support pixels pooled (dice.ts). The penalty is the Euclidean
 * norm itself, ‖w‖₂ — not its square — as docs/ARCHITECTURE.md#few-shot-adaptation writes it; it
 * applies to the weights of the standardised features, not to the bias. It is smooth wherever w ≠ 0,
 * which BFGS, starting from the logistic solution, never reaches; at w = 0 the zero subgradient is used.
 *
 * Gradient: dL/dp_i = α t_i + β (dice.ts's diceGradient) and dp_i/dθ = s_i a_i with
 * s_i = p_i (1 − p_i), so ∇L = α Aᵀ(s ⊙ t) + β Aᵀs + λ w/‖w‖ — the two products come from one
 * pass over the pixels (a grouped [2, pixels] × [pixels, D] product), because α and β depend on
 * the sums of the same pass only through scalars combined afterwards in float64.
 */

export type { DiceObjectiveOptions, DiceValue } from './objective-values.js';

/** One pass: L and ∇L at θ = [w; b]. `checkpoint` runs before each chunk (it may throw to cancel). */
export async function dicePass(
  matrix: SupportMatrix,
  theta: ArrayLike<number>,
  options: DiceObjectiveOptions,
  checkpoint?: () => Promise<void>,
): Promise<DiceValue> {
  const { lambda, epsilon = DICE_EPSILON } = options;
  const d = matrix.columns;
  const { values, offsets, sizes } = await matrix.pass(
    theta,
    (c, z) => {
      const p = tf.mul(tf.sigmoid(z), c.weight);
      const pt = tf.mul(p, c.target);
      // σ(z)·σ(−z) rather than p(1 − p): 1 − p has no digits left where p rounds to 1.
      const s = tf.mul(p, tf.sigmoid(tf.neg(z)));
      const sums = partialSums([pt, p] as tf.Tensor2D[]);
      const products = groupedColumnSums(c.a, [tf.mul(s, c.target), s] as tf.Tensor2D[], c.group);
      return [sums, products];
    },
    checkpoint,
  );
  const totals = new Float64Array(2);
  const gst = new Float64Array(d);
  const gs = new Float64Array(d);
  for (let k = 0; k < matrix.chunks.length; k++) {
    sumPartials(values, offsets[2 * k], sizes[2 * k], 2, totals);
    const o = offsets[2 * k + 1];
    for (let j = 0; j < d; j++) {
      gst[j] += values[o + j];
      gs[j] += values[o + d + j];
    }
  }
  const sums: DiceSums = { intersection: totals[0], predicted: totals[1], target: matrix.positives };
  const { a, b } = diceGradient(sums, epsilon);
  const g = new Float64Array(d);
  for (let j = 0; j < d; j++) g[j] = a * gst[j] + b * gs[j];
  let norm = 0;
  for (let j = 0; j < d - 1; j++) norm += theta[j] * theta[j];
  norm = Math.sqrt(norm);
  if (norm > 0) for (let j = 0; j < d - 1; j++) g[j] += (lambda * theta[j]) / norm;
  const dice = diceLoss(sums, epsilon);
  return { f: dice + lambda * norm, g, dice, penalty: lambda * norm, sums };
}
