import * as tf from '@tensorflow/tfjs';
import { AdaptError } from '../adaptation/adapt-error.js';
import {
  extractorClasses,
  extractorSignature,
  type ExtractorSet,
  type ExtractorSignature,
} from './extractor-signature.js';
import { createMsd, type MsdNetwork } from './tf-network.js';

/**
 * The paper's g(x): every extractor's feature maps of an RGB patch, concatenated per pixel in
 * the order the extractors are given (C' = Σ depths). The order is part of a head's meaning, so
 * heads record the extractors' names and depths and are checked against them.
 */

export {
  extractorClasses,
  extractorSignature,
  type ExtractorSet,
  type ExtractorSignature,
} from './extractor-signature.js';

export interface FeatureExtractor {
  readonly signature: readonly ExtractorSignature[];
  /** C' = Σ depths. */
  readonly channels: number;
  /** Features of an RGB (0..255) NHWC batch as [N·H·W, C'], pixels in row-major order. */
  features(rgb: tf.Tensor4D): tf.Tensor2D;
  /** Frees every network's weights. */
  dispose(): void;
}

/** Uploads every extractor's weights once; dispose() when done. */
export function openFeatureExtractor(set: ExtractorSet): FeatureExtractor {
  const classes = extractorClasses(set);
  if (classes.length === 0) throw new AdaptError('no-extractors', 'no feature extractors were given');
  const networks: MsdNetwork[] = [];
  try {
    for (const c of classes) networks.push(createMsd(c.weights));
  } catch (err) {
    networks.forEach((n) => n.dispose());
    throw err;
  }
  const signature = extractorSignature(set);
  const channels = signature.reduce((sum, s) => sum + s.depth, 0);
  let disposed = false;
  return {
    signature,
    channels,
    features(rgb) {
      if (disposed) throw new Error('This feature extractor has been disposed');
      return tf.tidy(() => {
        const pixels = rgb.shape[0] * rgb.shape[1] * rgb.shape[2];
        const maps = networks.map((net) => tf.reshape(net.features(rgb), [pixels, net.depth]) as tf.Tensor2D);
        return maps.length === 1 ? maps[0] : tf.concat(maps, 1);
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      networks.forEach((n) => n.dispose());
    },
  };
}
