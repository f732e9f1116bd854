// The measuring side of tools/bench-gpu.ts, bundled by it with esbuild and run in Chromium, or run in
// Node over Dawn (--dawn): the shipped extractors on TF.js's webgpu backend, a tile through TF.js's
// per-layer ops and through the fused kernels (same device, same run), adaptation's support
// features both ways, and a full-HD view through the fused kernels.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { supportPatchFeatures } from '../core/adaptation/support-row-features.js';
import type { SupportPatch } from '../core/adaptation/support-patch.js';
import { createHeadPatchModel } from '../core/inference/head-patch-model.js';
import type { PatchModel } from '../core/inference/patch-model.js';
import { receptiveMargin } from '../core/inference/receptive-field.js';
import { createWebGpuHeadPatchModel } from '../core/inference/webgpu-patch-model.js';
import { loadBundle } from '../core/msd/bundle.js';
import { summariseGpuAdapter, type GpuAdapterSummary } from '../core/msd/gpu-adapter.js';
import { webgpuDevice } from '../core/msd/tf-webgpu-device.js';
import { seededGaussian } from '../core/msd/weights.js';

export interface GpuBenchOptions {
  /** Where the shipped bundle's manifest is served (models/default/extractors.json). */
  readonly manifestUrl: string;
  /** Output tile side; the forward covers it plus the extractors' receptive-field margin. */
  readonly tile: number;
  readonly runs: number;
  /** Support patches (256²) for the features figure; 0: none. */
  readonly patches: number;
  /** Skip TF.js's per-layer ops (they can take minutes per tile on a software adapter). */
  readonly skipTfjs: boolean;
  /** Time a full-HD view (VIEW) through the fused kernels. */
  readonly view: boolean;
}

/** The demo's full-HD view at the extractors' scale: 4 × 3 'whole' tiles of 512² (README, bench:view). */
export const VIEW = { width: 1920, height: 1080, tile: 512 } as const;

export interface GpuBenchResult {
  readonly adapter: GpuAdapterSummary;
  readonly limits: { readonly maxStorageBufferBindingSize: number; readonly maxBufferSize: number };
  readonly extractors: string;
  readonly side: number;
  /** ms per tile, each run, after one warm-up run. */
  readonly fused: number[];
  readonly tfjs: number[];
  /** max |fused − TF.js| over the tile's probabilities. */
  readonly maxDifference?: number;
  /** ms for the support features of all patches, each run. */
  readonly featuresFused: number[];
  readonly featuresTfjs: number[];
  readonly labelledPixels: number;
  /** ms for the full-HD view through the fused kernels: its 512² tiles one after another, each with its margin. */
  readonly viewTiles: number[];
  /** ms for the same view as one forward over it and one margin (as a 'whole' block job). */
  readonly viewBlock: number[];
}

/** The default WebGPU adapter here, real or software: what bench-gpu.ts sizes the run by. */
export async function benchAdapter(): Promise<GpuAdapterSummary | undefined> {
  const adapter = await navigator.gpu?.requestAdapter();
  return adapter ? summariseGpuAdapter(adapter.info) : undefined;
}

const progress = (what: string) => console.log(`bench:gpu: ${what}`);

async function timed(runs: number, work: () => Promise<unknown>): Promise<number[]> {
  await work(); // warm-up: pipelines compiled, buffers made
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    await work();
    ms.push(performance.now() - start);
  }
  return ms;
}

export async function runBench(o: GpuBenchOptions): Promise<GpuBenchResult> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('the TF.js webgpu backend did not start');
  await tf.ready();
  const device = webgpuDevice();
  if (!device) throw new Error('TF.js gave no GPUDevice');
  const adapter = await navigator.gpu.requestAdapter();
  const bundle = await loadBundle(o.manifestUrl);
  const weights = bundle.classes.map((c) => c.weights);
  const margin = receptiveMargin(weights);
  const side = o.tile + 2 * margin;
  const g = seededGaussian(1);
  const image = (pixels: number) =>
    Uint8Array.from({ length: pixels * 3 }, () => Math.max(0, Math.min(255, 128 + 50 * g())));
  const rgb = image(side * side);
  const channels = weights.reduce((s, w) => s + w.layers.length, 0);
  const head = { W: Float32Array.from({ length: channels }, () => g() / Math.sqrt(channels)), b: 0.1 };

  const fusedModel = createWebGpuHeadPatchModel(head, weights, device);
  const tfjsModel = createHeadPatchModel(head, weights);
  const run = (m: PatchModel) => () => m(rgb, side, side);
  progress(`fused kernels, ${side}² forward`);
  const fused = await timed(o.runs, run(fusedModel.model));
  let tfjs: number[] = [];
  let maxDifference: number | undefined;
  if (!o.skipTfjs) {
    progress(`TF.js webgpu ops, ${side}² forward`);
    tfjs = await timed(o.runs, run(tfjsModel.model));
    const [a, b] = [await fusedModel.model(rgb, side, side), await tfjsModel.model(rgb, side, side)];
    maxDifference = 0;
    for (let i = 0; i < a.length; i++) maxDifference = Math.max(maxDifference, Math.abs(a[i] - b[i]));
  }
  tfjsModel.dispose();

  let viewTiles: number[] = [];
  let viewBlock: number[] = [];
  if (o.view) {
    const tileSide = VIEW.tile + 2 * margin;
    const tileRgb = image(tileSide * tileSide);
    const tiles = Math.ceil(VIEW.width / VIEW.tile) * Math.ceil(VIEW.height / VIEW.tile);
    progress(`full-HD view: ${tiles} tiles of ${tileSide}²`);
    viewTiles = await timed(o.runs, async () => {
      for (let t = 0; t < tiles; t++) await fusedModel.model(tileRgb, tileSide, tileSide);
    });
    const [w, h] = [VIEW.width + 2 * margin, VIEW.height + 2 * margin];
    const viewRgb = image(w * h);
    progress(`full-HD view: one ${w}×${h} forward`);
    viewBlock = await timed(o.runs, () => fusedModel.model(viewRgb, w, h));
  }
  fusedModel.dispose();

  // Support patches painted whole (every pixel class or background), the most rows a patch gives.
  const support: SupportPatch[] = Array.from({ length: o.patches }, (_, k) => ({
    width: 256,
    height: 256,
    rgb: Uint8Array.from({ length: 256 * 256 * 3 }, () => Math.max(0, Math.min(255, 128 + 50 * g()))),
    mask: Uint8Array.from({ length: 256 * 256 }, (_, i) => (((i >> 4) + k) % 3 === 0 ? 1 : 0)),
  }));
  const classes = bundle.classes;
  const features = (choice: 'auto' | 'tfjs') => () => supportPatchFeatures(support, classes, { features: choice });
  if (o.patches) progress(`support features of ${o.patches} patch(es)`);
  const featuresFused = o.patches ? await timed(o.runs, features('auto')) : [];
  const featuresTfjs = o.patches && !o.skipTfjs ? await timed(o.runs, features('tfjs')) : [];
  return {
    adapter: summariseGpuAdapter(adapter?.info),
    limits: {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
    },
    extractors: bundle.classes.map((c) => `${c.name} (depth ${c.weights.layers.length})`).join(', '),
    side,
    fused,
    tfjs,
    maxDifference,
    featuresFused,
    featuresTfjs,
    labelledPixels: o.patches * 256 * 256,
    viewTiles,
    viewBlock,
  };
}

// How the Chromium page is driven (bench-gpu.ts evaluates these); in Node they are imported.
Object.assign(globalThis, { benchGpu: runBench, benchAdapter });
