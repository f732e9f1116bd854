import * as tf from '@tensorflow/tfjs';
import { AdaptError } from './adapt-error.js';
import type { FeatureExtractor } from '../msd/feature-extractor.js';
import { paddedLayout } from './pixel-reductions.js';

/**
 * One annotated support patch, at the extractors' resolution
 * (docs/ARCHITECTURE.md#few-shot-adaptation: 256×256 typical).
 */
export interface SupportPatch {
  /** H × W × 3 RGB bytes, row-major. */
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** H × W: 0 background, 1 the new class, 255 unlabelled (ignored). */
  readonly mask: Uint8Array;
}

export const MASK_BACKGROUND = 0;
export const MASK_CLASS = 1;
export const MASK_IGNORED = 255;

/**
 * A patch's features as a matrix, one row per pixel, padded with zero rows to whole groups
 * (see pixel-reductions.ts); padding rows are marked ignored in `mask`.
 */
export interface PixelBlock {
  /** [rows, C'] raw features. */
  readonly features: tf.Tensor2D;
  /** Per row: 0, 1 or 255 (ignored: unlabelled pixels and padding). */
  readonly mask: Uint8Array;
  readonly group: number;
}

export interface SupportCounts {
  readonly patches: number;
  readonly pixels: number;
  readonly positive: number;
  readonly negative: number;
  readonly ignored: number;
}

/** Refuses a support set that cannot define a classifier, naming the first problem found. */
export function checkSupport(support: readonly SupportPatch[]): SupportCounts {
  if (!Array.isArray(support) || support.length === 0)
    throw new AdaptError('empty-support', 'the support set is empty: annotate at least one patch');
  let positive = 0;
  let negative = 0;
  let ignored = 0;
  let pixels = 0;
  support.forEach((patch, k) => {
    const { width, height, rgb, mask } = patch ?? {};
    const where = `support patch ${k}`;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new AdaptError(
        'bad-patch',
        `${where} has size ${width}×${height}; width and height must be positive integers`,
      );
    }
    if (!(rgb instanceof Uint8Array) || rgb.length !== width * height * 3) {
      throw new AdaptError(
        'bad-patch',
        `${where} is ${width}×${height}, so its RGB needs ${width * height * 3} bytes, ` +
          `got ${rgb instanceof Uint8Array ? rgb.length : typeof rgb}`,
      );
    }
    if (!(mask instanceof Uint8Array) || mask.length !== width * height) {
      throw new AdaptError(
        'bad-patch',
        `${where} is ${width}×${height}, so its mask needs ${width * height} values, ` +
          `got ${mask instanceof Uint8Array ? mask.length : typeof mask}`,
      );
    }
    for (let i = 0; i < mask.length; i++) {
      const m = mask[i];
      if (m === MASK_CLASS) positive++;
      else if (m === MASK_BACKGROUND) negative++;
      else if (m === MASK_IGNORED) ignored++;
      else
        throw new AdaptError(
          'bad-patch',
          `${where} mask value ${m} at pixel ${i}: masks hold 0 (background), 1 (class) or 255 (unlabelled)`,
        );
    }
    pixels += width * height;
  });
  if (positive === 0)
    throw new AdaptError(
      'no-positive',
      `no support pixel is marked as the class (mask value 1) in ${support.length} patch(es)`,
    );
  if (negative === 0)
    throw new AdaptError(
      'no-negative',
      `no support pixel is marked as background (mask value 0) in ${support.length} patch(es)`,
    );
  return { patches: support.length, pixels, positive, negative, ignored };
}

/**
 * Runs the extractors over every support patch. `checkpoint` runs between patches (the
 * expensive steps) so that an abort is seen within one patch's extraction.
 */
export async function extractSupportFeatures(
  support: readonly SupportPatch[],
  extractor: FeatureExtractor,
  checkpoint: (done: number) => Promise<void>,
): Promise<PixelBlock[]> {
  const blocks: PixelBlock[] = [];
  try {
    for (let k = 0; k < support.length; k++) {
      const { rgb, width, height, mask } = support[k];
      const pixels = width * height;
      const layout = paddedLayout(pixels);
      const features = tf.tidy(() => {
        const x = tf.tensor4d(rgb, [1, height, width, 3], 'int32');
        const f = extractor.features(x);
        return layout.rows === pixels
          ? f
          : (tf.pad(f, [
              [0, layout.rows - pixels],
              [0, 0],
            ]) as tf.Tensor2D);
      });
      const padded = new Uint8Array(layout.rows).fill(MASK_IGNORED);
      padded.set(mask);
      blocks.push({ features, mask: padded, group: layout.group });
      await checkpoint(k + 1);
    }
    return blocks;
  } catch (err) {
    tf.dispose(blocks.map((b) => b.features));
    throw err;
  }
}
