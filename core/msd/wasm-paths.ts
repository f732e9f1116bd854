// Where TF.js' wasm binaries are, without TF.js (tf-backend.ts hands them to it), so the plugin's
// public types and the worker protocol reach no TF.js types.

/** The binaries of TF.js' wasm backend: plain, SIMD, and SIMD with threads (cross-origin isolated pages). */
export const TFJS_WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;
export type TfjsWasmFile = (typeof TFJS_WASM_FILES)[number];

/**
 * Where the wasm backend fetches its binaries: a folder URL ending in '/', or each file's URL by
 * its name (a bundler gives each emitted file a name of its own).
 */
export type WasmPaths = string | Readonly<Record<TfjsWasmFile, string>>;
