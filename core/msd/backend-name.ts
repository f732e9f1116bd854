// The backends' names without TF.js (tf-backend.ts loads them), so the plugin's public types and
// the worker protocol reach no TF.js types.

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Fastest first, on a machine with a real GPU. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
