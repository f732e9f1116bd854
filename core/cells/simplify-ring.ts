/**
 * Douglas–Peucker on a closed ring (flat [x0, y0, x1, y1, …], first vertex not repeated): keeps
 * the vertices needed for every dropped vertex to lie within `tolerance` of the simplified
 * outline. Tolerance 0 drops exactly the vertices that lie on the straight line between their
 * kept neighbours, so the shape is unchanged.
 *
 * A closed ring has no natural end points, so the two anchors are vertices every
 * simplification must keep anyway: the lexicographically smallest (a corner of the convex hull)
 * and the vertex farthest from it. Topology is not checked here (see polygon-simple.ts).
 */
export function simplifyRing(ring: Float64Array, tolerance: number): Float64Array {
  if (!(tolerance >= 0) || !Number.isFinite(tolerance))
    throw new RangeError(`tolerance is ${tolerance}; it is a finite distance ≥ 0`);
  if (ring.length % 2 !== 0) throw new RangeError(`a flat ring has an even number of coordinates, not ${ring.length}`);
  const n = ring.length / 2;
  if (n <= 3) return ring.slice();
  let first = 0;
  for (let i = 1; i < n; i++) {
    const x = ring[2 * i];
    const y = ring[2 * i + 1];
    if (x < ring[2 * first] || (x === ring[2 * first] && y < ring[2 * first + 1])) first = i;
  }
  let second = first;
  let farthest = -1;
  for (let i = 0; i < n; i++) {
    const dx = ring[2 * i] - ring[2 * first];
    const dy = ring[2 * i + 1] - ring[2 * first + 1];
    const d = dx * dx + dy * dy;
    if (d > farthest) {
      farthest = d;
      second = i;
    }
  }
  const keep = new Uint8Array(n);
  keep[first] = 1;
  keep[second] = 1;
  const limit = tolerance * tolerance;
  // Spans are index ranges along the ring, unwrapped: [a, b] with b possibly ≥ n.
  const stack: number[] = [first, second < first ? second + n : second, second, first < second ? first + n : first];
  while (stack.length > 0) {
    const b = stack.pop()!;
    const a = stack.pop()!;
    if (b - a < 2) continue;
    const ia = a % n;
    const ib = b % n;
    const ax = ring[2 * ia];
    const ay = ring[2 * ia + 1];
    const sx = ring[2 * ib] - ax;
    const sy = ring[2 * ib + 1] - ay;
    const length2 = sx * sx + sy * sy;
    let worst = -1;
    let at = -1;
    for (let k = a + 1; k < b; k++) {
      const i = k % n;
      const px = ring[2 * i] - ax;
      const py = ring[2 * i + 1] - ay;
      const t = length2 > 0 ? (px * sx + py * sy) / length2 : 0;
      let d: number;
      if (t <= 0) d = px * px + py * py;
      else if (t >= 1) d = (px - sx) * (px - sx) + (py - sy) * (py - sy);
      else {
        // Squared distance to the line from the cross product: exact for the half-integer
        // vertices of traced outlines, so tolerance 0 drops only truly collinear vertices.
        const cross = px * sy - py * sx;
        d = (cross * cross) / length2;
      }
      if (d > worst) {
        worst = d;
        at = k;
      }
    }
    if (worst > limit) {
      keep[at % n] = 1;
      stack.push(a, at, at, b);
    }
  }
  let kept = 0;
  for (let i = 0; i < n; i++) kept += keep[i];
  const out = new Float64Array(2 * kept);
  let o = 0;
  // Start from the same vertex as the input, so that the orientation and order carry over.
  for (let i = 0; i < n; i++) {
    if (keep[i] === 0) continue;
    out[o++] = ring[2 * i];
    out[o++] = ring[2 * i + 1];
  }
  return out;
}
