import * as tf from '@tensorflow/tfjs';
// Side-effect imports register the backends with the tf instance above (webgpu only where the
// platform has navigator.gpu; the wasm backend everywhere).
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import { probeAsset } from '../assets/asset-response.js';
import { BACKEND_ORDER, type BackendName } from './backend-name.js';
import { describeGpuAdapter, gpuAdapterLabel } from './gpu-adapter.js';
import { TFJS_WASM_FILES, type TfjsWasmFile, type WasmPaths } from './wasm-paths.js';

export { BACKEND_ORDER, TFJS_WASM_FILES, type BackendName, type TfjsWasmFile, type WasmPaths };

export interface BackendOptions {
  /**
   * The wasm binaries (a folder URL ending in '/', or a URL per file); ignored in Node, where TF.js
   * reads its own package's. Default: TF.js looks beside its own script, which only holds when
   * nothing moved the files (the plugin always passes them: plugin/assets.ts).
   */
  readonly wasmPaths?: WasmPaths;
  /**
   * Let the automatic choice take a GPU backend that runs on a software rasteriser (SwiftShader,
   * llvmpipe): measured 20–90× slower than wasm, so by default it is passed over. A backend named
   * explicitly is always tried.
   */
  readonly allowSoftwareGpu?: boolean;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

let wasmPathsSet = false;
let configuredPaths: WasmPaths | undefined;

function configureWasm(options: BackendOptions): void {
  if (wasmPathsSet) return;
  // Node's wasm build finds its binaries beside its own file (Emscripten's __dirname), which is
  // the package's dist folder; a URL would only break that.
  // Without paths, TF.js looks beside its own script: right unbundled (and in Node, where its build
  // finds them beside its file), wrong once a bundler moved things, so the plugin always passes them.
  const paths = options.wasmPaths;
  if (paths !== undefined && !isNode) setWasmPaths(typeof paths === 'string' ? paths : { ...paths });
  configuredPaths = isNode ? undefined : paths;
  wasmPathsSet = true;
}

/**
 * TF.js only logs that the wasm backend failed to initialise; the usual cause is a binary that is
 * not where it was looked for. Fetch the one TF.js picked (its own feature flags) and say what came
 * back instead, naming the URL.
 */
async function explainWasmFailure(): Promise<string> {
  const generic = 'it failed to initialise';
  if (configuredPaths === undefined) return generic;
  let file: TfjsWasmFile = 'tfjs-backend-wasm.wasm';
  try {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    if (simd) file = threads ? 'tfjs-backend-wasm-threaded-simd.wasm' : 'tfjs-backend-wasm-simd.wasm';
  } catch {
    // Flags unknown: the plain binary is the one every platform can use.
  }
  const url = typeof configuredPaths === 'string' ? new URL(file, configuredPaths).href : configuredPaths[file];
  const problem = await probeAsset(url, 'wasm');
  return problem ?? `${generic} (its binary ${url} looks right)`;
}

/**
 * A backend that starts but computes wrongly is worse than a slower one: webgpu's dataSync has
 * returned zeros here, and a lost device fails silently. Run one small dilated convolution
 * (the operation everything here rests on) and compare with the value worked out by hand.
 */
async function smokeTest(): Promise<string | undefined> {
  const y = tf.tidy(() => {
    const x = tf.tensor4d(
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
      [1, 5, 5, 1],
    );
    const k = tf.tensor4d([1, 0, 2, 0, 0, 0, 3, 0, 4], [3, 3, 1, 1]);
    // Dilation 2 on 5×5, valid: one output = 1·x[0,0] + 2·x[0,4] + 3·x[4,0] + 4·x[4,4].
    return tf.conv2d(x, k, 1, 'valid', 'NHWC', 2);
  });
  try {
    const [value] = await y.data();
    const expected = 1 * 1 + 2 * 5 + 3 * 21 + 4 * 25;
    return value === expected ? undefined : `a test convolution gave ${value} instead of ${expected}`;
  } finally {
    y.dispose();
  }
}

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software/i;

/** Why this platform's GPU backend would be software, or undefined if it looks like hardware. */
async function softwareGpu(name: 'webgpu' | 'webgl'): Promise<string | undefined> {
  try {
    if (name === 'webgpu') {
      // setBackend reports a missing adapter itself.
      const gpu = await describeGpuAdapter();
      return gpu?.software ? `only a software WebGPU adapter (${gpuAdapterLabel(gpu)})` : undefined;
    }
    if (typeof OffscreenCanvas === 'undefined') return undefined;
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) return undefined;
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return SOFTWARE_RENDERER.test(renderer) ? `a software WebGL renderer (${renderer})` : undefined;
  } catch {
    return undefined;
  }
}

async function tryBackend(name: BackendName, options: BackendOptions, automatic: boolean): Promise<string | undefined> {
  if (!tf.findBackendFactory(name)) return 'not available on this platform';
  if (automatic && !options.allowSoftwareGpu && (name === 'webgpu' || name === 'webgl')) {
    const software = await softwareGpu(name);
    if (software) return `passed over: ${software}, slower than wasm`;
  }
  if (name === 'wasm') configureWasm(options);
  let problem: string | undefined;
  try {
    if (!(await tf.setBackend(name))) return name === 'wasm' ? await explainWasmFailure() : 'it failed to initialise';
    await tf.ready();
    problem = await smokeTest();
  } catch (err) {
    problem = err instanceof Error ? err.message : String(err);
  }
  // A backend that started but computes wrongly must not be picked up later by default (and a
  // GPU one would keep its context): take it out of the registry.
  if (problem !== undefined) tf.removeBackend(name);
  return problem;
}

/**
 * Starts a TF.js backend and makes it the current one. With `preferred`, only that backend is
 * tried and failure throws, naming the reason; without, webgpu → webgl → wasm → cpu, the first
 * that starts and passes a correctness check wins (GPU backends on a software rasteriser are
 * passed over unless `allowSoftwareGpu`). Returns the name of the backend in use.
 */
export async function initBackend(preferred?: BackendName, options: BackendOptions = {}): Promise<BackendName> {
  return (await startBackend(preferred, options)).backend;
}

/**
 * initBackend, also saying why each backend tried before the one started did not (`failures`,
 * "wasm: https://…/tfjs-backend-wasm-simd.wasm answered HTML…"): a page that ends up on cpu can
 * then say why instead of being silently slow.
 */
export async function startBackend(
  preferred?: BackendName,
  options: BackendOptions = {},
): Promise<{ backend: BackendName; failures: string[] }> {
  const failures: string[] = [];
  for (const name of preferred ? [preferred] : BACKEND_ORDER) {
    if (tf.getBackend() === name && tf.findBackend(name)) return { backend: name, failures };
    const problem = await tryBackend(name, options, preferred === undefined);
    if (problem === undefined) return { backend: name, failures };
    if (preferred) throw new Error(`The TF.js backend '${name}' could not start: ${problem}`);
    failures.push(`${name}: ${problem}`);
  }
  throw new Error(`No TF.js backend could start (${failures.join('; ')})`);
}
