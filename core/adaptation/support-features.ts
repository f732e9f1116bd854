import * as tf from '@tensorflow/tfjs';
import type { FeatureExtractor } from '../msd/feature-extractor.js';
import { paddedLayout } from './pixel-reductions.js';
import { MASK_IGNORED, type SupportPatch } from './support-patch.js';

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
