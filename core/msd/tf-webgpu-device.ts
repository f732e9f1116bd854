import * as tf from '@tensorflow/tfjs';

/**
 * The GPUDevice of TF.js's webgpu backend when it is the active one (else undefined): the fused
 * MSD kernels (webgpu-msd.ts) run on it, so a worker holds one device, with the adapter's largest
 * buffer limits, which TF.js asks for. Apart from tf-backend.ts so that a page can reach it without
 * the wasm backend (tools/bench-gpu-page.ts).
 */
export function webgpuDevice(): GPUDevice | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  return (tf.backend() as unknown as { device?: GPUDevice }).device;
}
