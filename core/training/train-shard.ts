import { MsdWorkspace } from '../msd/engine.js';
import { accumulateDice, diceLossGradient, emptyDiceSums, type DiceSums } from '../math/dice.js';
import type { Crop, MaskedImage } from './crop-sampler.js';
import type { MsdWeights } from '../msd/weights.js';

export interface ShardShape {
  readonly inputChannels: number;
  readonly depth: number;
  /** Edge of the square training crops. */
  readonly crop: number;
  /** Most crops this shard is given per step. */
  readonly samples: number;
}

/** Pooled Dice sums over validation pixels: thresholded at 0.5 (`hard`) and as probabilities (`soft`). */
export interface ValidationSums {
  readonly hard: DiceSums;
  readonly soft: DiceSums;
}

/**
 * One thread's share of the training work. A step is two phases because the batch Dice couples
 * every pixel of the batch: `forward` returns this shard's Dice sums, and once the caller has
 * added every shard's sums, `backward` turns the batch-wide coefficients into this shard's
 * parameter gradient.
 */
export class MsdTrainShard {
  readonly shape: ShardShape;
  private readonly workspace: MsdWorkspace;
  private masks: Uint8Array[] = [];
  private params: Float32Array | undefined;
  private validation: readonly MaskedImage[] = [];
  private validationWorkspace: MsdWorkspace | undefined;

  constructor(shape: ShardShape) {
    this.shape = shape;
    this.workspace = new MsdWorkspace({
      inputChannels: shape.inputChannels,
      depth: shape.depth,
      height: shape.crop,
      width: shape.crop,
      samples: Math.max(1, shape.samples),
      training: true,
    });
  }

  forward(params: Float32Array, normalisation: MsdWeights['normalisation'], crops: readonly Crop[]): DiceSums {
    if (crops.length > this.shape.samples)
      throw new Error(`a shard sized for ${this.shape.samples} crops got ${crops.length}`);
    this.params = params;
    this.masks = crops.map((c) => c.mask);
    const sums = emptyDiceSums();
    crops.forEach((c, s) => accumulateDice(sums, this.workspace.forward(s, params, c.rgb, normalisation), c.mask));
    return sums;
  }

  /** dL/dθ summed over this shard's crops, where dL/dp = a·t + b (see diceGradient). */
  backward(g: { a: number; b: number }): Float64Array {
    const params = this.params;
    if (!params) throw new Error('backward before forward');
    const grad = new Float64Array(this.workspace.layout.size);
    const dLoss = new Float32Array(this.shape.crop * this.shape.crop);
    this.masks.forEach((mask, s) => {
      diceLossGradient(g, mask, dLoss);
      this.workspace.backward(s, params, dLoss, grad);
    });
    return grad;
  }

  setValidation(images: readonly MaskedImage[]): void {
    this.validation = images;
  }

  validate(params: Float32Array, normalisation: MsdWeights['normalisation']): ValidationSums {
    const hard = emptyDiceSums();
    const soft = emptyDiceSums();
    for (const im of this.validation) {
      let ws = this.validationWorkspace;
      if (!ws || ws.height !== im.height || ws.width !== im.width) {
        // Drop the previous size's buffers first: a 1000² workspace is over 100 MB.
        this.validationWorkspace = undefined;
        ws = this.validationWorkspace = new MsdWorkspace({
          inputChannels: this.shape.inputChannels,
          depth: this.shape.depth,
          height: im.height,
          width: im.width,
          samples: 1,
          training: false,
        });
      }
      const p = ws.forward(0, params, im.rgb, normalisation);
      accumulateDice(soft, p, im.mask);
      let i = 0,
        n = 0,
        t = 0;
      for (let k = 0; k < p.length; k++) {
        const on = p[k] > 0.5 ? 1 : 0;
        i += on & im.mask[k];
        n += on;
        t += im.mask[k];
      }
      hard.intersection += i;
      hard.predicted += n;
      hard.target += t;
    }
    return { hard, soft };
  }
}
