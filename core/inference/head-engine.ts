// Without TF.js, so the worker protocol and the plugin's public types can name it.

/**
 * What computes a head's forward: the fused WebGPU kernels (webgpu-patch-model.ts), the SIMD
 * engine or its plain-JS fallback (simd-patch-model.ts), or TF.js's ops (head-patch-model.ts).
 */
export type HeadEngine = 'msd-webgpu' | 'msd-simd' | 'msd-js' | 'tfjs';
