// Brute-force geometry for tests: every pair of edges compared, written without sweeps or
// shortcuts, with exact rational arithmetic on the coordinates scaled to integers.

/** Edges of flat rings as [x1, y1, x2, y2] (each ring closed implicitly). */
export function edgesOf(
  rings: readonly ArrayLike<number>[],
): { ring: number; index: number; n: number; seg: [number, number, number, number] }[] {
  const out: { ring: number; index: number; n: number; seg: [number, number, number, number] }[] = [];
  rings.forEach((ring, r) => {
    const n = ring.length / 2;
    for (let i = 0; i < n; i++) {
      const j = (i + 1) % n;
      out.push({ ring: r, index: i, n, seg: [ring[2 * i], ring[2 * i + 1], ring[2 * j], ring[2 * j + 1]] });
    }
  });
  return out;
}

// Coordinates here are multiples of 1/4 at most in the tests' use, so ×4 makes them integers
// and BigInt makes every orientation exact.
function big(v: number): bigint {
  const scaled = v * 4;
  if (!Number.isInteger(scaled)) throw new Error(`segment-reference: ${v} is not a multiple of 1/4`);
  return BigInt(scaled);
}

function side(ax: bigint, ay: bigint, bx: bigint, by: bigint, cx: bigint, cy: bigint): number {
  const v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  return v > 0n ? 1 : v < 0n ? -1 : 0;
}

function between(a: bigint, b: bigint, c: bigint): boolean {
  return (a <= c && c <= b) || (b <= c && c <= a);
}

/** Whether two closed segments share any point. */
export function segmentsShareAPoint(s: readonly number[], t: readonly number[]): boolean {
  const [ax, ay, bx, by] = s.map(big);
  const [cx, cy, dx, dy] = t.map(big);
  const d1 = side(ax, ay, bx, by, cx, cy);
  const d2 = side(ax, ay, bx, by, dx, dy);
  const d3 = side(cx, cy, dx, dy, ax, ay);
  const d4 = side(cx, cy, dx, dy, bx, by);
  if (d1 * d2 < 0 && d3 * d4 < 0) return true;
  const onS = (px: bigint, py: bigint) => between(ax, bx, px) && between(ay, by, py);
  const onT = (px: bigint, py: bigint) => between(cx, dx, px) && between(cy, dy, py);
  return (
    (d1 === 0 && onS(cx, cy)) || (d2 === 0 && onS(dx, dy)) || (d3 === 0 && onT(ax, ay)) || (d4 === 0 && onT(bx, by))
  );
}

/**
 * Whether the rings are simple and pairwise disjoint: no two edges share a point, except edges
 * that follow each other in a ring, which share exactly their common vertex.
 */
export function ringsSimpleAndDisjoint(rings: readonly ArrayLike<number>[]): boolean {
  const edges = edgesOf(rings);
  for (let a = 0; a < edges.length; a++) {
    for (let b = a + 1; b < edges.length; b++) {
      const ea = edges[a];
      const eb = edges[b];
      const consecutive =
        ea.ring === eb.ring && ((ea.index + 1) % ea.n === eb.index || (eb.index + 1) % eb.n === ea.index);
      if (!consecutive) {
        if (segmentsShareAPoint(ea.seg, eb.seg)) return false;
        continue;
      }
      // Sharing one vertex: they must not overlap along a line (a fold back).
      const [first, second] = (ea.index + 1) % ea.n === eb.index ? [ea, eb] : [eb, ea];
      const [px, py, qx, qy] = first.seg.map(big);
      const [, , rx, ry] = second.seg.map(big);
      if (side(px, py, qx, qy, rx, ry) === 0 && (px - qx) * (rx - qx) + (py - qy) * (ry - qy) > 0n) return false;
      if (ea.n < 3) return false;
    }
  }
  return true;
}
