import type { HeadPatchModel, LinearHead } from './head-patch-model.js';
import { WebGpuMsd } from '../msd/webgpu-msd.js';
import type { MsdWeights } from '../msd/weights.js';
import type { PatchModel } from './patch-model.js';

/**
 * The head patch model on the fused WebGPU kernels (core/msd/webgpu-msd.ts): every extractor's
 * forward and the head in one submit per patch or whole tile, only the probabilities read back.
 * What the webgpu backend runs instead of TF.js's per-layer ops (head-patch-model.ts), as the SIMD
 * engine replaces them on wasm and cpu (simd-patch-model.ts); same inputs, mirror padding,
 * normalisation and output within float32 rounding.
 */
export function createWebGpuHeadPatchModel(
  head: LinearHead,
  extractors: readonly MsdWeights[],
  device: GPUDevice,
): HeadPatchModel {
  const channels = extractors.reduce((sum, e) => sum + e.layers.length, 0);
  if (head.W.length !== channels)
    throw new Error(`the head has ${head.W.length} weights, the extractors give ${channels} features`);
  if (!Number.isFinite(head.b) || !Array.from(head.W).every(Number.isFinite))
    throw new Error('the head has a weight that is not a finite number');
  const msd = new WebGpuMsd(device, extractors);
  const gpuHead = { W: Float32Array.from(head.W), b: head.b };
  const model: PatchModel = (rgb, width, height, signal) => msd.predict(rgb, width, height, gpuHead, signal);
  return { model, dispose: () => msd.dispose() };
}
