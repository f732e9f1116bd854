import { MsdWorkspace, packMsdParams } from './engine.js';
import type { MsdWeights } from './weights.js';

/**
 * A bundle's probe (models/FORMAT.md#integrity): what each extractor computes on one fixed small
 * image, stored when the bundle is written and recomputed when it is read. The weights' SHA-256
 * says the weights file is the one written; the probe says the manifest still reads those weights
 * as the writer meant (offsets, normalisation, class order) and that the network gives finite
 * features at all — for a bundle without a checksum too.
 *
 * The image is a formula, not stored: channel c of pixel (x, y) is (37x + 91y + 53c + 7xy) mod
 * 256, 16×16 (smaller than the largest dilation, so mirror padding folds several times and is
 * probed too). Per class the probe is depth + 1 numbers: the mean of each feature map over the
 * image, then the mean of the network's own sigmoid output. It runs in float64 in plain
 * JavaScript (the training engine without SIMD), the same arithmetic everywhere, ~2.6 M
 * multiply-adds for the shipped three depth-25 extractors.
 */
export const PROBE_SIZE = 16;

/**
 * Allowed |stored − recomputed| relative to max(1, |stored|). Float64 arithmetic in one fixed
 * order differs between engines only through Math.exp in the output's sigmoid (~1e-16); a changed
 * weight or normalisation moves a mean by far more (a flipped low mantissa bit of one weight
 * may not, which is what the checksum is for).
 */
export const PROBE_TOLERANCE = 1e-6;

/** The probe image: size × size × channels values 0..255, row-major. */
export function probeImage(size: number, channels: number): Uint8Array {
  const image = new Uint8Array(size * size * channels);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < channels; c++)
        image[(y * size + x) * channels + c] = (37 * x + 91 * y + 53 * c + 7 * x * y) & 255;
  return image;
}

/** One extractor's probe: each feature map's mean over the probe image, then its output's mean. */
export function probeExtractor(weights: MsdWeights, size = PROBE_SIZE): number[] {
  const depth = weights.layers.length;
  const workspace = new MsdWorkspace({
    inputChannels: weights.inputChannels,
    depth,
    height: size,
    width: size,
    samples: 1,
    training: false,
    precision: 'float64',
    simd: false,
  });
  const output = workspace.forward(
    0,
    Float64Array.from(packMsdParams(weights)),
    probeImage(size, weights.inputChannels),
    weights.normalisation,
  );
  const mean = (values: ArrayLike<number>) => {
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += values[i];
    return sum / values.length;
  };
  const means: number[] = [];
  for (let m = 0; m < depth; m++) means.push(mean(workspace.featureMap(0, m)));
  means.push(mean(output));
  return means;
}

/** The index of the first probe value that differs beyond tolerance (or is not finite), or -1. */
export function probeMismatch(stored: readonly number[], computed: readonly number[]): number {
  if (stored.length !== computed.length) return Math.min(stored.length, computed.length);
  for (let i = 0; i < stored.length; i++) {
    if (!(Math.abs(stored[i] - computed[i]) <= PROBE_TOLERANCE * Math.max(1, Math.abs(stored[i])))) return i;
  }
  return -1;
}
