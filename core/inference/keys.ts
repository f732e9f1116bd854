import type { InferenceGrid } from './inference-grid.js';
import type { GridOptions } from './patch-grid.js';
import type { Rect } from '../math/rect.js';
import type { Tiling } from './tiling.js';

/**
 * Every key that names grids, tiles and cached results, built in one place so that two parts
 * naming the same thing cannot drift apart (the pool's cache and the worker's memo must agree on
 * what "the same pixels" are). Tile keys are stored (resume state, overlay stores), so their form
 * never changes; the cache keys live in memory only.
 */

/** A grid's geometry: all that decides which pixels its tiles are. */
type GridShape = Pick<InferenceGrid, 'level' | 'width' | 'height'>;

/**
 * Which pixels of a slide a request means: a level as it is, or an inference grid (the level
 * resampled to the extractors' scale). The shape of core/session/compute.ts's TileTarget.
 */
export interface PixelsOf {
  readonly level?: number;
  readonly inference?: GridShape;
}

/** Names a grid of one slide: tiles of grids with equal keys are the same pixels. */
export function gridKey(grid: GridShape): string {
  return `${grid.level}:${grid.width}x${grid.height}`;
}

/** Names an output tile of a grid across runs and sessions (same slide assumed). */
export function tileKey(grid: GridShape, tile: Rect): string {
  return `${gridKey(grid)}/${tile.x},${tile.y},${tile.width},${tile.height}`;
}

/** The tile a tileKey of this grid names; undefined for another grid's key or no tile key at all. */
export function tileOfKey(grid: GridShape, key: string): Rect | undefined {
  const slash = key.lastIndexOf('/');
  if (slash < 0 || key.slice(0, slash) !== gridKey(grid)) return undefined;
  const parts = key.slice(slash + 1).split(',');
  if (parts.length !== 4 || !parts.every((p) => /^\d+$/.test(p))) return undefined;
  const [x, y, width, height] = parts.map(Number);
  return { x, y, width, height };
}

/** Names the pixels a request reads: `level 2`, or `grid 0:16384x16384`. */
export function pixelsKey(target: PixelsOf): string {
  if (target.inference) return `grid ${gridKey(target.inference)}`;
  if (target.level === undefined) throw new TypeError('a target names a level or an inference grid');
  return `level ${target.level}`;
}

/**
 * The pool's key for a finished tile: everything its probabilities depend on. JSON of the fields
 * rather than a joined string, because the extractors' key is free text (a URL may hold any
 * separator): two different requests can never make one key. The tiling is in it (a whole-forward
 * tile and the patch average of the same pixels are different numbers); the patch grid only
 * with 'patches', the one tiling it shapes.
 */
export function tileCacheKey(k: {
  readonly slide: number;
  readonly target: PixelsOf;
  readonly tile: Rect;
  readonly extractors: string;
  readonly head: string;
  readonly tiling: Tiling;
  readonly patchGrid?: GridOptions;
}): string {
  const { tile, tiling } = k;
  const patchGrid = tiling === 'patches' ? k.patchGrid : undefined;
  return JSON.stringify([
    k.slide,
    pixelsKey(k.target),
    tile.x,
    tile.y,
    tile.width,
    tile.height,
    k.extractors,
    k.head,
    tiling,
    patchGrid?.patchSize ?? null,
    patchGrid?.stride ?? null,
  ]);
}

/**
 * A worker's patch memo scope: patches of one slide's pixels under one patch grid. The model is
 * not in it: the worker clears the memo whenever the head or the extractors change.
 */
export function patchMemoScope(k: {
  readonly slideId: number;
  readonly target: PixelsOf;
  readonly patchGrid?: GridOptions;
}): string {
  return `${k.slideId}|${pixelsKey(k.target)}|${k.patchGrid?.patchSize ?? ''}|${k.patchGrid?.stride ?? ''}`;
}

/** One patch within a memo scope. */
export function patchKey(scope: string, patch: Rect): string {
  return `${scope}|${patch.x},${patch.y},${patch.width},${patch.height}`;
}

/**
 * Names a head by its weights: the weight count (to read at a glance which extractors it fits)
 * and an FNV-1a hash of the numbers. Equal weights give equal keys, so a head loaded twice hits
 * the tiles cached for it.
 */
export function headKey(W: ArrayLike<number>, b: number): string {
  return `${W.length}:${fnv1a(JSON.stringify([Array.from(W), b]))}`;
}

/** Names a head's ensemble members (W and b of each, in order): part of the key of a head that has them. */
export function ensembleKey(members: readonly { readonly W: ArrayLike<number>; readonly b: number }[]): string {
  return `e${members.length}:${fnv1a(JSON.stringify(members.map((m) => [Array.from(m.W), m.b])))}`;
}

/** FNV-1a over a string's UTF-16 code units: short, stable, not cryptographic. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
