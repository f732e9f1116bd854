import * as tf from '@tensorflow/tfjs';
import {
  extractorSignature,
  openFeatureExtractor,
  type ExtractorSet,
  type FeatureExtractor,
} from '../msd/feature-extractor.js';
import { checkHeadExtractors, type Head } from './head.js';

/**
 * Applies a head: p = σ(b + g(x)·W) per pixel. The standardisation is folded into W and b, so
 * this is one matrix-vector product over the raw features.
 */

export interface RgbImage {
  /** H × W × 3 RGB bytes, row-major. */
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** [pixels, C'] features → [pixels, 1] probabilities, on the backend; for use inside pipelines. */
export function headProbability(features: tf.Tensor2D, head: Head): tf.Tensor2D {
  if (features.shape[1] !== head.W.length) {
    throw new Error(`the features have ${features.shape[1]} channels, the head weighs ${head.W.length}`);
  }
  return tf.tidy(
    () =>
      tf.sigmoid(
        tf.add(tf.matMul(features, tf.tensor2d(head.W as number[], [head.W.length, 1])), head.b),
      ) as tf.Tensor2D,
  );
}

const isExtractor = (e: ExtractorSet | FeatureExtractor): e is FeatureExtractor =>
  'features' in e && typeof e.features === 'function';

/**
 * The probability map (H·W values, row-major) of an RGB patch, or of its features already
 * computed ([pixels, C'] or [1, H, W, C'], left to the caller to dispose). `extractors` may be an
 * open FeatureExtractor (reused, not disposed) or the extractors themselves (opened and freed
 * here, only if needed); either way they must be the ones the head was fitted on.
 */
export async function predictWithHead(
  input: RgbImage | tf.Tensor2D | tf.Tensor4D,
  extractors: ExtractorSet | FeatureExtractor,
  head: Head,
): Promise<Float32Array> {
  checkHeadExtractors(
    head.metadata.extractors,
    isExtractor(extractors) ? extractors.signature : extractorSignature(extractors),
  );
  let probability: tf.Tensor2D;
  if (input instanceof tf.Tensor) {
    probability = tf.tidy(() =>
      headProbability(
        input.rank === 4 ? (tf.reshape(input, [-1, input.shape[3]!]) as tf.Tensor2D) : (input as tf.Tensor2D),
        head,
      ),
    );
  } else {
    const { rgb, width, height } = input;
    if (rgb.length !== width * height * 3)
      throw new Error(`an RGB image of ${width}×${height} has ${width * height * 3} bytes, got ${rgb.length}`);
    const extractor = isExtractor(extractors) ? extractors : openFeatureExtractor(extractors);
    try {
      probability = tf.tidy(() =>
        headProbability(extractor.features(tf.tensor4d(rgb, [1, height, width, 3], 'int32')), head),
      );
    } finally {
      if (extractor !== extractors) extractor.dispose();
    }
  }
  try {
    return (await probability.data()) as Float32Array;
  } finally {
    probability.dispose();
  }
}
