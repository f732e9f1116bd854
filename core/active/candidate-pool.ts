import { imageFeatureRows, sampledPixels } from '../inference/image-features.js';
import type { MsdWeights } from '../msd/weights.js';
import { standardiseDescriptors, windowMeanFeatures } from './window-descriptors.js';
import { windowGrid, windowSums, type SampledRaster, type SquareWindow } from './window-sums.js';

/**
 * The candidate windows of a labelled image pool for the selection simulation (issue 14, item 4),
 * with what stays fixed across its rounds and draws, computed once: the fixed extractors'
 * features of every image on a sampled raster (from one whole-image forward each), every
 * window's descriptor (its mean feature vector, standardised over all candidates), and the
 * class pixels of the ground truth inside each window. Each round then needs only one
 * matrix-vector product per sample for the new head's probabilities.
 */

export interface PoolImage {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  /** 1 where the ground truth is the class, 0 elsewhere. */
  readonly truth: Uint8Array;
}

export interface PoolOptions {
  /** Window edge (256: a support patch). */
  readonly edge: number;
  /** Candidate grid stride (64, as the evaluation's class windows). */
  readonly stride: number;
  /** Feature sampling step (4: 4096 samples per 256² window). */
  readonly step: number;
  /** Class pixels a window needs to show the class (the evaluation's --min-positive). */
  readonly minPositive: number;
  readonly signal?: AbortSignal;
  /** After each image's forward. */
  readonly onImage?: (done: number, total: number) => void;
}

export interface CandidatePool {
  readonly options: Omit<PoolOptions, 'signal' | 'onImage'>;
  /** C' of the rows. */
  readonly channels: number;
  /** Per image: its sampled raster and pixel-major feature rows on it. */
  readonly rasters: readonly { readonly raster: SampledRaster; readonly rows: Float32Array }[];
  /** Every candidate, image by image (group = image index). */
  readonly windows: readonly SquareWindow[];
  /** Per image, the range [from, to) of its windows. */
  readonly ranges: readonly (readonly [number, number])[];
  readonly descriptors: readonly Float32Array[];
  /** Ground-truth class pixels in each window (all its pixels, not sampled). */
  readonly classPixels: Int32Array;
  /** Indices of the windows holding ≥ minPositive class pixels: the windows that show the class. */
  readonly classWindows: readonly number[];
}

export function buildCandidatePool(
  images: readonly PoolImage[],
  extractors: readonly MsdWeights[],
  options: PoolOptions,
): CandidatePool {
  const { edge, stride, step, minPositive } = options;
  const rasters: { raster: SampledRaster; rows: Float32Array }[] = [];
  const windows: SquareWindow[] = [];
  const ranges: [number, number][] = [];
  const means: Float32Array[] = [];
  const counts: number[] = [];
  let channels = 0;
  images.forEach((image, i) => {
    options.signal?.throwIfAborted();
    const sampled = sampledPixels(image.width, image.height, step);
    const { rows, channels: c } = imageFeatureRows(extractors, image, sampled.pixels);
    channels = c;
    const raster = { width: sampled.width, height: sampled.height, step };
    rasters.push({ raster, rows });
    const own = windowGrid(i, image.width, image.height, edge, stride);
    ranges.push([windows.length, windows.length + own.length]);
    windows.push(...own);
    means.push(...windowMeanFeatures(rows, c, raster, own));
    const truth = windowSums(image.truth, { width: image.width, height: image.height, step: 1 }, own);
    counts.push(...truth.sums);
    options.onImage?.(i + 1, images.length);
  });
  const classPixels = Int32Array.from(counts);
  const classWindows = [...classPixels.keys()].filter((k) => classPixels[k] >= minPositive);
  return {
    options: { edge, stride, step, minPositive },
    channels,
    rasters,
    windows,
    ranges,
    descriptors: standardiseDescriptors(means),
    classPixels,
    classWindows,
  };
}
