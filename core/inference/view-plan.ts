import { level0ToGrid, type InferenceGrid } from './inference-grid.js';
import { tileOfKey } from './keys.js';
import { OUTPUT_TILE_SIZE } from './patch-grid.js';
import type { Rect } from '../math/rect.js';
import { plannedTile, tileAt, type PlannedTile, type TileSet } from './tile-set.js';

/**
 * What to compute for the visible part of a slide (issue 5, item 3): every output tile of the
 * inference grid that the view touches, nearest to the view's centre first, cut off at a budget
 * of output megapixels. Zoomed far out, the view can hold a whole slide — a hundred thousand
 * tiles and hours of work on a CPU — so only the budget's worth runs by itself; the plan says how
 * much was left out, and `later` runs it on request (a region run) or a budget at a time.
 */

export interface ViewPlanOptions {
  readonly grid: InferenceGrid;
  /** What the viewer shows, in level-0 pixels; may reach past the slide. */
  readonly visible: Rect;
  /** Output megapixels (at the inference grid) to compute by itself; tiles beyond wait in `later`. */
  readonly budgetMegapixels: number;
  /** Default 512 (patch-grid.ts's OUTPUT_TILE_SIZE). */
  readonly tileSize?: number;
  /** Keys of tiles already computed (e.g. shown by the overlay): planned at no cost, in neither list. */
  readonly done?: ReadonlySet<string>;
}

export interface Amount {
  readonly tiles: number;
  readonly megapixels: number;
}

export interface ViewPlan {
  /** Within the budget, centre first. */
  readonly now: TileSet;
  /** Beyond the budget, centre first: what the user is told was skipped. */
  readonly later: TileSet;
  /** Every visible tile, done ones included. */
  readonly visible: Amount;
  /** Visible tiles that were in `done`. */
  readonly done: Amount;
}

// Sorting packed float64 keys natively is ~5× faster than a comparator sort: the whole plan of a
// 150 000-tile view then stays well inside a 50 ms main-thread task. Key = ⌊d·2¹²⌋·2²⁰ + index,
// exact below 2⁵³ while d < 2²¹ and index < 2²⁰; bigger views take the comparator sort.
const INDEX_BITS = 2 ** 20;
const DISTANCE_STEPS = 2 ** 12;
const MAX_PACKED_DISTANCE = 2 ** 21;

/**
 * Indices 0…n−1 ordered by `distance`, ties (and distances closer than 2⁻¹² pixel) by index.
 * `packed` false forces the comparator sort that views too large to pack use.
 */
export function centreOrder(distance: Float64Array, packed = true): Uint32Array {
  const n = distance.length;
  const order = new Uint32Array(n);
  let far = 0;
  for (let i = 0; i < n; i++) far = Math.max(far, distance[i]);
  if (packed && n < INDEX_BITS && far < MAX_PACKED_DISTANCE) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = Math.floor(distance[i] * DISTANCE_STEPS) * INDEX_BITS + i;
    keys.sort();
    for (let i = 0; i < n; i++) order[i] = keys[i] % INDEX_BITS;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  const quantised = Float64Array.from(distance, (d) => Math.floor(d * DISTANCE_STEPS));
  return order.sort((a, b) => quantised[a] - quantised[b] || a - b);
}

function lazyTiles(
  grid: InferenceGrid,
  tileSize: number,
  tx0: number,
  cols: number,
  ty0: number,
  order: Uint32Array,
  from: number,
  to: number,
  skip: Uint8Array | undefined,
  amount: Amount,
): TileSet {
  return {
    count: amount.tiles,
    megapixels: amount.megapixels,
    *[Symbol.iterator](): Iterator<PlannedTile> {
      for (let k = from; k < to; k++) {
        const i = order[k];
        if (skip?.[i]) continue;
        yield plannedTile(grid, tileAt(grid, tileSize, tx0 + (i % cols), ty0 + Math.floor(i / cols)));
      }
    },
  };
}

export function planView(options: ViewPlanOptions): ViewPlan {
  const { grid, visible, budgetMegapixels, done } = options;
  const tileSize = options.tileSize ?? OUTPUT_TILE_SIZE;
  if (!Number.isInteger(tileSize) || tileSize < 1)
    throw new RangeError(`tile size must be a positive integer, got ${tileSize}`);
  if (!(budgetMegapixels >= 0))
    throw new RangeError(`the budget must be a number of megapixels ≥ 0, got ${budgetMegapixels}`);
  const none: Amount = { tiles: 0, megapixels: 0 };
  const region = level0ToGrid(grid, visible);
  if (!region) {
    const empty = lazyTiles(grid, tileSize, 0, 1, 0, new Uint32Array(0), 0, 0, undefined, none);
    return { now: empty, later: empty, visible: none, done: none };
  }
  const tx0 = Math.floor(region.x / tileSize),
    tx1 = Math.ceil((region.x + region.width) / tileSize);
  const ty0 = Math.floor(region.y / tileSize),
    ty1 = Math.ceil((region.y + region.height) / tileSize);
  const cols = tx1 - tx0,
    rows = ty1 - ty0,
    n = cols * rows;
  // The view's centre, not the clipped region's: what the user looks at comes first even when
  // the view hangs over the slide's edge.
  const cx = (visible.x + visible.width / 2) / grid.scaleX;
  const cy = (visible.y + visible.height / 2) / grid.scaleY;
  // Per row and column rather than per tile: this loop runs over every visible tile.
  const colCentre = new Float64Array(cols),
    colWidth = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    const x = (tx0 + c) * tileSize,
      w = Math.min(tileSize, grid.width - x);
    colCentre[c] = x + w / 2 - cx;
    colWidth[c] = w;
  }
  const distance = new Float64Array(n);
  const area = new Float64Array(n);
  for (let r = 0, i = 0; r < rows; r++) {
    const y = (ty0 + r) * tileSize,
      h = Math.min(tileSize, grid.height - y);
    const dy = y + h / 2 - cy;
    for (let c = 0; c < cols; c++, i++) {
      distance[i] = Math.sqrt(colCentre[c] * colCentre[c] + dy * dy);
      area[i] = (colWidth[c] * h) / 1e6;
    }
  }
  // Done tiles are found from the keys, not by making every visible tile's key: the done set is
  // at most what a viewer keeps, the visible tiles can be far more.
  let skip: Uint8Array | undefined;
  let doneTiles = 0,
    doneMp = 0;
  if (done && done.size > 0) {
    skip = new Uint8Array(n);
    for (const key of done) {
      coveredIndices(key, grid, tileSize, tx0, ty0, cols, rows, (i) => {
        if (skip![i]) return;
        skip![i] = 1;
        doneTiles++;
        doneMp += area[i];
      });
    }
  }
  const order = centreOrder(distance);
  // Strictly centre first: the first tile that does not fit ends the budget, so a smaller tile
  // further out never jumps ahead of a nearer one.
  let spent = 0,
    taken = 0,
    cut = n;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (skip?.[i]) continue;
    if (spent + area[i] > budgetMegapixels + 1e-12) {
      cut = k;
      break;
    }
    spent += area[i];
    taken++;
  }
  let totalMp = 0,
    laterMp = 0;
  for (let i = 0; i < n; i++) totalMp += area[i];
  for (let k = cut; k < n; k++) if (!skip?.[order[k]]) laterMp += area[order[k]];
  const later: Amount = { tiles: n - doneTiles - taken, megapixels: laterMp };
  return {
    now: lazyTiles(grid, tileSize, tx0, cols, ty0, order, 0, cut, skip, { tiles: taken, megapixels: spent }),
    later: lazyTiles(grid, tileSize, tx0, cols, ty0, order, cut, n, skip, later),
    visible: { tiles: n, megapixels: totalMp },
    done: { tiles: doneTiles, megapixels: doneMp },
  };
}

/**
 * Calls `use` with the index in the visible tile range of every tile of this size that the
 * key's tile covers whole: the tile itself for a key of this tile size, the 2×2 256² tiles of a
 * 512² tile of a region run (a tile's numbers do not depend on the size it was computed at, so
 * what is shown already need not run again), none for a key of another grid.
 */
function coveredIndices(
  key: string,
  grid: InferenceGrid,
  tileSize: number,
  tx0: number,
  ty0: number,
  cols: number,
  rows: number,
  use: (index: number) => void,
): void {
  const named = tileOfKey(grid, key);
  if (!named) return;
  const { x, y, width: w, height: h } = named;
  if (x % tileSize !== 0 || y % tileSize !== 0) return;
  const txEnd = Math.min(tx0 + cols, Math.ceil((x + w) / tileSize));
  const tyEnd = Math.min(ty0 + rows, Math.ceil((y + h) / tileSize));
  for (let ty = Math.max(ty0, y / tileSize); ty < tyEnd; ty++) {
    for (let tx = Math.max(tx0, x / tileSize); tx < txEnd; tx++) {
      const t = tileAt(grid, tileSize, tx, ty);
      if (t.x + t.width <= x + w && t.y + t.height <= y + h) use((ty - ty0) * cols + (tx - tx0));
    }
  }
}
