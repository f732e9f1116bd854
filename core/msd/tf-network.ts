import * as tf from '@tensorflow/tfjs';
import { mirrorPad } from './mirror-pad.js';
import { checkMsdWeights, type MsdWeights } from './weights.js';

/**
 * The forward pass of a width-1 MSD network in TF.js, on any backend.
 *
 * Each layer's 3×3 convolution over all earlier channels is computed as a 1×1 product into its
 * nine taps, then a shift-and-add of those taps:
 *
 *   conv(mirrorPad(S, d), K)  =  Σ_t shift_t(mirrorPad(S · K_t, d))
 *
 * because reflection is an index remap and commutes with a per-pixel linear map. So only the
 * nine tap planes are padded, never the whole growing stack, and the expensive part is one
 * matrix product per layer (XNNPACK's fully-connected kernel on wasm, with the kernel as its
 * cached weights). The shift-and-add is a depthwise dilated convolution with a one-hot filter
 * followed by a channel sum, which on wasm costs half of a 9→1 convolution.
 *
 * The channel stack is never grown by concatenation: on wasm, concatenating along the channel
 * axis is a JavaScript loop over rows and cost more than the convolutions at depth 100. Maps
 * stay separate; they are packed into [pixels, k] blocks of 8 (stacked on the leading axis, a
 * memcpy, then a native transpose), equal-sized neighbouring blocks are merged, binary-counter
 * style, so a layer reads O(log depth) blocks plus one matrix restacked from the at most 7 maps
 * not yet in a block.
 * Measured on wasm in Node, one 256×256 patch (tools/bench-msd.ts --baseline): 2.0× faster than
 * padding and concatenating the whole stack at depth 25, 2.7× at 50, 2.9× at 100; and it keeps
 * 10 XNNPACK convolution operators per backend instead of one per layer.
 */

/** Maps per block before blocks are merged. 4, 8 and 16 measured within noise of each other on wasm. */
const BLOCK = 8;

export interface MsdNetwork {
  readonly inputChannels: number;
  readonly depth: number;
  /** The weights it was made from (kept by reference), for engines that run them without TF.js. */
  readonly weights: MsdWeights;
  /** The `depth` feature maps (the paper's g(x), without the input channels): [N, H, W, depth]. */
  features(x: tf.Tensor4D): tf.Tensor4D;
  /** The network's own output, σ of the 1×1 output layer: [N, H, W, 1]. */
  predict(x: tf.Tensor4D): tf.Tensor4D;
  /** Both, from one pass. */
  forward(x: tf.Tensor4D): { features: tf.Tensor4D; probability: tf.Tensor4D };
  /** Frees the weight tensors; the network cannot be used afterwards. */
  dispose(): void;
}

/** A run of consecutive feature maps [start, start + size) handled as one [pixels, size] matrix. */
type Segment = readonly [start: number, size: number];

/** The segments of earlier maps that layer `i` reads, for every layer (input channels excluded). */
function segmentPlan(depth: number): Segment[][] {
  const plan: Segment[][] = [];
  const blocks: [number, number][] = [];
  let covered = 0;
  for (let i = 0; i < depth; i++) {
    const segments: Segment[] = blocks.map(([s, n]) => [s, n] as const);
    if (covered < i) segments.push([covered, i - covered]);
    plan.push(segments);
    if (i + 1 - covered === BLOCK) {
      blocks.push([covered, BLOCK]);
      covered += BLOCK;
      while (blocks.length >= 2 && blocks[blocks.length - 1][1] === blocks[blocks.length - 2][1]) {
        const last = blocks.pop()!;
        blocks[blocks.length - 1][1] += last[1];
      }
    }
  }
  return plan;
}

/**
 * The one-hot depthwise filter [3, 3, 9, 1] that turns nine tap planes into their shifted sum:
 * channel t keeps only its own tap position (row-major 3×3). Shared by all live networks of a
 * backend because wasm keeps one XNNPACK operator, with an indirection buffer the size of the
 * input (2.4 MB at 256×256), per filter tensor and dilation.
 */
const selectors = new Map<string, { filter: tf.Tensor4D; users: number }>();

function acquireSelector(): { filter: tf.Tensor4D; release(): void } {
  const backend = tf.getBackend();
  let entry = selectors.get(backend);
  if (!entry) {
    const values = new Float32Array(81);
    for (let t = 0; t < 9; t++) values[t * 9 + t] = 1;
    entry = { filter: tf.tensor4d(values, [3, 3, 9, 1]), users: 0 };
    selectors.set(backend, entry);
  }
  entry.users++;
  const held = entry;
  return {
    filter: held.filter,
    release() {
      if (--held.users === 0) {
        held.filter.dispose();
        if (selectors.get(backend) === held) selectors.delete(backend);
      }
    },
  };
}

/**
 * Uploads the weights once and returns a network to run on many inputs. Inputs are NHWC RGB
 * (or whatever `inputChannels` are) on the 0..255 scale, float32 or int32; normalisation by the
 * stored mean and std happens inside. Every call returns new tensors the caller disposes and
 * leaves nothing else behind.
 */
export function createMsd(weights: MsdWeights): MsdNetwork {
  checkMsdWeights(weights);
  const c = weights.inputChannels;
  const depth = weights.layers.length;
  const plan = segmentPlan(depth);

  // Layer kernels as [channels, 9] tap matrices, split by the rows each segment covers.
  const inputTaps: tf.Tensor2D[] = [];
  const segmentTaps: tf.Tensor2D[][] = [];
  weights.layers.forEach((layer, i) => {
    const channels = c + i;
    const m = new Float32Array(channels * 9);
    for (let t = 0; t < 9; t++) for (let k = 0; k < channels; k++) m[k * 9 + t] = layer.kernel[t * channels + k];
    inputTaps.push(tf.tensor2d(m.subarray(0, c * 9), [c, 9]));
    segmentTaps.push(plan[i].map(([s, n]) => tf.tensor2d(m.subarray((c + s) * 9, (c + s + n) * 9), [n, 9])));
  });
  const biases = weights.layers.map((layer) => tf.scalar(layer.bias));
  const selector = acquireSelector();
  const outInput = tf.tensor2d(weights.output.weights.slice(0, c), [c, 1]);
  const outMaps = tf.tensor2d(weights.output.weights.slice(c), [depth, 1]);
  const outBias = tf.scalar(weights.output.bias);
  const mean = tf.tensor1d(Array.from(weights.normalisation.mean));
  const std = tf.tensor1d(Array.from(weights.normalisation.std));
  const owned: tf.Tensor[] = [...inputTaps, ...segmentTaps.flat(), ...biases, outInput, outMaps, outBias, mean, std];
  let disposed = false;

  function check(x: tf.Tensor4D): void {
    if (disposed) throw new Error('This MSD network has been disposed');
    if (x.rank !== 4) throw new Error(`MSD input must be NHWC (rank 4), got shape [${x.shape.join(', ')}]`);
    if (x.shape[3] !== c) throw new Error(`MSD input has ${x.shape[3]} channels, the network expects ${c}`);
    if (x.shape.some((s) => s < 1)) throw new Error(`MSD input is empty: shape [${x.shape.join(', ')}]`);
  }

  /** Input channels as [pixels, C] and all maps as [pixels, depth], inside the caller's tidy. */
  function run(x: tf.Tensor4D): { input: tf.Tensor2D; maps: tf.Tensor2D } {
    const [n, h, w] = x.shape;
    const pixels = n * h * w;
    const input = tf.tidy(
      () => tf.reshape(tf.div(tf.sub(tf.cast(x, 'float32'), mean), std), [pixels, c]) as tf.Tensor2D,
    );
    const maps: tf.Tensor1D[] = [];
    // Segment matrices live from the layer that first needs them until the first that doesn't.
    const live = new Map<string, tf.Tensor2D>();
    const segmentMatrix = ([s, size]: Segment): tf.Tensor2D => {
      const key = `${s}+${size}`;
      let m = live.get(key);
      if (!m) {
        m =
          size === 1
            ? tf.reshape(maps[s], [pixels, 1])
            : tf.tidy(() => tf.transpose(tf.stack(maps.slice(s, s + size), 0)) as tf.Tensor2D);
        live.set(key, m);
      }
      return m;
    };
    weights.layers.forEach((layer, i) => {
      const d = layer.dilation;
      const sources = plan[i].map(segmentMatrix);
      const map = tf.tidy(() => {
        let taps = tf.matMul(input, inputTaps[i]);
        sources.forEach((m, k) => {
          // Chained adds, never addN: webgpu fails on addN with more than 8 inputs.
          taps = tf.add(taps, tf.matMul(m, segmentTaps[i][k]));
        });
        const padded = mirrorPad(tf.reshape(taps, [n, h, w, 9]), d);
        const shifted = tf.depthwiseConv2d(padded, selector.filter, 1, 'valid', 'NHWC', d);
        return tf.reshape(tf.relu(tf.add(tf.sum(shifted, 3), biases[i])), [pixels]) as tf.Tensor1D;
      });
      maps.push(map);
      const next = new Set((plan[i + 1] ?? []).map(([s, size]) => `${s}+${size}`));
      for (const [key, m] of live) {
        if (!next.has(key)) {
          m.dispose();
          live.delete(key);
        }
      }
    });
    const all = tf.tidy(() => tf.transpose(tf.stack(maps, 0)) as tf.Tensor2D);
    tf.dispose(maps);
    return { input, maps: all };
  }

  const probabilityOf = (input: tf.Tensor2D, maps: tf.Tensor2D, shape: readonly number[]): tf.Tensor4D =>
    tf.reshape(tf.sigmoid(tf.add(tf.add(tf.matMul(input, outInput), tf.matMul(maps, outMaps)), outBias)), [
      shape[0],
      shape[1],
      shape[2],
      1,
    ]);

  return {
    inputChannels: c,
    depth,
    weights,
    features(x) {
      check(x);
      return tf.tidy(() => tf.reshape(run(x).maps, [x.shape[0], x.shape[1], x.shape[2], depth]));
    },
    predict(x) {
      check(x);
      return tf.tidy(() => {
        const { input, maps } = run(x);
        return probabilityOf(input, maps, x.shape);
      });
    },
    forward(x) {
      check(x);
      return tf.tidy(() => {
        const { input, maps } = run(x);
        return {
          features: tf.reshape(maps, [x.shape[0], x.shape[1], x.shape[2], depth]) as tf.Tensor4D,
          probability: probabilityOf(input, maps, x.shape),
        };
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose(owned);
      selector.release();
    },
  };
}

/** One-off feature maps: uploads the weights, runs, frees them. Use createMsd for repeated calls. */
export function msdFeatures(weights: MsdWeights, x: tf.Tensor4D): tf.Tensor4D {
  const net = createMsd(weights);
  try {
    return net.features(x);
  } finally {
    net.dispose();
  }
}

/** One-off probability map [N, H, W, 1]. Use createMsd for repeated calls. */
export function msdPredict(weights: MsdWeights, x: tf.Tensor4D): tf.Tensor4D {
  const net = createMsd(weights);
  try {
    return net.predict(x);
  } finally {
    net.dispose();
  }
}
