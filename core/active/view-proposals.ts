import type { Rect } from '../math/rect.js';
import type { ResultTile } from '../session/result-tiles.js';
import { rankWindows, DEFAULT_MAX_OVERLAP, type RankedWindow } from './rank-windows.js';
import { windowBenefits } from './window-benefit.js';
import { overlapFraction, windowStarts, type SquareWindow } from './window-sums.js';

/**
 * Where to annotate next in a slide (issue 14, item 3), from what a session has: the finished
 * output tiles of its head (inference-grid probabilities) and the support patches placed.
 * Candidates are the 256² windows on a stride-128 grid anchored at each finished tile (so a
 * window lies in one tile: the tiles are 512², a window never needs a seam), inside `area` (the
 * view, or the tissue's bounds), none mostly on a placed patch. They are ranked as
 * rank-windows.ts does: benefit (window-benefit.ts; the uncertainty layer's map when the caller
 * has one, binary entropy of p otherwise) times diversity from the placed patches in feature
 * space when `descriptor` gives the features' summary of a window (the worker computes features;
 * the page has only probabilities), by benefit alone otherwise.
 */
export interface ViewProposalOptions {
  readonly tiles: Iterable<ResultTile>;
  /** Inference-grid pixels. */
  readonly area: Rect;
  /** The support patches, inference-grid pixels. */
  readonly placed: readonly Rect[];
  /** Default 256. */
  readonly size?: number;
  /** Default 128. */
  readonly stride?: number;
  /** Per-pixel uncertainty over a tile (e.g. a head ensemble's); binary entropy of p when absent. */
  readonly uncertainty?: (tile: ResultTile) => Float32Array | undefined;
  /** A window's descriptor in feature space; without one, no diversity term. */
  readonly descriptor?: (window: Rect) => Float32Array;
  readonly limit?: number;
}

const inside = (w: Rect, area: Rect) =>
  w.x >= area.x && w.y >= area.y && w.x + w.width <= area.x + area.width && w.y + w.height <= area.y + area.height;

/** Windows (group 0, inference-grid x and y) best first, with their benefit and score. */
export function proposeWindows(o: ViewProposalOptions): RankedWindow[] {
  const size = o.size ?? 256;
  const stride = o.stride ?? 128;
  const placed: SquareWindow[] = o.placed.map((r) => ({ group: 0, x: r.x, y: r.y, size: Math.max(r.width, r.height) }));
  const candidates: { window: SquareWindow; benefit: number }[] = [];
  const seen = new Set<string>();
  for (const t of o.tiles) {
    const { x, y, width, height } = t.tile;
    const local = windowStarts(height, size, stride).flatMap((wy) =>
      windowStarts(width, size, stride).map((wx) => ({ group: 0, x: wx, y: wy, size })),
    );
    const benefits = windowBenefits(
      { width, height, step: 1, p: t.probabilities, uncertainty: o.uncertainty?.(t) },
      local,
    );
    local.forEach((w, k) => {
      const at = { group: 0, x: x + w.x, y: y + w.y, size };
      const key = `${at.x},${at.y}`;
      if (seen.has(key) || !inside({ ...at, width: size, height: size }, o.area)) return;
      if (placed.some((p) => overlapFraction(at, p) > DEFAULT_MAX_OVERLAP)) return;
      seen.add(key);
      candidates.push({ window: at, benefit: benefits[k] });
    });
  }
  const rect = (w: SquareWindow): Rect => ({ x: w.x, y: w.y, width: w.size, height: w.size });
  const describe = o.descriptor;
  return rankWindows(
    candidates.map((c) => ({ ...c, descriptor: describe ? describe(rect(c.window)) : new Float32Array(0) })),
    describe ? placed.map((p) => ({ window: p, descriptor: describe(rect(p)) })) : [],
    { limit: o.limit },
  );
}
