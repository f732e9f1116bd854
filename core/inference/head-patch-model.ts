import * as tf from '@tensorflow/tfjs';
import { createMsd, type MsdNetwork } from '../msd/tf-network.js';
import type { MsdWeights } from '../msd/weights.js';
import type { PatchModel, UncertainPatchModel } from './patch-model.js';
import { tileUncertainty } from './uncertainty.js';
import { linearHeads, type LinearHead } from './linear-heads.js';

export type { LinearHead } from './linear-heads.js';

export interface HeadPatchModel {
  readonly model: PatchModel;
  /** Probabilities and uncertainty in one forward; only for a head with an ensemble. */
  readonly uncertain?: UncertainPatchModel;
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
    const heads = linearHeads(head, channels);
    // The head and its ensemble's members as the columns of one [C', 1 + E] matrix: one product
    // per network for all of them.
    const columns = heads.length;
    let offset = 0;
    const slices = networks.map((n) => {
      const block = new Float32Array(n.depth * columns);
      for (let m = 0; m < n.depth; m++)
        for (let k = 0; k < columns; k++) block[m * columns + k] = heads[k].W[offset + m];
      const t = tf.tensor2d(block, [n.depth, columns]);
      offset += n.depth;
      tensors.push(t);
      return t;
    });
    const bias = tf.tensor1d(heads.map((h) => h.b));
    tensors.push(bias);
    let disposed = false;

    /** [pixels × (1 + E)] probabilities, pixel-major. */
    const forward = async (rgb: Uint8Array, width: number, height: number, signal?: AbortSignal) => {
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
    const column = (all: Float32Array, k: number) => {
      const out = new Float32Array(all.length / columns);
      for (let i = 0; i < out.length; i++) out[i] = all[i * columns + k];
      return out;
    };
    const model: PatchModel = async (rgb, width, height, signal) => {
      const all = await forward(rgb, width, height, signal);
      return columns === 1 ? all : column(all, 0);
    };
    const uncertain: UncertainPatchModel = async (rgb, width, height, signal) => {
      const all = await forward(rgb, width, height, signal);
      const probabilities = column(all, 0);
      const members = heads.slice(1).map((_, k) => column(all, k + 1));
      return { probabilities, uncertainty: tileUncertainty(probabilities, members) };
    };
    return {
      model,
      ...(columns > 1 ? { uncertain } : {}),
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
