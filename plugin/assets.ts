import { loadBundle, type ExtractorBundle } from '../core/msd/bundle.js';
import type { TfjsWasmFile } from '../core/msd/wasm-paths.js';
import type { ExtractorSource, WorkerAssets } from '../worker/protocol.js';

/**
 * The files the plugin loads by URL: the worker, TF.js' and OpenJPEG's WebAssembly, the shipped
 * extractors. Each is named by a static `new URL('literal', import.meta.url)`, which rollup keeps
 * as it is in dist/index.js, so that the host app's bundler (Vite, webpack 5, Parcel) sees every
 * file, emits it and rewrites the URL: a host app copies nothing and passes no option. The worker
 * is told the resolved URLs (`set-assets`) and never works them out from its own location.
 *
 * This module sits one folder deep in the sources (plugin/) as dist/index.js does in the build,
 * and the build puts worker.js and the .wasm files beside dist/index.js: the same literals resolve
 * in both (the test server answers the .wasm names under any folder); keep it at this depth.
 */

// The literals must stay literals, each whole in one `new URL(…, import.meta.url)`: a bundler
// follows nothing else. (esbuild follows none of them; see the README's "Installing".)
const PACKAGED = {
  worker: () => new URL('./worker.js', import.meta.url),
  'tfjs-backend-wasm.wasm': () => new URL('./tfjs-backend-wasm.wasm', import.meta.url),
  'tfjs-backend-wasm-simd.wasm': () => new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url),
  'tfjs-backend-wasm-threaded-simd.wasm': () => new URL('./tfjs-backend-wasm-threaded-simd.wasm', import.meta.url),
  openjpeg: () => new URL('./openjpegwasm_decode.wasm', import.meta.url),
  extractorsManifest: () => new URL('../models/default/extractors.json', import.meta.url),
  extractorsWeights: () => new URL('../models/default/extractors.bin', import.meta.url),
};

/** Every file the plugin loads by URL, resolved. */
export interface PluginAssets {
  /** The module worker (dist/worker.js: one file, no chunks). */
  readonly worker: URL;
  /** TF.js' wasm binaries by file name. */
  readonly tfjsWasm: Readonly<Record<TfjsWasmFile, URL>>;
  /** OpenJPEG's decoder, for JPEG 2000 slides. */
  readonly openjpegWasm: URL;
  /** The shipped extractor set (models/default, CoNSeP; models/README.md): manifest and weights. */
  readonly extractors: { readonly manifest: URL; readonly weights: URL };
}

export interface AssetOptions {
  /**
   * Where the package's files are served instead of where the bundler put them: the URL of a folder
   * laid out as the package is (`dist/worker.js`, `dist/*.wasm`, `models/default/…`), e.g. a CDN's
   * `https://cdn.jsdelivr.net/npm/openseadragon-fewshot@0.1.0/` or a copy of the package under the
   * host's own static files. Relative URLs resolve against the page.
   */
  readonly assetsBaseUrl?: URL | string;
  /** The worker's URL (wins over assetsBaseUrl), e.g. the sources' worker entry in tests. */
  readonly workerUrl?: URL | string;
  /** A folder URL (ending in '/') holding the TF.js wasm binaries (wins over assetsBaseUrl). */
  readonly wasmPaths?: string;
}

/** The files at their packaged places, or under `assetsBaseUrl`; `workerUrl` and `wasmPaths` override theirs. */
export function resolveAssets(options: AssetOptions = {}): PluginAssets {
  const base =
    options.assetsBaseUrl === undefined ? undefined : new URL(String(options.assetsBaseUrl), globalThis.location?.href);
  if (base && !base.pathname.endsWith('/')) base.pathname += '/';
  const at = (path: string, packaged: () => URL) => (base ? new URL(path, base) : packaged());
  const wasm = (name: TfjsWasmFile) =>
    options.wasmPaths !== undefined
      ? new URL(name, new URL(options.wasmPaths, globalThis.location?.href))
      : at(`dist/${name}`, PACKAGED[name]);
  return {
    worker:
      options.workerUrl !== undefined
        ? new URL(String(options.workerUrl), globalThis.location?.href)
        : at('dist/worker.js', PACKAGED.worker),
    tfjsWasm: {
      'tfjs-backend-wasm.wasm': wasm('tfjs-backend-wasm.wasm'),
      'tfjs-backend-wasm-simd.wasm': wasm('tfjs-backend-wasm-simd.wasm'),
      'tfjs-backend-wasm-threaded-simd.wasm': wasm('tfjs-backend-wasm-threaded-simd.wasm'),
    },
    openjpegWasm: at('dist/openjpegwasm_decode.wasm', PACKAGED.openjpeg),
    extractors: {
      manifest: at('models/default/extractors.json', PACKAGED.extractorsManifest),
      weights: at('models/default/extractors.bin', PACKAGED.extractorsWeights),
    },
  };
}

/** What a worker is told (set-assets): the URLs as strings. */
export function workerAssets(assets: PluginAssets): WorkerAssets {
  const wasm = assets.tfjsWasm;
  return {
    tfjsWasm: {
      'tfjs-backend-wasm.wasm': wasm['tfjs-backend-wasm.wasm'].href,
      'tfjs-backend-wasm-simd.wasm': wasm['tfjs-backend-wasm-simd.wasm'].href,
      'tfjs-backend-wasm-threaded-simd.wasm': wasm['tfjs-backend-wasm-threaded-simd.wasm'].href,
    },
    openjpegWasm: assets.openjpegWasm.href,
  };
}

/** The shipped extractors as a worker's source: both files by URL (a bundler renames them apart). */
export function defaultExtractorsSource(assets: PluginAssets): ExtractorSource {
  return { kind: 'url', url: assets.extractors.manifest.href, weightsUrl: assets.extractors.weights.href };
}

/**
 * Starts a module worker from `url`. A browser refuses a worker script of another origin (a CDN),
 * so such a worker starts from a same-origin blob that imports it (the CDN must send CORS headers,
 * as the public npm CDNs do).
 */
export function startModuleWorker(url: URL, name: string): Worker {
  const origin = globalThis.location?.origin;
  if (origin === undefined || url.origin === origin || url.protocol === 'blob:' || url.protocol === 'data:')
    return new Worker(url, { type: 'module', name });
  // Not revoked: the worker fetches it some time after this returns, and it is a few bytes.
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' }));
  return new Worker(shim, { type: 'module', name });
}

/** The bundled worker's URL (dist/worker.js, or wherever the host's bundler emitted it). */
export const DEFAULT_WORKER_URL = PACKAGED.worker();

/** The shipped extractor set's manifest (its weights: `resolveAssets().extractors.weights`). */
export const DEFAULT_EXTRACTORS_URL = PACKAGED.extractorsManifest();

/** Loads the shipped extractors; used whenever the embedding app names none. */
export function loadDefaultExtractors(
  options: { signal?: AbortSignal; assetsBaseUrl?: URL | string } = {},
): Promise<ExtractorBundle> {
  const { extractors } = resolveAssets({ assetsBaseUrl: options.assetsBaseUrl });
  return loadBundle(extractors.manifest, { signal: options.signal, weightsUrl: extractors.weights });
}
