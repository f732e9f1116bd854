import { windowSums, type SampledRaster, type SquareWindow } from './window-sums.js';

/**
 * The expected benefit of annotating a window (issue 14, item 3): uncertainty where the class is
 * likely, i.e. the window's mean of u(x) · p(x) over its pixels. u alone would favour windows
 * of pure, ambiguous background (stroma the head is unsure of, where the user finds nothing to
 * paint); weighing by p asks for windows where the head half-believes the class is present —
 * where its corrections change the most class pixels. For the default u = binary entropy,
 * u · p peaks at p ≈ 0.7 and is small for confident background (p = 0.1: 0.05) and for
 * confident class alike (p = 0.99: 0.08).
 *
 * u is an input: the uncertainty layer (an ensemble of heads, issue 14 item 2) gives its own
 * per-pixel map; without one, `binaryEntropy` of p is the default.
 */

/** H(p) = −p log₂ p − (1 − p) log₂(1 − p), in bits: 0 at p ∈ {0, 1}, 1 at p = ½. */
export function binaryEntropy(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const q = p[i];
    out[i] = q <= 0 || q >= 1 ? 0 : -(q * Math.log2(q) + (1 - q) * Math.log2(1 - q));
  }
  return out;
}

/** A head's probabilities over a (sampled) raster and, optionally, their uncertainty. */
export interface ProbabilityRaster extends SampledRaster {
  readonly p: Float32Array;
  /** Per-pixel uncertainty, ≥ 0, same shape as p; binaryEntropy(p) when absent. */
  readonly uncertainty?: Float32Array;
}

/** Each window's mean of u · p over the raster's samples inside it (0 for a window with none). */
export function windowBenefits(raster: ProbabilityRaster, windows: readonly SquareWindow[]): Float64Array {
  const { p } = raster;
  const u = raster.uncertainty ?? binaryEntropy(p);
  if (u.length !== p.length)
    throw new RangeError(`the uncertainty has ${u.length} values and the probabilities ${p.length}`);
  const product = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) product[i] = u[i] * p[i];
  const { sums, counts } = windowSums(product, raster, windows);
  return sums.map((s, k) => (counts[k] === 0 ? 0 : s / counts[k]));
}
