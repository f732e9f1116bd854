import type { Rect } from '../math/rect.js';
import { boundsOf } from './patch-grid.js';
import type { PatchModel, UncertainPatchModel } from './patch-model.js';
import type { PixelSource } from '../slide/pixel-source.js';

export interface PredictWholeTileOptions {
  /** Receptive-field margin of the model (receptive-field.ts); real pixels read around the tile. */
  readonly margin: number;
  readonly signal?: AbortSignal;
}

/** The tile grown by `margin` on every side, kept inside the image. */
export function wholeTileRead(tile: Rect, image: { width: number; height: number }, margin: number): Rect {
  const x = Math.max(0, tile.x - margin),
    y = Math.max(0, tile.y - margin);
  const right = Math.min(image.width, tile.x + tile.width + margin);
  const bottom = Math.min(image.height, tile.y + tile.height + margin);
  return { x, y, width: right - x, height: bottom - y };
}

/**
 * The probabilities of a rectangle of `level` from ONE forward of the model over the rectangle
 * plus its receptive-field margin (`tiling: 'whole'`): every output pixel is computed once, and
 * equals a forward over the whole image (receptive-field.ts), instead of the 16 overlapping 256²
 * patches of the stride-64 scheme (predict-tile.ts). Cost per output pixel (1 + 2m/T)² for T²
 * tiles with margin m: 2.2× for 512² tiles at m = 125, 1.5× for 1024², against 16×.
 */
export async function predictWholeTile(
  source: PixelSource,
  level: number,
  tile: Rect,
  model: PatchModel,
  options: PredictWholeTileOptions,
): Promise<Float32Array> {
  const [probabilities] = await predictWholeBlock(source, level, [tile], model, options);
  return probabilities;
}

/**
 * The probabilities of several tiles from ONE forward over their bounding rectangle (a *block*)
 * plus one margin: the margin is paid once per block instead of once per tile. For 512² tiles at
 * m = 125 a tile alone reads 0.58 MP, a 2×2 block 0.41 MP per tile, a 3×2 block 0.38. Each tile
 * equals the same tile computed alone (the network is fully convolutional with a finite
 * receptive field, and the read is the same real pixels), so whoever caches tiles need not know
 * whether they came in a block. The cost is the bounding rectangle's: callers give adjacent
 * tiles that fill it (tile-block.ts).
 */
export async function predictWholeBlock(
  source: PixelSource,
  level: number,
  tiles: readonly Rect[],
  model: PatchModel,
  options: PredictWholeTileOptions,
): Promise<Float32Array[]> {
  const { read, rgb } = await readBlock(source, level, tiles, options);
  const probabilities = await model(rgb, read.width, read.height, options.signal);
  options.signal?.throwIfAborted();
  return tiles.map((tile) => cropToTile(probabilities, read, tile));
}

/**
 * The same, with each pixel's uncertainty from the head's ensemble (core/inference/uncertainty.ts),
 * computed from the same forward: the ensemble is E more weighted sums of the maps.
 */
export async function predictWholeBlockUncertain(
  source: PixelSource,
  level: number,
  tiles: readonly Rect[],
  model: UncertainPatchModel,
  options: PredictWholeTileOptions,
): Promise<{ probabilities: Float32Array; uncertainty: Float32Array }[]> {
  const { read, rgb } = await readBlock(source, level, tiles, options);
  const out = await model(rgb, read.width, read.height, options.signal);
  options.signal?.throwIfAborted();
  return tiles.map((tile) => ({
    probabilities: cropToTile(out.probabilities, read, tile),
    uncertainty: cropToTile(out.uncertainty, read, tile),
  }));
}

async function readBlock(
  source: PixelSource,
  level: number,
  tiles: readonly Rect[],
  options: PredictWholeTileOptions,
): Promise<{ read: Rect; rgb: Uint8Array }> {
  const { signal, margin } = options;
  signal?.throwIfAborted();
  const image = source.levels[level];
  if (!image) throw new RangeError(`level ${level} does not exist in ${source.name} (it has ${source.levels.length})`);
  if (!Number.isInteger(margin) || margin < 0)
    throw new RangeError(`the margin must be a whole number ≥ 0, got ${margin}`);
  const read = wholeTileRead(boundsOf(tiles), image, margin);
  const rgb = await source.readRegion({ level, ...read, signal });
  return { read, rgb };
}

/** The tile's pixels of a map over `read` (the map itself when they are the same rectangle). */
function cropToTile(values: Float32Array, read: Rect, tile: Rect): Float32Array {
  if (read.x === tile.x && read.y === tile.y && read.width === tile.width && read.height === tile.height) return values;
  const out = new Float32Array(tile.width * tile.height);
  for (let row = 0; row < tile.height; row++) {
    const from = (tile.y - read.y + row) * read.width + (tile.x - read.x);
    out.set(values.subarray(from, from + tile.width), row * tile.width);
  }
  return out;
}
