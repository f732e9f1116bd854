import * as tf from '@tensorflow/tfjs';
import { createMsd, type MsdNetwork } from '../msd/tf-network.js';
import type { MsdWeights } from '../msd/weights.js';
import type { PatchModel } from './patch-model.js';

/** The perceptron over the concatenated extractor features: p = σ(b + Σ_c W_c·g_c(x)). */
export interface LinearHead {
  readonly W: ArrayLike<number>;
  readonly b: number;
}

export interface HeadPatchModel {
  readonly model: PatchModel;
  /** Frees the head's tensors and the networks made here from weights (not the ones passed in). */
  dispose(): void;
}

const isNetwork = (e: MsdNetwork | MsdWeights): e is MsdNetwork => typeof (e as MsdNetwork).features === 'function';

/**
 * A PatchModel from a head and the extractors it was fitted on, in the head's order. Each
 * extractor's features are multiplied by its own slice of W and the products summed, so the
 * [pixels, C'] concatenation (75 maps of a 256² patch: 20 MB) is never materialised.
 */
export function createHeadPatchModel(
  head: LinearHead,
  extractors: readonly (MsdNetwork | MsdWeights)[],
): HeadPatchModel {
  if (extractors.length === 0) throw new Error('a head needs at least one extractor');
  const owned: MsdNetwork[] = [];
  const tensors: tf.Tensor[] = [];
  try {
    const networks = extractors.map((e) => {
      if (isNetwork(e)) return e;
      const net = createMsd(e);
      owned.push(net);
      return net;
    });
    const channels = networks.reduce((sum, n) => sum + n.depth, 0);
    if (head.W.length !== channels)
      throw new Error(`the head has ${head.W.length} weights, the extractors give ${channels} features`);
    if (!Number.isFinite(head.b) || !Array.from(head.W).every(Number.isFinite))
      throw new Error('the head has a weight that is not a finite number');
    const W = Float32Array.from(head.W);
    let offset = 0;
    const slices = networks.map((n) => {
      const t = tf.tensor2d(W.subarray(offset, offset + n.depth), [n.depth, 1]);
      offset += n.depth;
      tensors.push(t);
      return t;
    });
    const bias = tf.scalar(head.b);
    tensors.push(bias);
    let disposed = false;

    const model: PatchModel = async (rgb, width, height, signal) => {
      if (disposed) throw new Error('this head model has been disposed');
      signal?.throwIfAborted();
      if (rgb.length !== width * height * 3)
        throw new RangeError(`a ${width}×${height} RGB patch has ${width * height * 3} bytes, got ${rgb.length}`);
      const probability = tf.tidy(() => {
        const x = tf.tensor4d(Int32Array.from(rgb), [1, height, width, 3], 'int32');
        let logit: tf.Tensor = bias;
        networks.forEach((net, i) => {
          // One network's maps are freed before the next network runs: tidy scopes them.
          const term = tf.tidy(() =>
            tf.matMul(tf.reshape(net.features(x), [width * height, net.depth]) as tf.Tensor2D, slices[i]),
          );
          logit = tf.add(logit, term);
        });
        return tf.sigmoid(logit);
      });
      try {
        // data(), never dataSync(): webgpu's dataSync has returned zeros.
        return (await probability.data()) as Float32Array;
      } finally {
        probability.dispose();
      }
    };
    return {
      model,
      dispose() {
        if (disposed) return;
        disposed = true;
        tf.dispose(tensors);
        owned.forEach((n) => n.dispose());
      },
    };
  } catch (err) {
    tf.dispose(tensors);
    owned.forEach((n) => n.dispose());
    throw err;
  }
}
