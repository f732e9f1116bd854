import { imageFeatureRows, rowProbabilities } from '../inference/image-features.js';
import type { MsdWeights } from '../msd/weights.js';

/**
 * [overlap, predicted, truth] of many heads' thresholded predictions on labelled images, pooled
 * over all their pixels (Dice = 2·overlap / (predicted + truth)), from one whole-image forward of
 * the extractors per image (image-features.ts) shared by every head: how the selection
 * simulation scores the heads of all its rounds and draws at once.
 */
export interface PooledCounts {
  overlap: number;
  predicted: number;
  truth: number;
}

export function headCountsOnImages(
  images: readonly {
    readonly rgb: Uint8Array;
    readonly width: number;
    readonly height: number;
    readonly truth: Uint8Array;
  }[],
  extractors: readonly MsdWeights[],
  heads: readonly { readonly W: readonly number[]; readonly b: number; readonly threshold: number }[],
  control: { readonly signal?: AbortSignal; readonly onImage?: (done: number, total: number) => void } = {},
): PooledCounts[] {
  const counts = heads.map(() => ({ overlap: 0, predicted: 0, truth: 0 }));
  images.forEach((image, i) => {
    control.signal?.throwIfAborted();
    const { rows, channels } = imageFeatureRows(extractors, image);
    let truth = 0;
    for (let k = 0; k < image.truth.length; k++) truth += image.truth[k];
    heads.forEach((head, h) => {
      const p = rowProbabilities(rows, channels, head);
      let overlap = 0;
      let predicted = 0;
      for (let k = 0; k < p.length; k++) {
        if (p[k] > head.threshold) {
          predicted++;
          overlap += image.truth[k];
        }
      }
      counts[h].overlap += overlap;
      counts[h].predicted += predicted;
      counts[h].truth += truth;
    });
    control.onImage?.(i + 1, images.length);
  });
  return counts;
}
