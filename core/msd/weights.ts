import { SeededRandom } from '../math/seeded-random.js';

/**
 * The parameters of a mixed-scale dense (MSD) network of width 1 (Pelt & Sethian, PNAS 2018):
 * layer i is one 3×3 convolution with dilation (i mod 10) + 1 over the input's channels and
 * all i earlier feature maps, plus a bias, then ReLU; the output is a 1×1 convolution over the
 * input and all feature maps, then a sigmoid. Plain arrays, no TF.js: they are what bundles
 * store, what training updates and what every backend's forward pass reads.
 */
export interface MsdLayer {
  readonly dilation: number;
  /** 3 × 3 × inChannels, in TF.js conv2d filter order [row][column][channel] (out = 1). */
  readonly kernel: Float32Array;
  readonly bias: number;
}

export interface MsdWeights {
  readonly inputChannels: number;
  readonly layers: readonly MsdLayer[];
  /** 1×1 output layer: one weight per input channel then per feature map, and a bias. */
  readonly output: { readonly weights: Float32Array; readonly bias: number };
  /** Per-input-channel mean and standard deviation of the training data (on 0..255 values). */
  readonly normalisation: { readonly mean: readonly number[]; readonly std: readonly number[] };
}

export function dilationOf(layer: number): number {
  return (layer % 10) + 1;
}

/** Throws, naming the defect, unless the weights describe a width-1 MSD network this code can run. */
export function checkMsdWeights(weights: MsdWeights): void {
  const c = weights.inputChannels;
  const depth = weights.layers.length;
  if (!Number.isInteger(c) || c < 1) throw new Error(`MSD weights: inputChannels must be a positive integer, got ${c}`);
  if (depth < 1) throw new Error('MSD weights: the network has no layers');
  weights.layers.forEach((layer, i) => {
    if (!Number.isInteger(layer.dilation) || layer.dilation < 1) {
      throw new Error(`MSD weights: layer ${i} has dilation ${layer.dilation}; it must be a positive integer`);
    }
    if (layer.kernel.length !== 9 * (c + i)) {
      throw new Error(
        `MSD weights: layer ${i} has ${layer.kernel.length} kernel values, expected 3·3·${c + i} = ${9 * (c + i)}`,
      );
    }
  });
  if (weights.output.weights.length !== c + depth) {
    throw new Error(
      `MSD weights: the output layer has ${weights.output.weights.length} weights, expected ${c} + ${depth}`,
    );
  }
  const { mean, std } = weights.normalisation;
  if (mean.length !== c || std.length !== c) {
    throw new Error(
      `MSD weights: normalisation needs ${c} means and standard deviations, got ${mean.length} and ${std.length}`,
    );
  }
  if (std.some((s) => !(s > 0)))
    throw new Error('MSD weights: every normalisation standard deviation must be positive');
}

/** Channels seen by layer `i`: the input's plus the i earlier maps. */
export function layerInChannels(inputChannels: number, layer: number): number {
  return inputChannels + layer;
}

/**
 * The reference code's initialisation: filters ~ N(0, sqrt(2 / (9·(C + depth − 1) + 1))),
 * output weights and all biases zero. `gaussian` draws N(0, 1).
 */
export function initMsdWeights(
  inputChannels: number,
  depth: number,
  gaussian: () => number,
  normalisation: MsdWeights['normalisation'] = {
    mean: Array(inputChannels).fill(0),
    std: Array(inputChannels).fill(1),
  },
): MsdWeights {
  const sigma = Math.sqrt(2 / (9 * (inputChannels + depth - 1) + 1));
  const layers: MsdLayer[] = [];
  for (let i = 0; i < depth; i++) {
    const kernel = new Float32Array(9 * layerInChannels(inputChannels, i));
    for (let k = 0; k < kernel.length; k++) kernel[k] = sigma * gaussian();
    layers.push({ dilation: dilationOf(i), kernel, bias: 0 });
  }
  return {
    inputChannels,
    layers,
    output: { weights: new Float32Array(inputChannels + depth), bias: 0 },
    normalisation,
  };
}

/** A seeded N(0, 1) source, so that initialisation is reproducible. */
export function seededGaussian(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.gaussian();
}
