import { sampleSpan, type SampledRaster, type SquareWindow } from './window-sums.js';

/**
 * Where a window lies in feature space (issue 14, item 3, diversity): the mean of the fixed
 * extractors' feature vectors over its pixels, then standardised over the candidates so that
 * every feature counts alike in distances (the MSD maps' scales differ by orders of magnitude).
 * A window like the patches already annotated teaches the head little that is new.
 */

/**
 * Each window's mean feature vector, from pixel-major features (`channels` per sample) of a
 * sampled raster; a window with no sample gets zeros.
 */
export function windowMeanFeatures(
  features: Float32Array,
  channels: number,
  raster: SampledRaster,
  windows: readonly Pick<SquareWindow, 'x' | 'y' | 'size'>[],
): Float32Array[] {
  const { width, height, step } = raster;
  if (features.length !== width * height * channels)
    throw new RangeError(
      `${width}×${height} samples of ${channels} features are ${width * height * channels} values, ` +
        `got ${features.length}`,
    );
  return windows.map((win) => {
    const [x0, x1] = sampleSpan(win.x, win.size, step, width);
    const [y0, y1] = sampleSpan(win.y, win.size, step, height);
    const sum = new Float64Array(channels);
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) {
        const o = (y * width + x) * channels;
        for (let c = 0; c < channels; c++) sum[c] += features[o + c];
      }
    const n = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
    return Float32Array.from(sum, (s) => (n === 0 ? 0 : s / n));
  });
}

/** z-scores per dimension over the given descriptors (a dimension with no spread becomes 0). */
export function standardiseDescriptors(descriptors: readonly Float32Array[]): Float32Array[] {
  if (descriptors.length === 0) return [];
  const d = descriptors[0].length;
  const mean = new Float64Array(d);
  const square = new Float64Array(d);
  for (const v of descriptors) {
    if (v.length !== d) throw new RangeError(`descriptors of ${d} and ${v.length} dimensions`);
    for (let c = 0; c < d; c++) {
      mean[c] += v[c];
      square[c] += v[c] * v[c];
    }
  }
  const n = descriptors.length;
  const scale = new Float64Array(d);
  for (let c = 0; c < d; c++) {
    mean[c] /= n;
    const variance = Math.max(0, square[c] / n - mean[c] * mean[c]);
    scale[c] = variance > 0 ? 1 / Math.sqrt(variance) : 0;
  }
  return descriptors.map((v) => Float32Array.from(v, (x, c) => (x - mean[c]) * scale[c]));
}
