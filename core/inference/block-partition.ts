import type { Rect } from '../math/rect.js';
import { boundsOf } from './patch-grid.js';
import { blockReadPixels, growBlock } from './tile-block.js';

/**
 * The block a free worker takes of a view's queued 'whole' tiles, chosen for the time the whole
 * view takes on all workers, not for this block alone (tile-block.ts's growBlock). The queued
 * tiles (their bounding rectangle, about the view) are cut into strips of whole tile columns or
 * rows; each strip is computed as one forward over the bounding rectangle of its tiles, so a tile
 * inside it that is not queued (the view's first tile, running alone; a tile already shown) is
 * computed again instead of leaving a hole that splits the strip into several forwards, each
 * with a margin of its own. The cuts chosen are those with the shortest estimated finish of the
 * view: the strips' read pixels (the time goes with them) list-scheduled, largest first, over
 * this worker (first the seed's strip) and the others (each after what it still has to read),
 * ties by total read pixels. Greedy growth (no pixel computed twice, then the rest cut into
 * strips) is weighed the same way and wins where recomputing would cost more, e.g. queued tiles
 * around a shown centre after a zoom out.
 *
 * Why: a full-HD view at m = 125 px in 256² tiles is 8×5 tiles; after its first tile, growth by
 * cost per tile took 16, 12, 6, 2, 2 and 1 tiles (6 forwards, 5.11 MP read with the first tile),
 * cut in two 4×5 strips it reads 2 × 1.95 MP (+ 0.26 MP for the first tile): with time as read
 * pixels at 1.8 µs each, the view fills in 3.97 s against 4.65 (5.01 for 512² tiles by growth).
 */

export interface PartitionLimits {
  /** The read (block plus `margin` on every side) of one forward at most; a single tile always runs. */
  readonly maxReadPixels: number;
  readonly margin: number;
  /** Read pixels each other worker still has to compute before it is free (0: free now). */
  readonly otherLoads: readonly number[];
}

interface Plan {
  /** Indices (into the tiles given to `partition`) of the tiles that join the seed. */
  readonly members: number[];
  readonly finish: number;
  readonly total: number;
}

/** Cut combinations tried per strip count; beyond it only equal strips. */
const MAX_COMBINATIONS = 200;
/** More queued tiles than this (a budget far above the default's 61 tiles of 256²): growth alone. */
const MAX_TILES = 256;

/**
 * Indices of the `candidates` that join `seed` in its block (none: the seed runs alone).
 * Candidates are queued tiles of one grid, disjoint from each other and from the seed.
 */
export function partitionBlock(seed: Rect, candidates: readonly Rect[], limits: PartitionLimits): number[] {
  if (candidates.length === 0) return [];
  const tiles = [seed, ...candidates];
  const workers = limits.otherLoads.length + 1;
  // Greedy growth, its share of the tiles as before (tile-block.ts), the rest cut into strips.
  const grown = growBlock(seed, candidates, {
    maxTiles: Math.ceil(tiles.length / workers),
    maxReadPixels: limits.maxReadPixels,
    margin: limits.margin,
  });
  if (tiles.length > MAX_TILES) return grown;
  const best = bestStrips(tiles, limits, true);
  const taken = new Set(grown.map((i) => i + 1));
  const seedRead = blockReadPixels(boundsOf([seed, ...grown.map((i) => candidates[i])]), limits.margin);
  const rest = tiles.filter((_, i) => i > 0 && !taken.has(i));
  const restPlan = rest.length
    ? bestStrips(rest, { ...limits, otherLoads: [seedRead, ...limits.otherLoads] }, false)
    : { members: [], finish: Math.max(seedRead, ...limits.otherLoads), total: 0 };
  const growPlan = restPlan && { finish: restPlan.finish, total: restPlan.total + seedRead };
  if (!best || (growPlan && better(growPlan, best))) return grown;
  return best.members.map((i) => i - 1);
}

const better = (a: { finish: number; total: number }, b: { finish: number; total: number }) =>
  a.finish < b.finish || (a.finish === b.finish && a.total < b.total);

/**
 * The best cut of `tiles` into strips. `withSeed`: tile 0 is the seed, its strip goes to this
 * worker first (load 0), and `members` are the other tiles of that strip; otherwise every strip
 * is list-scheduled over the `otherLoads` alone. Undefined when no cut keeps every strip of
 * several tiles within the read limit (then greedy growth decides).
 */
function bestStrips(tiles: readonly Rect[], limits: PartitionLimits, withSeed: boolean): Plan | undefined {
  const { margin, maxReadPixels, otherLoads } = limits;
  let best: { finish: number; total: number; vertical: boolean; from: number; to: number } | undefined;
  for (const vertical of [true, false]) {
    // Lines: the distinct tile columns (vertical strips) or rows, each with the extent of its tiles.
    const starts = [...new Set(tiles.map((t) => (vertical ? t.x : t.y)))].sort((a, b) => a - b);
    const n = starts.length;
    const lineOf = new Map(starts.map((s, i) => [s, i]));
    const end = new Float64Array(n),
      lo = new Float64Array(n).fill(Infinity),
      hi = new Float64Array(n).fill(-Infinity),
      count = new Int32Array(n);
    for (const t of tiles) {
      const [along, size, across, thick] = vertical ? [t.x, t.width, t.y, t.height] : [t.y, t.height, t.x, t.width];
      const i = lineOf.get(along)!;
      end[i] = Math.max(end[i], along + size);
      lo[i] = Math.min(lo[i], across);
      hi[i] = Math.max(hi[i], across + thick);
      count[i]++;
    }
    const seedLine = withSeed ? lineOf.get(vertical ? tiles[0].x : tiles[0].y)! : -1;
    // read[i·n + j]: the forward over lines i…j (their tiles' bounding rectangle), or Infinity
    // when it holds several tiles and reads more than the limit.
    const read = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      let a = Infinity,
        b = -Infinity,
        tilesIn = 0,
        last = 0;
      for (let j = i; j < n; j++) {
        a = Math.min(a, lo[j]);
        b = Math.max(b, hi[j]);
        last = Math.max(last, end[j]);
        tilesIn += count[j];
        const r = (last - starts[i] + 2 * margin) * (b - a + 2 * margin);
        read[i * n + j] = tilesIn > 1 && r > maxReadPixels ? Infinity : r;
      }
    }
    const loads = new Float64Array(otherLoads.length + 1);
    const reads: number[] = [];
    const workers = withSeed ? otherLoads.length + 1 : otherLoads.length;
    // Up to 2 strips more than workers: more only pay more margins (and the main thread's time).
    for (let parts = 1; parts <= Math.min(n, workers + 2); parts++) {
      forEachCut(n, parts - 1, (cuts) => {
        reads.length = 0;
        let total = 0,
          seedRead = 0,
          ok = true,
          from = 0,
          seedFrom = 0,
          seedTo = 0;
        for (let k = 0; k <= cuts.length && ok; k++) {
          const to = k < cuts.length ? cuts[k] - 1 : n - 1;
          const r = read[from * n + to];
          if (r === Infinity) ok = false;
          total += r;
          if (seedLine >= from && seedLine <= to) {
            seedRead = r;
            seedFrom = from;
            seedTo = to;
          } else reads.push(r);
          from = to + 1;
        }
        if (!ok) return;
        // List scheduling, largest first: this worker starts with the seed's strip.
        if (withSeed) loads[0] = seedRead;
        for (let w = 0; w < otherLoads.length; w++) loads[w + (withSeed ? 1 : 0)] = otherLoads[w];
        reads.sort((p, q) => q - p);
        for (const r of reads) {
          let least = 0;
          for (let w = 1; w < workers; w++) if (loads[w] < loads[least]) least = w;
          loads[least] += r;
        }
        let finish = 0;
        for (let w = 0; w < workers; w++) finish = Math.max(finish, loads[w]);
        const plan = { finish, total, vertical, from: seedFrom, to: seedTo };
        if (!best || better(plan, best)) best = plan;
      });
    }
  }
  if (!best) return undefined;
  const { vertical, from, to } = best;
  const starts = [...new Set(tiles.map((t) => (vertical ? t.x : t.y)))].sort((a, b) => a - b);
  const a = starts[from],
    b = to + 1 < starts.length ? starts[to + 1] : Infinity;
  const members = withSeed
    ? tiles.flatMap((t, i) => {
        const s = vertical ? t.x : t.y;
        return i > 0 && s >= a && s < b ? [i] : [];
      })
    : [];
  return { members, finish: best.finish, total: best.total };
}

/**
 * Calls `use` with each ascending choice of `k` cuts among lines 1…n−1 (a cut at line i starts
 * a strip there), the same array each time: all while few, else the one making strips of equal
 * line counts. Plain loops: a generator per choice cost ~10× more time, on the page's thread.
 */
function forEachCut(n: number, k: number, use: (cuts: readonly number[]) => void): void {
  if (k > n - 1) return;
  if (k === 0 || combinations(n - 1, k) > MAX_COMBINATIONS) {
    use(Array.from({ length: k }, (_, j) => Math.round(((j + 1) * n) / (k + 1))));
    return;
  }
  const cuts = Array.from({ length: k }, (_, j) => j + 1);
  for (;;) {
    use(cuts);
    // The next combination: the last cut that can still move right moves, those after it follow.
    let j = k - 1;
    while (j >= 0 && cuts[j] === n - k + j) j--;
    if (j < 0) return;
    cuts[j]++;
    for (let i = j + 1; i < k; i++) cuts[i] = cuts[i - 1] + 1;
  }
}

function combinations(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
}
