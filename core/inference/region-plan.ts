import { level0ToGrid, type InferenceGrid } from './inference-grid.js';
import { OUTPUT_TILE_SIZE } from './patch-grid.js';
import type { Rect } from '../math/rect.js';
import { plannedTile, tileAt, type PlannedTile, type TileSet } from './tile-set.js';
import type { TissueMask } from '../slide/tissue-mask.js';

/**
 * The output tiles of a region run (issue 5, item 4): a rectangle the user drew, or the whole
 * slide, optionally only where there is tissue. Raster order: neighbouring tiles follow each
 * other, so a worker's patch memo serves the margins they share. With `bandRows` > 1, bands of
 * that many rows, each column by column: the tiles with the pool at a time then make rectangles
 * that the pool computes as blocks (core/inference/tile-block.ts).
 */

export interface RegionPlanOptions {
  readonly grid: InferenceGrid;
  /** Level-0 rectangle; default the whole slide. */
  readonly region?: Rect;
  /** Default 512. */
  readonly tileSize?: number;
  /** Keep only tiles under which the mask has tissue. */
  readonly tissue?: TissueMask;
  /** Rows per band (default 1: raster order). */
  readonly bandRows?: number;
}

export function planRegion(options: RegionPlanOptions): TileSet {
  const { grid, tissue } = options;
  const tileSize = options.tileSize ?? OUTPUT_TILE_SIZE;
  if (!Number.isInteger(tileSize) || tileSize < 1)
    throw new RangeError(`tile size must be a positive integer, got ${tileSize}`);
  const bandRows = options.bandRows ?? 1;
  if (!Number.isInteger(bandRows) || bandRows < 1)
    throw new RangeError(`rows per band must be a positive integer, got ${bandRows}`);
  const level0 = { x: 0, y: 0, width: grid.width * grid.scaleX, height: grid.height * grid.scaleY };
  const region = level0ToGrid(grid, options.region ?? level0);
  if (!region) return { count: 0, megapixels: 0, *[Symbol.iterator]() {} };
  const tx0 = Math.floor(region.x / tileSize),
    tx1 = Math.ceil((region.x + region.width) / tileSize);
  const ty0 = Math.floor(region.y / tileSize),
    ty1 = Math.ceil((region.y + region.height) / tileSize);
  const cols = tx1 - tx0,
    rows = ty1 - ty0;
  const keep = tissue ? tilesOverTissue(grid, tissue, tileSize, tx0, ty0, cols, rows) : undefined;
  let count = 0,
    megapixels = 0;
  for (let ty = 0; ty < rows; ty++) {
    for (let tx = 0; tx < cols; tx++) {
      if (keep && !keep[ty * cols + tx]) continue;
      const t = tileAt(grid, tileSize, tx0 + tx, ty0 + ty);
      count++;
      megapixels += (t.width * t.height) / 1e6;
    }
  }
  return {
    count,
    megapixels,
    *[Symbol.iterator](): Iterator<PlannedTile> {
      for (let band = 0; band < rows; band += bandRows) {
        const end = Math.min(rows, band + bandRows);
        for (let tx = 0; tx < cols; tx++) {
          for (let ty = band; ty < end; ty++) {
            if (keep && !keep[ty * cols + tx]) continue;
            yield plannedTile(grid, tileAt(grid, tileSize, tx0 + tx, ty0 + ty));
          }
        }
      }
    },
  };
}

/**
 * Marks the tiles (of the cols × rows block starting at tile tx0, ty0) that some tissue mask
 * pixel overlaps: one pass over the mask, each tissue pixel marking the few tiles under its
 * footprint, rather than one pass over the mask per tile.
 */
function tilesOverTissue(
  grid: InferenceGrid,
  mask: TissueMask,
  tileSize: number,
  tx0: number,
  ty0: number,
  cols: number,
  rows: number,
): Uint8Array {
  const keep = new Uint8Array(cols * rows);
  // Mask pixel → inference-grid pixels: level-0 footprint over the grid's scale.
  const fx = mask.slideWidth / mask.width / grid.scaleX;
  const fy = mask.slideHeight / mask.height / grid.scaleY;
  for (let my = 0; my < mask.height; my++) {
    // The half-open grid span [y·f, (y+1)·f) → tiles from ⌊y·f / T⌋ to ⌈(y+1)·f / T⌉ − 1.
    const a = Math.max(0, Math.floor((my * fy) / tileSize) - ty0);
    const b = Math.min(rows, Math.ceil(((my + 1) * fy) / tileSize) - ty0);
    if (b <= a) continue;
    for (let mx = 0; mx < mask.width; mx++) {
      if (!mask.data[my * mask.width + mx]) continue;
      const c = Math.max(0, Math.floor((mx * fx) / tileSize) - tx0);
      const d = Math.min(cols, Math.ceil(((mx + 1) * fx) / tileSize) - tx0);
      for (let ty = a; ty < b; ty++) for (let tx = c; tx < d; tx++) keep[ty * cols + tx] = 1;
    }
  }
  return keep;
}
