import { MsdTrainShard, type ValidationSums } from './train-shard.js';
import { diceGradient, diceLoss, type DiceSums } from '../math/dice.js';
import type { Crop, MaskedImage } from './crop-sampler.js';
import type { MsdWeights } from '../msd/weights.js';

export interface TrainEngineShape {
  readonly inputChannels: number;
  readonly depth: number;
  readonly crop: number;
  readonly batch: number;
}

/**
 * Where the trainer's arithmetic runs: in this thread, or spread over threads (Node:
 * tools/train-threads.ts). The trainer only sees batch losses and gradients.
 */
export interface TrainEngine {
  /** Batch soft-Dice loss of the crops and its gradient w.r.t. the flat parameters. */
  step(
    params: Float32Array,
    normalisation: MsdWeights['normalisation'],
    crops: readonly Crop[],
  ): Promise<{ loss: number; sums: DiceSums; grad: Float64Array }>;
  setValidation(images: readonly MaskedImage[]): Promise<void>;
  validate(params: Float32Array, normalisation: MsdWeights['normalisation']): Promise<ValidationSums>;
  close(): Promise<void>;
}

export type TrainEngineFactory = (shape: TrainEngineShape) => TrainEngine | Promise<TrainEngine>;

/** Everything in the calling thread: one shard holding the whole batch. */
export const localTrainEngine: TrainEngineFactory = (shape) => {
  const shard = new MsdTrainShard({
    inputChannels: shape.inputChannels,
    depth: shape.depth,
    crop: shape.crop,
    samples: shape.batch,
  });
  return {
    async step(params, normalisation, crops) {
      const sums = shard.forward(params, normalisation, crops);
      return { loss: diceLoss(sums), sums, grad: shard.backward(diceGradient(sums)) };
    },
    async setValidation(images) {
      shard.setValidation(images);
    },
    async validate(params, normalisation) {
      return shard.validate(params, normalisation);
    },
    async close() {},
  };
};
