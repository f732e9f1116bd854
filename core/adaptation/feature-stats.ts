import * as tf from '@tensorflow/tfjs';
import { groupedColumnSums, readAll } from './pixel-reductions.js';
import type { PixelBlock } from './support-features.js';
import { MASK_IGNORED } from './support-patch.js';
import { isConstantFeature, type FeatureStats } from './feature-standardisation.js';

/** The weight column of a block: 1 for labelled pixels, 0 for ignored ones and padding. */
export function labelledWeights(block: PixelBlock): tf.Tensor2D {
  return tf.tensor2d(
    Float32Array.from(block.mask, (m) => (m === MASK_IGNORED ? 0 : 1)),
    [block.mask.length, 1],
  );
}

/** Mean and std of every feature over the labelled pixels of all blocks (two passes, float64 totals). */
export async function supportFeatureStats(blocks: readonly PixelBlock[]): Promise<FeatureStats> {
  if (blocks.length === 0) throw new Error('feature statistics need at least one block');
  const channels = blocks[0].features.shape[1];
  let count = 0;
  for (const b of blocks) for (const m of b.mask) if (m !== MASK_IGNORED) count++;
  if (count === 0) throw new Error('feature statistics need at least one labelled pixel');

  const weights = blocks.map(labelledWeights);
  try {
    const sum = new Float64Array(channels);
    const first = await readAll(blocks.map((b, i) => groupedColumnSums(b.features, [weights[i]], b.group)));
    for (const offset of first.offsets) for (let j = 0; j < channels; j++) sum[j] += first.values[offset + j];
    const mean = Array.from(sum, (s) => s / count);

    // Second pass on centred values: E[x²] − E[x]² would cancel catastrophically in float32.
    const meanTensor = tf.tensor2d(mean, [1, channels]);
    const squares = new Float64Array(channels);
    try {
      const second = await readAll(
        blocks.map((b, i) =>
          tf.tidy(() =>
            groupedColumnSums(tf.square(tf.sub(b.features, meanTensor)) as tf.Tensor2D, [weights[i]], b.group),
          ),
        ),
      );
      for (const offset of second.offsets) for (let j = 0; j < channels; j++) squares[j] += second.values[offset + j];
    } finally {
      meanTensor.dispose();
    }
    const std = mean.map((m, j) => {
      const s = Math.sqrt(squares[j] / count);
      return isConstantFeature(m, s) ? 1 : s;
    });
    return { mean, std };
  } finally {
    tf.dispose(weights);
  }
}
