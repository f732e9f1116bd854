import { gridToLevel0, type InferenceGrid } from './inference-grid.js';
import { tileKey } from './keys.js';
import type { Rect } from '../math/rect.js';

/**
 * Output tiles as the planners hand them out (view-plan.ts: the visible part within a budget;
 * region-plan.ts: a rectangle, the whole slide or its tissue) and the region runner consumes them.
 */

/** One output tile of an inference grid. */
export interface PlannedTile {
  /** Names the tile across runs and sessions (same slide assumed): resume state, overlay stores. */
  readonly key: string;
  /** In inference-grid pixels (what the pool is asked for). */
  readonly tile: Rect;
  /** The same rectangle in level-0 pixels (fractional when the grid is scaled): where to draw it. */
  readonly level0: Rect;
  /** Output megapixels: what computing it costs, in the budget's unit. */
  readonly megapixels: number;
}

/**
 * A sequence of tiles whose size is known before it is walked. Tiles are made as it is walked,
 * so a whole slide's hundred thousand tiles never sit in memory as objects at once.
 */
export interface TileSet extends Iterable<PlannedTile> {
  readonly count: number;
  readonly megapixels: number;
}

export function plannedTile(grid: InferenceGrid, tile: Rect): PlannedTile {
  return {
    key: tileKey(grid, tile),
    tile,
    level0: gridToLevel0(grid, tile),
    megapixels: (tile.width * tile.height) / 1e6,
  };
}

/**
 * The rectangle of the `tileSize` grid tile at column `tx`, row `ty` of an image, clipped to it
 * (the same tiles as patch-grid.ts's outputTiles).
 */
export function tileAt(
  image: { readonly width: number; readonly height: number },
  tileSize: number,
  tx: number,
  ty: number,
): Rect {
  const x = tx * tileSize,
    y = ty * tileSize;
  return { x, y, width: Math.min(tileSize, image.width - x), height: Math.min(tileSize, image.height - y) };
}

/** A TileSet over tiles given as an array (e.g. a budget's worth, made already). */
export function tileSetOf(tiles: readonly PlannedTile[]): TileSet {
  return {
    count: tiles.length,
    megapixels: tiles.reduce((s, t) => s + t.megapixels, 0),
    [Symbol.iterator]: () => tiles[Symbol.iterator](),
  };
}
