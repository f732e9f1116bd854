import type { Rect } from '../math/rect.js';
import type { PlannedTile } from '../inference/tile-set.js';

/**
 * The finished output tiles of the current head, for what is made of them afterwards: the
 * overlays are re-coloured from them, contours re-traced when the threshold changes, and
 * exports put them together into one map so that cells crossing tile seams come out whole.
 */

export interface ResultTile extends PlannedTile {
  /** tile.width × tile.height, row-major (inference-grid pixels). */
  readonly probabilities: Float32Array;
  /**
   * The same pixels' uncertainty from the head's ensemble, round(255·u), when the worker computed
   * it (core/inference/uncertainty.ts); without it the session derives it from the probabilities.
   */
  readonly uncertainty?: Uint8Array;
}

export interface Mosaic {
  /** In inference-grid pixels. */
  readonly rect: Rect;
  /** rect.width × rect.height; pixels no tile covers are `fill` (default 0: not the class). */
  readonly probabilities: Float32Array;
  /** Fraction of the rectangle that finished tiles cover. */
  readonly covered: number;
}

export interface ResultTiles {
  readonly size: number;
  readonly keys: ReadonlySet<string>;
  add(tile: ResultTile): void;
  get(key: string): ResultTile | undefined;
  values(): IterableIterator<ResultTile>;
  clear(): void;
  /** The bounding box of every tile (inference-grid pixels), or undefined when there is none. */
  bounds(): Rect | undefined;
  /**
   * The tiles' probabilities over `rect` (default: their bounds) as one map; `fill` where no tile
   * is (NaN: unknown, for tracing a tile's cells across its seams; default 0).
   */
  mosaic(rect?: Rect, fill?: number): Mosaic | undefined;
}

/** Largest map `mosaic` builds: 256 M floats would be a gigabyte. */
export const MAX_MOSAIC_PIXELS = 64 * 1024 * 1024;

export function createResultTiles(): ResultTiles {
  const tiles = new Map<string, ResultTile>();
  const keys = new Set<string>();
  const out: ResultTiles = {
    get size() {
      return tiles.size;
    },
    keys,
    add(tile) {
      tiles.set(tile.key, tile);
      keys.add(tile.key);
    },
    get: (key) => tiles.get(key),
    values: () => tiles.values(),
    clear() {
      tiles.clear();
      keys.clear();
    },
    bounds() {
      let x0 = Infinity,
        y0 = Infinity,
        x1 = -Infinity,
        y1 = -Infinity;
      for (const { tile } of tiles.values()) {
        x0 = Math.min(x0, tile.x);
        y0 = Math.min(y0, tile.y);
        x1 = Math.max(x1, tile.x + tile.width);
        y1 = Math.max(y1, tile.y + tile.height);
      }
      return tiles.size === 0 ? undefined : { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    },
    mosaic(rect = out.bounds(), fill = 0) {
      if (!rect) return undefined;
      if (rect.width * rect.height > MAX_MOSAIC_PIXELS) {
        throw new RangeError(
          `a ${rect.width}×${rect.height} map is more than this export puts together at once ` +
            `(${MAX_MOSAIC_PIXELS / 1024 / 1024} M pixels): export a smaller region`,
        );
      }
      const probabilities = new Float32Array(rect.width * rect.height);
      if (fill !== 0) probabilities.fill(fill);
      let covered = 0;
      for (const { tile, probabilities: p } of tiles.values()) {
        const x0 = Math.max(rect.x, tile.x),
          x1 = Math.min(rect.x + rect.width, tile.x + tile.width);
        const y0 = Math.max(rect.y, tile.y),
          y1 = Math.min(rect.y + rect.height, tile.y + tile.height);
        if (x1 <= x0 || y1 <= y0) continue;
        for (let y = y0; y < y1; y++) {
          const from = (y - tile.y) * tile.width + (x0 - tile.x);
          probabilities.set(p.subarray(from, from + x1 - x0), (y - rect.y) * rect.width + (x0 - rect.x));
        }
        covered += (x1 - x0) * (y1 - y0);
      }
      return { rect, probabilities, covered: covered / (rect.width * rect.height) };
    },
  };
  return out;
}
