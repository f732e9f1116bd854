import type { Rect } from '../math/rect.js';
import type { ResultTile } from '../session/result-tiles.js';
import { rankWindows, DEFAULT_MAX_OVERLAP, type RankedWindow } from './rank-windows.js';
import { windowBenefits } from './window-benefit.js';
import { standardiseDescriptors } from './window-descriptors.js';
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
  /**
   * A window's descriptor in feature space (region-descriptors.ts: its mean features, not
   * standardised); undefined while unknown. Without all of them, no diversity term.
   */
  readonly descriptor?: (window: Rect) => Float32Array | undefined;
  readonly limit?: number;
}

const inside = (w: Rect, area: Rect) =>
  w.x >= area.x && w.y >= area.y && w.x + w.width <= area.x + area.width && w.y + w.height <= area.y + area.height;

export interface ViewCandidate {
  readonly window: SquareWindow;
  readonly benefit: number;
  /** The finished tile it lies in (inference-grid pixels): one forward there describes all its windows. */
  readonly tile: Rect;
}

/** The candidate windows (group 0, inference-grid x and y) with their benefit, tile by tile. */
export function viewCandidates(o: Omit<ViewProposalOptions, 'descriptor' | 'limit'>): ViewCandidate[] {
  const size = o.size ?? 256;
  const stride = o.stride ?? 128;
  const placed = o.placed.map(squareOf);
  const candidates: ViewCandidate[] = [];
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
      candidates.push({ window: at, benefit: benefits[k], tile: t.tile });
    });
  }
  return candidates;
}

const squareOf = (r: Rect): SquareWindow => ({ group: 0, x: r.x, y: r.y, size: Math.max(r.width, r.height) });
const rectOf = (w: SquareWindow): Rect => ({ x: w.x, y: w.y, width: w.size, height: w.size });

/**
 * Windows (group 0, inference-grid x and y) best first, with their benefit and score. The
 * diversity term needs every candidate's and every placed patch's descriptor: with one missing
 * (not computed yet), the ranking is by benefit alone, never a mix of the two.
 */
export function proposeWindows(o: ViewProposalOptions): RankedWindow[] {
  const candidates = viewCandidates(o);
  const placed = o.placed.map(squareOf);
  const raw = o.descriptor ? [...candidates.map((c) => c.window), ...placed].map((w) => o.descriptor!(rectOf(w))) : [];
  const described = raw.length > 0 && raw.every((d) => d !== undefined);
  // Standardised over what is ranked together, as the simulation's pool standardises over its candidates.
  const descriptors = described ? standardiseDescriptors(raw as Float32Array[]) : [];
  const empty = new Float32Array(0);
  return rankWindows(
    candidates.map((c, k) => ({ window: c.window, benefit: c.benefit, descriptor: descriptors[k] ?? empty })),
    described ? placed.map((p, k) => ({ window: p, descriptor: descriptors[candidates.length + k] })) : [],
    { limit: o.limit },
  );
}
