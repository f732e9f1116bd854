import * as tf from '@tensorflow/tfjs';
import type { FeatureStats } from './feature-standardisation.js';
import { labelledWeights } from './feature-stats.js';
import { GROUP, readAll } from './pixel-reductions.js';
import type { PixelBlock } from './support-features.js';
import { MASK_CLASS, MASK_IGNORED } from './support-patch.js';

/**
 * The design matrix of the perceptron fit, A = [z | 1] (standardised features, then a column of
 * ones that carries the bias), over every support pixel, kept on the TF.js backend in chunks of
 * at most `chunkRows` rows so that a pass over it never holds more than one chunk's temporaries.
 * Each chunk has a target column t (1 = class) and a weight column m (1 = labelled; 0 =
 * unlabelled or padding), so ignored pixels need no gather: they simply weigh nothing.
 *
 * The unknowns are θ = [w; b] (w for the standardised features); the objectives in
 * logistic-regression.ts and dice-objective.ts make one pass over the chunks per evaluation.
 */
export interface SupportChunk {
  /** [rows, D]: z then 1. */
  readonly a: tf.Tensor2D;
  /** [rows, 1]: 1 for the class, 0 otherwise. */
  readonly target: tf.Tensor2D;
  /** [rows, 1]: 1 for a labelled pixel, 0 for an ignored one or padding. */
  readonly weight: tf.Tensor2D;
  readonly rows: number;
  /** Rows per group of the grouped reductions; divides `rows`. */
  readonly group: number;
}

export const DEFAULT_CHUNK_ROWS = 65536;

export class SupportMatrix {
  private disposed = false;

  private constructor(
    readonly chunks: readonly SupportChunk[],
    /** D = C' + 1. */
    readonly columns: number,
    /** Labelled pixels (the N of every mean). */
    readonly labelled: number,
    /** Labelled pixels of the class (Σ t). */
    readonly positives: number,
  ) {}

  /**
   * Standardises the blocks' features with `stats` into chunks; `checkpoint` runs after each
   * chunk. With `consume`, each block's features are disposed as soon as its chunks exist, so
   * the raw and the standardised copies of all the support are never held at once.
   */
  static async build(
    blocks: readonly PixelBlock[],
    stats: FeatureStats,
    options: { chunkRows?: number; checkpoint?: () => Promise<void>; consume?: boolean } = {},
  ): Promise<SupportMatrix> {
    const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
    if (!(Number.isInteger(chunkRows) && chunkRows >= GROUP && chunkRows % GROUP === 0)) {
      throw new Error(`chunkRows must be a positive multiple of ${GROUP}, got ${chunkRows}`);
    }
    const channels = stats.mean.length;
    const chunks: SupportChunk[] = [];
    let labelled = 0;
    let positives = 0;
    const mean = tf.tensor2d(stats.mean as number[], [1, channels]);
    const std = tf.tensor2d(stats.std as number[], [1, channels]);
    try {
      for (const block of blocks) {
        if (block.features.shape[1] !== channels)
          throw new Error(`a block has ${block.features.shape[1]} features, the statistics ${channels}`);
        for (const m of block.mask) {
          if (m !== MASK_IGNORED) labelled++;
          if (m === MASK_CLASS) positives++;
        }
        const rows = block.features.shape[0];
        // Blocks of GROUP multiples split on group boundaries; a smaller block is one chunk.
        const step = rows > chunkRows ? chunkRows : rows;
        const weight = labelledWeights(block);
        const target = tf.tensor2d(
          Float32Array.from(block.mask, (m) => (m === MASK_CLASS ? 1 : 0)),
          [rows, 1],
        );
        try {
          for (let start = 0; start < rows; start += step) {
            const n = Math.min(step, rows - start);
            chunks.push(
              tf.tidy(() => {
                const x = n === rows ? block.features : tf.slice(block.features, [start, 0], [n, channels]);
                const z = tf.div(tf.sub(x, mean), std);
                return {
                  a: tf.concat([z, tf.ones([n, 1])], 1) as tf.Tensor2D,
                  target: (n === rows ? target.clone() : tf.slice(target, [start, 0], [n, 1])) as tf.Tensor2D,
                  weight: (n === rows ? weight.clone() : tf.slice(weight, [start, 0], [n, 1])) as tf.Tensor2D,
                  rows: n,
                  group: block.group,
                };
              }),
            );
            await options.checkpoint?.();
          }
        } finally {
          tf.dispose([weight, target]);
        }
        if (options.consume) block.features.dispose();
      }
    } catch (err) {
      tf.dispose(chunks.flatMap((c) => [c.a, c.target, c.weight]));
      throw err;
    } finally {
      tf.dispose([mean, std]);
    }
    return new SupportMatrix(chunks, channels + 1, labelled, positives);
  }

  /** θ (float64) as the [D, 1] float32 column the passes multiply by. */
  thetaTensor(theta: ArrayLike<number>): tf.Tensor2D {
    this.check();
    if (theta.length !== this.columns)
      throw new Error(`θ has ${theta.length} entries, the matrix ${this.columns} columns`);
    return tf.tensor2d(Float32Array.from(theta), [this.columns, 1]);
  }

  /**
   * One pass over the chunks at θ: `perChunk(chunk, z = A·θ)` returns the same number of
   * reduction tensors for every chunk (run inside tf.tidy); all are read back in one go, chunk k's
   * i-th at `offsets[k · perChunkCount + i]`. `checkpoint` runs before each chunk.
   */
  async pass(
    theta: ArrayLike<number>,
    perChunk: (chunk: SupportChunk, z: tf.Tensor2D) => tf.Tensor[],
    checkpoint?: () => Promise<void>,
  ): Promise<{ values: Float32Array; offsets: number[]; sizes: number[] }> {
    const thetaT = this.thetaTensor(theta);
    const parts: tf.Tensor[] = [];
    try {
      for (const c of this.chunks) {
        await checkpoint?.();
        parts.push(...tf.tidy(() => perChunk(c, tf.matMul(c.a, thetaT))));
      }
    } catch (err) {
      tf.dispose(parts);
      throw err;
    } finally {
      thetaT.dispose();
    }
    const { values, offsets } = await readAll(parts);
    return { values, offsets, sizes: parts.map((t) => t.size) };
  }

  check(): void {
    if (this.disposed) throw new Error('This support matrix has been disposed');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.chunks.flatMap((c) => [c.a, c.target, c.weight]));
  }
}
