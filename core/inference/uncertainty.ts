/**
 * Per-pixel uncertainty of a head (docs/ARCHITECTURE.md#uncertainty), in [0, 1], from two signs:
 *
 * - h = H₂(p), the binary entropy of the head's probability in bits: 0 where p is 0 or 1, 1 at
 *   p = ½. What the head itself says; all an old head (no ensemble) has.
 * - s = 2σ, σ the standard deviation (population, over the E members) of the ensemble's
 *   probabilities (core/adaptation/head-ensemble.ts: the same fit on bootstrap resamples of the
 *   support). Probabilities lie in [0, 1], so σ ≤ ½ and s ∈ [0, 1]. It says where the support
 *   does not pin the head down: a pixel every refit calls 0.9 is surer than one they call 0.6
 *   to 0.99, though H₂ calls the first 0.47 and knows nothing of the second's spread.
 *
 * u = 1 − (1 − h)(1 − s): high where either is (the "or" of two probabilities), equal to h where
 * the members agree, so a head without an ensemble gives the same scale, and monotone in both.
 * A plain function of the numbers the worker already has, so whatever ranks pixels by
 * uncertainty (the next patch to annotate) calls it on the same probabilities.
 */

const LN2 = Math.LN2;

/** H₂(p) in bits, 0 at p ∈ {0, 1} (and outside (0, 1), as rounding may give). */
export function binaryEntropy(p: number): number {
  if (!(p > 0 && p < 1)) return 0;
  return -(p * Math.log(p) + (1 - p) * Math.log(1 - p)) / LN2;
}

/**
 * Each pixel's uncertainty from the head's probabilities and, optionally, its ensemble members'
 * (each as long as `probabilities`), into `out` (default a new array). Without members (or an
 * empty list) it is H₂(p).
 */
export function tileUncertainty(
  probabilities: ArrayLike<number>,
  members?: readonly ArrayLike<number>[],
  out: Float32Array = new Float32Array(probabilities.length),
): Float32Array {
  const n = probabilities.length;
  if (out.length !== n) throw new RangeError(`out has ${out.length} values for ${n} probabilities`);
  const e = members?.length ?? 0;
  for (const m of members ?? [])
    if (m.length !== n) throw new RangeError(`an ensemble member has ${m.length} values for ${n} probabilities`);
  for (let i = 0; i < n; i++) {
    const h = binaryEntropy(probabilities[i]);
    let s = 0;
    if (e > 0) {
      let sum = 0;
      for (let k = 0; k < e; k++) sum += members![k][i];
      const mean = sum / e;
      let sq = 0;
      for (let k = 0; k < e; k++) {
        const d = members![k][i] - mean;
        sq += d * d;
      }
      s = Math.min(1, 2 * Math.sqrt(sq / e));
    }
    out[i] = 1 - (1 - h) * (1 - s);
  }
  return out;
}

/**
 * u ∈ [0, 1] as bytes, round(255·u): what travels from the worker (a quarter of float32's bytes;
 * steps of 1/255 are below what the eye tells apart in the overlay, and below the ensemble's own
 * sampling noise with a handful of members).
 */
export function quantiseUncertainty(u: ArrayLike<number>, out: Uint8Array = new Uint8Array(u.length)): Uint8Array {
  for (let i = 0; i < u.length; i++) {
    const v = u[i];
    out[i] = v >= 1 ? 255 : v > 0 ? Math.round(v * 255) : 0;
  }
  return out;
}

/** A tile's uncertainty as bytes: the ensemble's when the worker sent it, else H₂(p) from its probabilities. */
export function uncertaintyBytes(probabilities: ArrayLike<number>, fromEnsemble?: Uint8Array): Uint8Array {
  if (fromEnsemble) {
    if (fromEnsemble.length !== probabilities.length)
      throw new RangeError(`${fromEnsemble.length} uncertainty values for ${probabilities.length} probabilities`);
    return fromEnsemble;
  }
  return quantiseUncertainty(tileUncertainty(probabilities));
}
