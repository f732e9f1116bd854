/**
 * Soft Dice over a whole batch: L = 1 − (2·Σ p·t + ε) / (Σ p + Σ t + ε), the sums running over
 * every pixel of every sample. Summing over the batch rather than averaging per-crop Dice keeps
 * a crop without the class from scoring a perfect 1 for predicting nothing, which is how sparse
 * classes collapsed (docs/ARCHITECTURE.md#feature-extractors).
 *
 * The sums are additive, so samples on different threads each report their partial sums; the
 * gradient then needs only the two batch-wide scalars of `diceGradient`.
 */
export interface DiceSums {
  /** Σ p·t */
  intersection: number;
  /** Σ p */
  predicted: number;
  /** Σ t */
  target: number;
}

/** Keeps the loss defined (and equal to 0) on a batch with no foreground and no prediction. */
export const DICE_EPSILON = 1;

export function emptyDiceSums(): DiceSums {
  return { intersection: 0, predicted: 0, target: 0 };
}

/** Adds one sample's sums to `into`. `target` is 0/1 (or soft) per pixel. */
export function accumulateDice(into: DiceSums, prediction: ArrayLike<number>, target: ArrayLike<number>): DiceSums {
  if (prediction.length !== target.length)
    throw new Error(`prediction has ${prediction.length} pixels, target ${target.length}`);
  let i = 0,
    p = 0,
    t = 0;
  for (let k = 0; k < prediction.length; k++) {
    const pk = prediction[k];
    const tk = target[k];
    i += pk * tk;
    p += pk;
    t += tk;
  }
  into.intersection += i;
  into.predicted += p;
  into.target += t;
  return into;
}

export function addDiceSums(a: DiceSums, b: DiceSums): DiceSums {
  return {
    intersection: a.intersection + b.intersection,
    predicted: a.predicted + b.predicted,
    target: a.target + b.target,
  };
}

export function diceScore(s: DiceSums, epsilon = DICE_EPSILON): number {
  return (2 * s.intersection + epsilon) / (s.predicted + s.target + epsilon);
}

export function diceLoss(s: DiceSums, epsilon = DICE_EPSILON): number {
  return 1 - diceScore(s, epsilon);
}

/**
 * dL/dp_j = a · t_j + b for every pixel j of the batch: with N = 2Σpt + ε and D = Σp + Σt + ε,
 * L = 1 − N/D gives a = −2/D and b = N/D².
 */
export function diceGradient(s: DiceSums, epsilon = DICE_EPSILON): { a: number; b: number } {
  const n = 2 * s.intersection + epsilon;
  const d = s.predicted + s.target + epsilon;
  return { a: -2 / d, b: n / (d * d) };
}

/** Fills `out` with dL/dp for one sample of the batch whose sums gave `g`. */
export function diceLossGradient(
  g: { a: number; b: number },
  target: ArrayLike<number>,
  out: Float32Array | Float64Array,
): void {
  for (let k = 0; k < target.length; k++) out[k] = g.a * target[k] + g.b;
}
