import type { ExtractorClass } from '../../core/msd/bundle.js';
import { initMsdWeights, seededGaussian, type MsdWeights } from '../../core/msd/weights.js';

/**
 * Small seeded extractors for the user-file fuzz kinds: real MSD networks (every parameter
 * non-trivial: biases positive on average so ReLU keeps most maps alive), shallow so that a
 * mutant's forward takes a millisecond.
 */
export function fuzzWeights(depth: number, seed: number): MsdWeights {
  const gaussian = seededGaussian(seed);
  const normalisation = { mean: [180, 130, 170], std: [40, 50, 35] };
  const base = initMsdWeights(3, depth, gaussian, normalisation);
  return {
    ...base,
    layers: base.layers.map((layer) => ({ ...layer, bias: 0.1 + 0.2 * gaussian() })),
    output: { weights: Float32Array.from(base.output.weights, () => gaussian() / 3), bias: 0.3 * gaussian() },
  };
}

export function fuzzExtractors(): ExtractorClass[] {
  return [
    { name: 'epithelial', weights: fuzzWeights(3, 11) },
    { name: 'inflammatory', weights: fuzzWeights(4, 12) },
  ];
}

/** An RGB tile (0..255, H × W × 3) with structure at several scales. */
export function fuzzTile(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + x * y * 7) & 255;
  return rgb;
}

export const nonFinite = (values: ArrayLike<number>): number => {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) n++;
  return n;
};
