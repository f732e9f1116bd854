import { pointInRing, signedArea } from './ring-geometry.js';

/**
 * Whether flat rings [outer, ...holes] form a valid polygon in the OGC sense that QuPath's
 * geometry library (JTS) checks: every ring has at least 3 vertices and no edge of any ring
 * touches or crosses another edge (edges that follow each other share only their common
 * vertex); the outer ring has positive signed area and the holes negative; every hole lies
 * inside the outer ring and outside the other holes.
 *
 * Edges are swept in order of their left end, so a typical outline costs O(e log e) rather than
 * comparing all pairs. Exact for the half-integer vertices of traced outlines.
 */
export function isValidPolygon(rings: readonly Float64Array[]): boolean {
  if (rings.length === 0) return false;
  let edges = 0;
  for (let r = 0; r < rings.length; r++) {
    const ring = rings[r];
    if (ring.length < 6 || ring.length % 2 !== 0) return false;
    const area = signedArea(ring);
    if (r === 0 ? !(area > 0) : !(area < 0)) return false;
    edges += ring.length / 2;
  }
  const ringOf = new Int32Array(edges);
  const startOf = new Int32Array(edges);
  const minX = new Float64Array(edges);
  let e = 0;
  for (let r = 0; r < rings.length; r++) {
    const ring = rings[r];
    const n = ring.length / 2;
    for (let i = 0; i < n; i++, e++) {
      const j = (i + 1) % n;
      if (ring[2 * i] === ring[2 * j] && ring[2 * i + 1] === ring[2 * j + 1]) return false;
      ringOf[e] = r;
      startOf[e] = i;
      minX[e] = Math.min(ring[2 * i], ring[2 * j]);
    }
  }
  const order = Int32Array.from({ length: edges }, (_, k) => k).sort((a, b) => minX[a] - minX[b]);
  for (let k = 0; k < edges; k++) {
    const a = order[k];
    const ra = rings[ringOf[a]];
    const na = ra.length / 2;
    const ia = startOf[a];
    const ja = (ia + 1) % na;
    const ax1 = ra[2 * ia],
      ay1 = ra[2 * ia + 1],
      ax2 = ra[2 * ja],
      ay2 = ra[2 * ja + 1];
    const aMaxX = Math.max(ax1, ax2);
    const aMinY = Math.min(ay1, ay2);
    const aMaxY = Math.max(ay1, ay2);
    for (let m = k + 1; m < edges && minX[order[m]] <= aMaxX; m++) {
      const b = order[m];
      const rb = rings[ringOf[b]];
      const nb = rb.length / 2;
      const ib = startOf[b];
      const jb = (ib + 1) % nb;
      const bx1 = rb[2 * ib],
        by1 = rb[2 * ib + 1],
        bx2 = rb[2 * jb],
        by2 = rb[2 * jb + 1];
      if (Math.max(by1, by2) < aMinY || Math.min(by1, by2) > aMaxY) continue;
      if (ringOf[a] === ringOf[b]) {
        // Consecutive edges share a vertex; they are wrong only if they fold back onto each other.
        if (ja === ib) {
          if (foldsBack(ax1, ay1, ax2, ay2, bx2, by2)) return false;
          continue;
        }
        if (jb === ia) {
          if (foldsBack(bx1, by1, bx2, by2, ax2, ay2)) return false;
          continue;
        }
      }
      if (segmentsMeet(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2)) return false;
    }
  }
  // With no edges meeting, one vertex tells on which side of another ring a whole ring lies.
  const outer = rings[0];
  for (let h = 1; h < rings.length; h++) {
    const x = rings[h][0];
    const y = rings[h][1];
    if (!pointInRing(outer, x, y)) return false;
    for (let g = 1; g < rings.length; g++) if (g !== h && pointInRing(rings[g], x, y)) return false;
  }
  return true;
}

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  return Math.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax));
}

/** Whether c, collinear with a and b, lies within the box of segment ab. */
function within(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): boolean {
  return Math.min(ax, bx) <= cx && cx <= Math.max(ax, bx) && Math.min(ay, by) <= cy && cy <= Math.max(ay, by);
}

/** Closed segments ab and cd share at least one point. */
function segmentsMeet(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cx: number,
  cy: number,
  dx: number,
  dy: number,
): boolean {
  const o1 = orient(ax, ay, bx, by, cx, cy);
  const o2 = orient(ax, ay, bx, by, dx, dy);
  const o3 = orient(cx, cy, dx, dy, ax, ay);
  const o4 = orient(cx, cy, dx, dy, bx, by);
  if (o1 * o2 < 0 && o3 * o4 < 0) return true;
  if (o1 === 0 && within(ax, ay, bx, by, cx, cy)) return true;
  if (o2 === 0 && within(ax, ay, bx, by, dx, dy)) return true;
  if (o3 === 0 && within(cx, cy, dx, dy, ax, ay)) return true;
  if (o4 === 0 && within(cx, cy, dx, dy, bx, by)) return true;
  return false;
}

/** Edges ab then bc turn back along themselves (c on the ray from b through a). */
function foldsBack(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): boolean {
  return orient(ax, ay, bx, by, cx, cy) === 0 && (ax - bx) * (cx - bx) + (ay - by) * (cy - by) > 0;
}
