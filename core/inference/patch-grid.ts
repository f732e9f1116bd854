/**
 * The sliding-window patch grid of inference (docs/ARCHITECTURE.md#data-flow, step 5): 256×256 patches
 * with stride 64, anchored to the image origin rather than to whatever region is asked for, so
 * that a pixel is always covered by the same patches and an output tile computed alone equals
 * the same pixels computed as part of any larger region. Along each axis the origins are
 * 0, s, 2s, … while a patch fits, plus one last patch shifted back to end exactly at the image
 * edge; an image shorter than a patch gets one patch clipped to the image. No patch ever reads
 * outside the image, so no padding artefacts appear at slide borders beyond what the network's
 * own mirror padding does at every patch border.
 */

import type { ImageSize, Rect } from '../math/rect.js';

export interface GridOptions {
  /** Side of a square patch; default 256, the paper's. */
  readonly patchSize?: number;
  /** Step between patch origins; default 64, the paper's. */
  readonly stride?: number;
}

export const PATCH_SIZE = 256;
export const PATCH_STRIDE = 64;
export const OUTPUT_TILE_SIZE = 512;

/** What a tile needs: the patches touching it (raster order) and the rectangle they span. */
export interface TilePlan {
  readonly tile: Rect;
  readonly patches: readonly Rect[];
  /** The union of `patches`: the one pixel read a tile needs. */
  readonly read: Rect;
}

function gridOf(options: GridOptions): { size: number; stride: number } {
  const size = options.patchSize ?? PATCH_SIZE;
  const stride = options.stride ?? PATCH_STRIDE;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`patch size must be a positive integer, got ${size}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > size) {
    throw new RangeError(`stride must be an integer in [1, patch size ${size}], got ${stride}`);
  }
  return { size, stride };
}

function checkRect(r: Rect, image: ImageSize, what: string): void {
  const ok =
    [r.x, r.y, r.width, r.height].every(Number.isInteger) &&
    r.x >= 0 &&
    r.y >= 0 &&
    r.width >= 1 &&
    r.height >= 1 &&
    r.x + r.width <= image.width &&
    r.y + r.height <= image.height;
  if (!ok)
    throw new RangeError(
      `${what} ${r.x},${r.y} ${r.width}×${r.height} is not a non-empty rectangle inside the ` +
        `${image.width}×${image.height} image`,
    );
}

/**
 * The patch origins along one axis of `length` pixels whose patches [o, o + extent) overlap
 * [from, to), ascending, and the patch extent (the patch size, or `length` if shorter).
 */
export function axisPatches(
  length: number,
  from: number,
  to: number,
  options: GridOptions = {},
): { origins: number[]; extent: number } {
  const { size, stride } = gridOf(options);
  if (length <= size) return { origins: from < to ? [0] : [], extent: length };
  const last = length - size;
  const origins: number[] = [];
  // Regular origins k·stride ≤ last with k·stride + size > from.
  const first = Math.max(0, Math.floor((from - size) / stride) + 1);
  for (let o = first * stride; o <= last && o < to; o += stride) origins.push(o);
  // The edge patch, unless it is a regular one already.
  if (last % stride !== 0 && last < to && last + size > from) origins.push(last);
  return { origins, extent: size };
}

/** Every grid patch that overlaps `region`, in raster order (top to bottom, left to right). */
export function patchesCovering(region: Rect, image: ImageSize, options: GridOptions = {}): Rect[] {
  checkRect(region, image, 'region');
  const xs = axisPatches(image.width, region.x, region.x + region.width, options);
  const ys = axisPatches(image.height, region.y, region.y + region.height, options);
  const patches: Rect[] = [];
  for (const y of ys.origins) for (const x of xs.origins) patches.push({ x, y, width: xs.extent, height: ys.extent });
  return patches;
}

/** The smallest rectangle holding all of `rects` (non-empty). */
export function boundsOf(rects: readonly Rect[]): Rect {
  if (rects.length === 0) throw new RangeError('no rectangles to bound');
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const r of rects) {
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.width);
    y1 = Math.max(y1, r.y + r.height);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The patches a rectangle of output needs and the pixels they read. */
export function planTile(tile: Rect, image: ImageSize, options: GridOptions = {}): TilePlan {
  const patches = patchesCovering(tile, image, options);
  return { tile, patches, read: boundsOf(patches) };
}

/**
 * The output tiles of a fixed grid (anchored at the image origin, `tileSize` square, clipped to
 * the image) that overlap `region`, in raster order. Tiles do not depend on the region, so a
 * finished tile can be cached and reused when the view moves.
 */
export function outputTiles(region: Rect, image: ImageSize, tileSize = OUTPUT_TILE_SIZE): Rect[] {
  checkRect(region, image, 'region');
  if (!Number.isInteger(tileSize) || tileSize < 1)
    throw new RangeError(`tile size must be a positive integer, got ${tileSize}`);
  const tiles: Rect[] = [];
  const tx0 = Math.floor(region.x / tileSize),
    tx1 = Math.ceil((region.x + region.width) / tileSize);
  const ty0 = Math.floor(region.y / tileSize),
    ty1 = Math.ceil((region.y + region.height) / tileSize);
  for (let ty = ty0; ty < ty1; ty++) {
    for (let tx = tx0; tx < tx1; tx++) {
      const x = tx * tileSize,
        y = ty * tileSize;
      tiles.push({ x, y, width: Math.min(tileSize, image.width - x), height: Math.min(tileSize, image.height - y) });
    }
  }
  return tiles;
}
