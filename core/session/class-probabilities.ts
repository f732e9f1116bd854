import { level0ToGrid, type InferenceGrid } from '../inference/inference-grid.js';
import { planRegion } from '../inference/region-plan.js';
import type { Tiling } from '../inference/tiling.js';
import type { Rect } from '../math/rect.js';
import type { Compute, HeadWeights, PoolSlide } from './compute.js';
import { createResultTiles } from './result-tiles.js';

/**
 * Every class's probability map over a region (issue 15: several classes' exports): each class's
 * head installed in the workers in turn and the region's tiles predicted with it, as a region
 * run predicts them (the same tiles, so a class's map is what that head alone would show), put
 * together over the region's inference-grid rectangle. The workers hold one head at a time, so
 * this replaces theirs: the caller installs its own again afterwards (the pool's cache keeps the
 * tiles of every head, so that costs no new forward). k classes cost k passes over the region.
 */
export interface ClassProbabilityRequest {
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  /** One per class, in class order. */
  readonly heads: readonly HeadWeights[];
  /** The level-0 region; its inference-grid rectangle is the maps'. */
  readonly region: Rect;
  readonly tiling?: Tiling;
  readonly signal?: AbortSignal;
}

export interface ClassProbabilities {
  /** The maps' rectangle, in inference-grid pixels. */
  readonly rect: Rect;
  /** rect.width × rect.height probabilities per class, row-major, in class order. */
  readonly probabilities: Float32Array[];
}

// After every view tile, as a region run's tiles.
const BACKGROUND_PRIORITY = 1e15;

export async function classProbabilities(
  compute: Pick<Compute, 'setHead' | 'predictTile'>,
  request: ClassProbabilityRequest,
): Promise<ClassProbabilities | undefined> {
  const { slide, grid, heads, region, tiling, signal } = request;
  const rect = level0ToGrid(grid, region);
  if (!rect) return undefined;
  const tiles = [...planRegion({ grid, region })];
  const probabilities: Float32Array[] = [];
  for (const head of heads) {
    signal?.throwIfAborted();
    await compute.setHead({ W: head.W, b: head.b });
    const results = createResultTiles();
    const done = await Promise.all(
      tiles.map((t) =>
        compute.predictTile({
          slide,
          inference: grid,
          tile: t.tile,
          tiling,
          priority: BACKGROUND_PRIORITY,
          version: null,
          signal,
        }),
      ),
    );
    done.forEach((r, i) => results.add({ ...tiles[i], probabilities: r.probabilities }));
    probabilities.push(results.mosaic(rect)!.probabilities);
  }
  return { rect, probabilities };
}
