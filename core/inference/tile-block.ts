import type { Rect } from '../math/rect.js';

/**
 * Which adjacent output tiles to compute together in one forward (a *block*,
 * predict-whole-tile.ts's predictWholeBlock). A forward over a rectangle of tiles pays the
 * receptive-field margin once: for 512² tiles at depth 25 (m = 125) a tile alone reads 0.58 MP,
 * 2×2 tiles 0.41 MP each, 3×2 tiles 0.38 MP each — three depth-25 extractors are ~10 100
 * multiply-adds per read pixel, so that is the time per tile too.
 *
 * A block is grown from a seed tile (the most urgent job) by whole strips of candidate tiles
 * along one of its sides, as long as the strip covers that side exactly (the block stays a
 * rectangle with no tile missing: the forward's cost is the rectangle's), the block holds at
 * most `maxTiles` and its read (with the margin) at most `maxReadPixels`. Of the sides that can
 * grow, the one giving the fewest read pixels per tile goes first, so blocks come out near
 * square.
 */

export interface BlockLimits {
  /** Tiles in the block at most, the seed included. */
  readonly maxTiles: number;
  /** The block plus `margin` on every side, in pixels, at most (the worker's memory: see tile-block use). */
  readonly maxReadPixels: number;
  readonly margin: number;
}

/** Pixels a forward over `block` reads: the block and the margin on every side (an upper bound at image edges). */
export function blockReadPixels(block: Rect, margin: number): number {
  return (block.width + 2 * margin) * (block.height + 2 * margin);
}

/**
 * Indices of the `candidates` that join `seed` in its block (none: the seed runs alone).
 * Candidates are tiles of one grid, disjoint from each other and from the seed.
 */
export function growBlock(seed: Rect, candidates: readonly Rect[], limits: BlockLimits): number[] {
  const { maxTiles, maxReadPixels, margin } = limits;
  // Each candidate by its corners: a strip is walked corner to corner.
  const topLeft = new Map<string, number>(),
    topRight = new Map<string, number>(),
    bottomLeft = new Map<string, number>();
  candidates.forEach((t, i) => {
    topLeft.set(`${t.x},${t.y}`, i);
    topRight.set(`${t.x + t.width},${t.y}`, i);
    bottomLeft.set(`${t.x},${t.y + t.height}`, i);
  });
  /** The tiles filling one side's strip exactly (one column or row of equal width/height), or undefined. */
  const strip = (at: Map<string, number>, fixed: number, from: number, to: number, vertical: boolean) => {
    const found: number[] = [];
    let size: number | undefined;
    for (let cur = from; cur < to;) {
      const i = vertical ? at.get(`${fixed},${cur}`) : at.get(`${cur},${fixed}`);
      if (i === undefined) return undefined;
      const t = candidates[i];
      const across = vertical ? t.width : t.height;
      if (size !== undefined && across !== size) return undefined;
      size = across;
      found.push(i);
      cur += vertical ? t.height : t.width;
      if (cur > to) return undefined;
    }
    return found.length > 0 ? { found, size: size! } : undefined;
  };
  let block = { ...seed };
  const members: number[] = [];
  for (;;) {
    const { x, y, width: w, height: h } = block;
    const sides = [
      // right, down, left, up
      [strip(topLeft, x + w, y, y + h, true), (s: number) => ({ x, y, width: w + s, height: h })],
      [strip(topLeft, y + h, x, x + w, false), (s: number) => ({ x, y, width: w, height: h + s })],
      [strip(topRight, x, y, y + h, true), (s: number) => ({ x: x - s, y, width: w + s, height: h })],
      [strip(bottomLeft, y, x, x + w, false), (s: number) => ({ x, y: y - s, width: w, height: h + s })],
    ] as const;
    let best: { tiles: number[]; block: Rect; cost: number } | undefined;
    for (const [found, grown] of sides) {
      if (!found || members.length + 1 + found.found.length > maxTiles) continue;
      const next = grown(found.size);
      const read = blockReadPixels(next, margin);
      if (read > maxReadPixels) continue;
      const cost = read / (members.length + 1 + found.found.length);
      if (!best || cost < best.cost) best = { tiles: found.found, block: next, cost };
    }
    if (!best) return members;
    members.push(...best.tiles);
    block = best.block;
  }
}

/** The most `tileSize`² tiles one block can hold under `maxReadPixels` (at least 1: a tile always runs). */
export function maxBlockTiles(tileSize: number, margin: number, maxReadPixels: number): number {
  let best = 1;
  for (let a = 1; blockReadPixels({ x: 0, y: 0, width: a * tileSize, height: tileSize }, margin) <= maxReadPixels; a++)
    for (
      let b = 1;
      blockReadPixels({ x: 0, y: 0, width: a * tileSize, height: b * tileSize }, margin) <= maxReadPixels;
      b++
    )
      best = Math.max(best, a * b);
  return best;
}
