import * as tf from '@tensorflow/tfjs';
import { MsdWorkspace, packMsdParams } from '../msd/engine.js';
import { extractorClasses, type ExtractorSet } from '../msd/extractor-signature.js';
import { openFeatureExtractor } from '../msd/feature-extractor.js';
import { webgpuDevice } from '../msd/tf-webgpu-device.js';
import { WebGpuMsd } from '../msd/webgpu-msd.js';
import { checkMsdWeights } from '../msd/weights.js';
import { AdaptError, cooperativeCheckpoint } from './adapt-error.js';
import { checkSupport, MASK_BACKGROUND, MASK_CLASS, type SupportPatch } from './support-patch.js';

/**
 * The features of support patches written straight into pixel-major float32 rows, one per
 * labelled pixel (support-rows.ts), by the MSD training engine's forward pass (engine.ts:
 * mirror-padded planes, convolutions as WebAssembly SIMD, plain JS where SIMD is missing), by the
 * fused WebGPU kernels (webgpu-msd.ts) on webgpu, or by TF.js (webgl).
 *
 * Why the engine on wasm and cpu: per 256² patch and depth-25 extractor TF.js wasm takes ~170 ms,
 * the engine ~30 ms (core/inference/simd-patch-model.ts, tools/bench-patch-model.ts); and its
 * planes are read pixel by pixel into the rows, so no [pixels, C'] tensor is built, downloaded
 * and masked.
 */

/** One patch's labelled pixels: row-major indices y · W + x of the class's, then of the background's. */
export interface LabelledPixels {
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

export function labelledPixels(mask: Uint8Array): LabelledPixels {
  let p = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === MASK_CLASS) p++;
    else if (mask[i] === MASK_BACKGROUND) n++;
  }
  const positive = new Int32Array(p);
  const negative = new Int32Array(n);
  p = n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === MASK_CLASS) positive[p++] = i;
    else if (mask[i] === MASK_BACKGROUND) negative[n++] = i;
  }
  return { positive, negative };
}

/**
 * Where a patch's features go: its class pixels' rows from `positive`, its background pixels'
 * from `negative` (row indices into `out`, rows of `stride` floats, the features from column 0).
 */
export interface RowTarget {
  readonly out: Float32Array;
  readonly stride: number;
  readonly positive: number;
  readonly negative: number;
}

export type SupportFeatureKind = 'msd-simd' | 'msd-js' | 'msd-webgpu' | 'tfjs';

export interface SupportFeatureWriter {
  /** What computes the features. */
  readonly kind: SupportFeatureKind;
  /** C' = Σ depths. */
  readonly channels: number;
  /** Writes the features of one patch's labelled pixels into `target`. */
  write(patch: SupportPatch, pixels: LabelledPixels, target: RowTarget): Promise<void>;
  dispose(): void;
}

/** The engine's forward pass, one workspace per patch size (as deep as the deepest extractor). */
export function msdFeatureWriter(set: ExtractorSet, options: { simd?: boolean } = {}): SupportFeatureWriter {
  const classes = extractorClasses(set);
  if (classes.length === 0) throw new AdaptError('no-extractors', 'no feature extractors were given');
  const weights = classes.map((c) => c.weights);
  weights.forEach(checkMsdWeights);
  const inputChannels = weights[0].inputChannels;
  if (weights.some((w) => w.inputChannels !== 3))
    throw new Error(`support patches are RGB: every extractor must take 3 input channels`);
  const params = weights.map(packMsdParams);
  const depth = Math.max(...weights.map((w) => w.layers.length));
  const channels = weights.reduce((sum, w) => sum + w.layers.length, 0);
  const simd = options.simd ?? true;
  const usesSimd = new MsdWorkspace({ inputChannels, depth, height: 1, width: 1, samples: 1, training: false, simd })
    .usesSimd;
  let workspace: MsdWorkspace | undefined;
  return {
    kind: usesSimd ? 'msd-simd' : 'msd-js',
    channels,
    async write(patch, pixels, target) {
      const { width, height, rgb } = patch;
      if (workspace?.width !== width || workspace.height !== height) {
        workspace = undefined;
        workspace = new MsdWorkspace({ inputChannels, depth, height, width, samples: 1, training: false, simd });
      }
      let column = 0;
      weights.forEach((w, e) => {
        const layers = w.layers.length;
        workspace!.forwardFeatures(0, params[e], rgb, w.normalisation, layers);
        const { out, stride } = target;
        workspace!.gatherMaps(0, layers, pixels.positive, out, target.positive * stride + column, stride);
        workspace!.gatherMaps(0, layers, pixels.negative, out, target.negative * stride + column, stride);
        column += layers;
      });
    },
    dispose() {
      workspace = undefined;
    },
  };
}

/**
 * The fused WebGPU kernels (core/msd/webgpu-msd.ts) on `device`: the patch's forward on the GPU,
 * only its labelled pixels' rows read back (gathered there in the support matrix's layout).
 */
export function webgpuFeatureWriter(set: ExtractorSet, device: GPUDevice): SupportFeatureWriter {
  const classes = extractorClasses(set);
  if (classes.length === 0) throw new AdaptError('no-extractors', 'no feature extractors were given');
  const msd = new WebGpuMsd(
    device,
    classes.map((c) => c.weights),
  );
  const channels = msd.channels;
  return {
    kind: 'msd-webgpu',
    channels,
    async write(patch, pixels, target) {
      const np = pixels.positive.length;
      const both = new Int32Array(np + pixels.negative.length);
      both.set(pixels.positive);
      both.set(pixels.negative, np);
      const rows = await msd.features(patch.rgb, patch.width, patch.height, both);
      const { out, stride } = target;
      for (let k = 0; k < both.length; k++) {
        const row = (k < np ? target.positive + k : target.negative + k - np) * stride;
        out.set(rows.subarray(k * channels, (k + 1) * channels), row);
      }
    },
    dispose() {
      msd.dispose();
    },
  };
}

/** TF.js features (feature-extractor.ts) on the active backend, downloaded once per patch. */
export function tfjsFeatureWriter(set: ExtractorSet): SupportFeatureWriter {
  const extractor = openFeatureExtractor(set);
  const channels = extractor.channels;
  return {
    kind: 'tfjs',
    channels,
    async write(patch, pixels, target) {
      const { rgb, width, height } = patch;
      const features = tf.tidy(() => extractor.features(tf.tensor4d(rgb, [1, height, width, 3], 'int32')));
      let x: Float32Array;
      try {
        // data(), never dataSync(): webgpu's dataSync has returned zeros (ENVIRONMENT.md).
        x = (await features.data()) as Float32Array;
      } finally {
        features.dispose();
      }
      const { out, stride } = target;
      const copy = (indices: Int32Array, first: number) => {
        for (let k = 0; k < indices.length; k++) {
          const p = indices[k] * channels;
          out.set(x.subarray(p, p + channels), (first + k) * stride);
        }
      };
      copy(pixels.positive, target.positive);
      copy(pixels.negative, target.negative);
    },
    dispose() {
      extractor.dispose();
    },
  };
}

/**
 * Who computes support features: 'auto' is the MSD engine on the wasm and cpu backends, the fused
 * WebGPU kernels on webgpu (on TF.js's device), TF.js on webgl.
 */
export type SupportFeatureChoice = 'auto' | 'msd' | 'tfjs';

/** The writer `choice` means on the active TF.js backend. */
export function supportFeatureWriter(set: ExtractorSet, choice: SupportFeatureChoice = 'auto'): SupportFeatureWriter {
  const backend = tf.getBackend();
  const device = choice === 'auto' ? webgpuDevice() : undefined;
  if (device) return webgpuFeatureWriter(set, device);
  const msd = choice === 'msd' || (choice === 'auto' && (backend === 'wasm' || backend === 'cpu'));
  return msd ? msdFeatureWriter(set) : tfjsFeatureWriter(set);
}

/**
 * One patch's features as adapt() takes them precomputed (AdaptControl.features): C' floats per
 * labelled pixel, the class's pixels then the background's, each in labelledPixels' order. What a
 * worker sends back for its share of the support set (worker/protocol.ts 'support-features').
 */
export interface PatchFeatures {
  /** C'. */
  readonly channels: number;
  readonly positive: Float32Array;
  readonly negative: Float32Array;
  readonly kind: SupportFeatureKind;
}

/** Throws unless `features` can be patch `k`'s: C' and its counts of class and background pixels. */
export function checkPatchFeatures(features: PatchFeatures, pixels: LabelledPixels, channels: number, k: number): void {
  const ok =
    features.channels === channels &&
    features.positive instanceof Float32Array &&
    features.negative instanceof Float32Array &&
    features.positive.length === pixels.positive.length * channels &&
    features.negative.length === pixels.negative.length * channels;
  if (!ok)
    throw new AdaptError(
      'bad-patch',
      `the features given for support patch ${k} do not fit it: ${features.channels} channels, ` +
        `${features.positive?.length} + ${features.negative?.length} values, ` +
        `for ${pixels.positive.length} class and ${pixels.negative.length} background pixels of ${channels} features`,
    );
}

/** Copies precomputed features into rows (the same places a writer would write them). */
export function copyPatchFeatures(features: PatchFeatures, target: RowTarget): void {
  const { channels, positive, negative } = features;
  const { out, stride } = target;
  for (let k = 0, n = positive.length / channels; k < n; k++)
    out.set(positive.subarray(k * channels, (k + 1) * channels), (target.positive + k) * stride);
  for (let k = 0, n = negative.length / channels; k < n; k++)
    out.set(negative.subarray(k * channels, (k + 1) * channels), (target.negative + k) * stride);
}

/**
 * The features of support patches for an adaptation that runs elsewhere: a worker's share,
 * computed as adapt() would and returned as compact arrays (each its own buffer, so it can be
 * transferred). Checks the patches as adapt() does; aborts between patches.
 */
export async function supportPatchFeatures(
  support: readonly SupportPatch[],
  extractors: ExtractorSet,
  options: { readonly features?: SupportFeatureChoice } = {},
  control: { readonly signal?: AbortSignal; readonly onPatch?: (done: number) => void } = {},
): Promise<PatchFeatures[]> {
  if (support.length > 0) checkSupportPatches(support);
  const checkpoint = cooperativeCheckpoint(control.signal);
  await checkpoint();
  const writer = supportFeatureWriter(extractors, options.features);
  try {
    const channels = writer.channels;
    const result: PatchFeatures[] = [];
    for (let k = 0; k < support.length; k++) {
      const pixels = labelledPixels(support[k].mask);
      const np = pixels.positive.length;
      const out = new Float32Array((np + pixels.negative.length) * channels);
      await writer.write(support[k], pixels, { out, stride: channels, positive: 0, negative: np });
      // Two arrays over their own buffers: slice copies, so each transfers on its own.
      result.push({
        channels,
        positive: out.slice(0, np * channels),
        negative: out.slice(np * channels),
        kind: writer.kind,
      });
      control.onPatch?.(k + 1);
      await checkpoint();
    }
    return result;
  } finally {
    writer.dispose();
  }
}

/** checkSupport's checks of each patch (sizes, mask values), without requiring both classes in this share. */
function checkSupportPatches(support: readonly SupportPatch[]): void {
  try {
    checkSupport(support);
  } catch (err) {
    if (err instanceof AdaptError && (err.code === 'no-positive' || err.code === 'no-negative')) return;
    throw err;
  }
}
