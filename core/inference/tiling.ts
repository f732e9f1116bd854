/**
 * How an output tile's probabilities are computed (docs/ARCHITECTURE.md#prediction):
 *
 * - `'whole'`: one forward of the extractors and head over the tile plus the extractors'
 *   receptive-field margin (predict-whole-tile.ts, receptive-field.ts). Every output pixel is
 *   computed once and equals a forward over the whole slide, whatever the tile size; the margin
 *   costs (1 + 2m/T)² per pixel: 2.2× for 512² tiles at depth 25 (m = 125).
 * - `'patches'`: the paper's protocol (predict-tile.ts): 256×256 patches on a stride-64 window,
 *   overlapping probabilities averaged; every pixel is computed by 16 patches.
 *
 * Both give a tile that does not depend on the region it was asked with; they give different
 * numbers for the same tile, so whatever caches or shows tiles keeps the two apart.
 */
export type Tiling = 'whole' | 'patches';

export const TILINGS: readonly Tiling[] = ['whole', 'patches'];

/** The fast one; 'patches' stays for comparing with the paper (and the evaluation tool). */
export const DEFAULT_TILING: Tiling = 'whole';

/**
 * The output tile size of a live view's plan (view-plan.ts) per tiling. 'whole': 256², whose
 * results equal those of any other size: a full-HD view placed 8 px inside the tile grid is 8×5
 * tiles (2.62 MP) instead of 4×3 of 512² (3.15 MP), its first tile reads 0.26 MP instead of 0.58,
 * and the pool's blocks (block-partition.ts) cut the rest into two strips of 1.95 MP; a smaller
 * size would cut more but multiplies the tiles a zoomed-out view plans (planView keeps 150 000
 * tiles inside a 50 ms task). 'patches': 512², whose patch memo shares patches between
 * neighbouring tiles anyway. Region runs keep 512² (region-plan.ts) for both.
 */
export const VIEW_TILE_SIZE: Readonly<Record<Tiling, number>> = { whole: 256, patches: 512 };

/** The value as a Tiling, or a RangeError naming what it got (callers from plain JavaScript). */
export function checkTiling(value: unknown): Tiling {
  if (value === 'whole' || value === 'patches') return value;
  throw new RangeError(`tiling must be 'whole' or 'patches', got ${JSON.stringify(value) ?? String(value)}`);
}
