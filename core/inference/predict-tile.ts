import { planTile, type GridOptions } from './patch-grid.js';
import type { Rect } from '../math/rect.js';
import type { PatchModel } from './patch-model.js';
import type { PatchMemo } from './patch-memo.js';
import type { PixelSource } from '../slide/pixel-source.js';
import { Stitcher } from './stitch.js';

export interface PredictTileOptions extends GridOptions {
  readonly signal?: AbortSignal;
  /** Called after each patch, e.g. to count evaluations or report progress; `reused` when it came from the memo. */
  readonly onPatch?: (done: number, total: number, reused: boolean) => void;
  /**
   * Patches evaluated before, to reuse, with the scope they belong to (slide, level and model:
   * a memo must never hand one model's patches to another).
   */
  readonly memo?: { readonly cache: PatchMemo; readonly scope: string };
}

/** Copies the width × height RGB rectangle at (x, y) out of a larger RGB buffer `stride` pixels wide. */
export function cropRgb(
  rgb: Uint8Array,
  stride: number,
  x: number,
  y: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * stride + x) * 3;
    out.set(rgb.subarray(from, from + width * 3), row * width * 3);
  }
  return out;
}

/**
 * The averaged probabilities of a rectangle of `level` (row-major, tile.width × tile.height):
 * reads the pixels of every grid patch touching it in one request, runs the model on each patch
 * in raster order, and stitches. Because the grid is global, the same pixels come out the same
 * whatever rectangle they are computed in.
 */
export async function predictTile(
  source: PixelSource,
  level: number,
  tile: Rect,
  model: PatchModel,
  options: PredictTileOptions = {},
): Promise<Float32Array> {
  const { signal, onPatch, memo } = options;
  signal?.throwIfAborted();
  const image = source.levels[level];
  if (!image) throw new RangeError(`level ${level} does not exist in ${source.name} (it has ${source.levels.length})`);
  const plan = planTile(tile, image, options);
  const { read } = plan;
  // With every patch remembered, no pixels are needed at all.
  const needed = memo ? plan.patches.some((p) => !memo.cache.get(memo.scope, p)) : true;
  const rgb = needed ? await source.readRegion({ level, ...read, signal }) : new Uint8Array(0);
  const stitcher = new Stitcher(tile);
  let done = 0;
  for (const patch of plan.patches) {
    signal?.throwIfAborted();
    let probabilities = memo?.cache.get(memo.scope, patch);
    const reused = probabilities !== undefined;
    if (!probabilities) {
      const pixels = cropRgb(rgb, read.width, patch.x - read.x, patch.y - read.y, patch.width, patch.height);
      probabilities = await model(pixels, patch.width, patch.height, signal);
      memo?.cache.set(memo.scope, patch, probabilities);
    }
    stitcher.add(patch, probabilities);
    onPatch?.(++done, plan.patches.length, reused);
  }
  signal?.throwIfAborted();
  return stitcher.result();
}
