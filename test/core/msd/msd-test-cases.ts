/**
 * Shared fixtures for the MSD forward tests (Node and browser): seeded random networks whose
 * every parameter is non-trivial (the reference init leaves biases and the output layer at
 * zero, which would hide mistakes there), seeded images, and the comparison.
 */
import { initMsdWeights, seededGaussian, type MsdWeights } from '../../../core/msd/weights.js';

export const DEPTHS = [1, 3, 12, 25, 100] as const;
/** Including sizes below 2·dilation + 1, where reflection has to fold more than once. */
export const SIZES = [
  [5, 7],
  [1, 9],
  [11, 11],
  [23, 17],
] as const;

/**
 * float32 against the float64 reference. Measured differences are ~1e-6 (features of size
 * ~1–10); 1e-4 leaves room for summation order on GPU backends yet fails on any real mistake
 * (a wrong tap, padding or channel order moves values by ~0.1 or more).
 */
export const TOLERANCE = 1e-4;

export function randomWeights(inputChannels: number, depth: number, seed: number): MsdWeights {
  const gaussian = seededGaussian(seed);
  const mean = Array.from({ length: inputChannels }, () => 128 + 30 * gaussian());
  const std = Array.from({ length: inputChannels }, () => 50 + 10 * Math.abs(gaussian()));
  const base = initMsdWeights(inputChannels, depth, gaussian, { mean, std });
  return {
    ...base,
    // Positive on average so that ReLU keeps most maps alive, negative sometimes so it also cuts.
    layers: base.layers.map((layer) => ({ ...layer, bias: 0.1 + 0.2 * gaussian() })),
    output: {
      weights: Float32Array.from(base.output.weights, () => gaussian() / Math.sqrt(inputChannels + depth)),
      bias: 0.3 * gaussian(),
    },
  };
}

/** Integer pixel values 0..255, height × width × channels. */
export function randomImage(height: number, width: number, channels: number, seed: number): Int32Array {
  const gaussian = seededGaussian(seed);
  return Int32Array.from({ length: height * width * channels }, () =>
    Math.max(0, Math.min(255, Math.round(128 + 60 * gaussian()))),
  );
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN; // so that a NaN output can never pass a tolerance check
    if (d > max) max = d;
  }
  return max;
}

/** Fraction of strictly positive values: a test on all-zero maps would prove nothing. */
export function positiveFraction(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > 0) n++;
  return n / values.length;
}
