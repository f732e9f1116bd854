/**
 * One inference worker of tools/bench-engine.ts, in a Node worker thread: the same code a
 * browser worker runs (predictTile over a PixelSource with the head model), on wasm.
 */
import { openAsBlob } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { loadBundle } from '../core/msd/bundle.js';
import { createHeadPatchModel } from '../core/inference/head-patch-model.js';
import { createSimdHeadPatchModel } from '../core/inference/simd-patch-model.js';
import type { Rect } from '../core/math/rect.js';
import { predictTile } from '../core/inference/predict-tile.js';
import { initBackend } from '../core/msd/tf-backend.js';
import { openTiff } from '../core/slide/tiff-source.js';

export interface BenchThreadData {
  readonly slide: string;
  readonly manifest: string;
  readonly weights: string;
  readonly level: number;
  /** 'simd': the training engine's forward, as a wasm/cpu worker runs it; 'tfjs': TF.js wasm. */
  readonly model: 'simd' | 'tfjs';
  readonly tiles: readonly Rect[];
}

export type BenchThreadReply =
  { type: 'tile'; ms: number; patches: number } | { type: 'done' } | { type: 'error'; message: string };

const data = workerData as BenchThreadData;
const post = (m: BenchThreadReply) => parentPort!.postMessage(m);

try {
  await initBackend('wasm');
  const slide = await openTiff({ kind: 'blob', blob: await openAsBlob(data.slide), name: data.slide });
  const bundle = await loadBundle({
    manifest: await openAsBlob(data.manifest),
    weights: await openAsBlob(data.weights),
  });
  const channels = bundle.classes.reduce((s, c) => s + c.weights.layers.length, 0);
  // Any head costs the same; a fixed one keeps the work identical between runs.
  const weights = { W: Array.from({ length: channels }, (_, i) => Math.sin(i) / channels), b: 0 };
  const head =
    data.model === 'simd'
      ? createSimdHeadPatchModel(
          weights,
          bundle.classes.map((c) => c.weights),
        )
      : createHeadPatchModel(
          weights,
          bundle.classes.map((c) => c.weights),
        );
  // One warm-up patch: XNNPACK sets its operators up on first use.
  await head.model(new Uint8Array(256 * 256 * 3).fill(128), 256, 256);
  for (const tile of data.tiles) {
    const started = performance.now();
    let patches = 0;
    await predictTile(slide, data.level, tile, head.model, { onPatch: () => patches++ });
    post({ type: 'tile', ms: performance.now() - started, patches });
  }
  head.dispose();
  post({ type: 'done' });
} catch (err) {
  post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
