/**
 * A plain-loop, float64 forward pass of a width-1 MSD network, written from the definition
 * (Pelt & Sethian 2018; docs/ARCHITECTURE.md#feature-extractors) and sharing nothing with the TF.js code but the
 * weight layout and the reflection rule. Slow on purpose: every tap is one explicit index.
 */
import { reflectIndex } from '../../../core/msd/reflect-index.js';
import type { MsdWeights } from '../../../core/msd/weights.js';

export interface ReferenceImage {
  readonly height: number;
  readonly width: number;
  /** height × width × inputChannels, row-major, channels last, values on the 0..255 scale. */
  readonly pixels: ArrayLike<number>;
}

export interface ReferenceOutput {
  /** height × width × depth, channels last: the feature maps only, not the input channels. */
  readonly features: Float64Array;
  /** height × width: σ of the 1×1 output layer. */
  readonly probability: Float64Array;
}

export function referenceForward(weights: MsdWeights, image: ReferenceImage): ReferenceOutput {
  const { height: h, width: w, pixels } = image;
  const c = weights.inputChannels;
  const depth = weights.layers.length;
  const plane = h * w;
  if (pixels.length !== plane * c) throw new Error(`expected ${plane * c} pixel values, got ${pixels.length}`);

  // channels[k] is one full-size plane: the c normalised inputs, then each map as it is made.
  const channels: Float64Array[] = [];
  for (let k = 0; k < c; k++) {
    const m = new Float64Array(plane);
    for (let p = 0; p < plane; p++)
      m[p] = (pixels[p * c + k] - weights.normalisation.mean[k]) / weights.normalisation.std[k];
    channels.push(m);
  }

  for (let i = 0; i < depth; i++) {
    const layer = weights.layers[i];
    const dilation = (i % 10) + 1;
    if (layer.dilation !== dilation)
      throw new Error(`layer ${i} has dilation ${layer.dilation}, the definition says ${dilation}`);
    const inChannels = c + i;
    if (layer.kernel.length !== 9 * inChannels)
      throw new Error(`layer ${i}: kernel has ${layer.kernel.length} values, expected ${9 * inChannels}`);
    const map = new Float64Array(plane);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = layer.bias;
        for (let ky = 0; ky < 3; ky++) {
          const sy = reflectIndex(y + (ky - 1) * dilation, h);
          for (let kx = 0; kx < 3; kx++) {
            const sx = reflectIndex(x + (kx - 1) * dilation, w);
            for (let k = 0; k < inChannels; k++) {
              sum += layer.kernel[(ky * 3 + kx) * inChannels + k] * channels[k][sy * w + sx];
            }
          }
        }
        map[y * w + x] = sum > 0 ? sum : 0;
      }
    }
    channels.push(map);
  }

  const features = new Float64Array(plane * depth);
  const probability = new Float64Array(plane);
  for (let p = 0; p < plane; p++) {
    let z = weights.output.bias;
    for (let k = 0; k < c + depth; k++) z += weights.output.weights[k] * channels[k][p];
    probability[p] = 1 / (1 + Math.exp(-z));
    for (let j = 0; j < depth; j++) features[p * depth + j] = channels[c + j][p];
  }
  return { features, probability };
}
