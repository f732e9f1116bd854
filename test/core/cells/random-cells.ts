import { SeededRandom } from '../../../core/math/seeded-random.js';

/** A star-shaped cell around (cx, cy): ring of 6–20 vertices, radii 3–8; every third has a hole. */
export function randomCell(random: SeededRandom, cx: number, cy: number): Float64Array[] {
  const n = 6 + random.int(15);
  const outer = new Float64Array(2 * n);
  let smallest = Infinity;
  for (let i = 0; i < n; i++) {
    const angle = (2 * Math.PI * i) / n;
    const r = 3 + 5 * random.next();
    smallest = Math.min(smallest, r);
    outer[2 * i] = cx + r * Math.cos(angle);
    outer[2 * i + 1] = cy + r * Math.sin(angle);
  }
  if (random.next() > 1 / 3) return [outer];
  // A hole well inside the smallest radius, clockwise.
  const h = smallest / 2;
  return [outer, Float64Array.of(cx - h, cy - h, cx - h, cy + h, cx + h, cy + h, cx + h, cy - h)];
}

/**
 * Inside by the winding number of the outer ring less the holes' (a different algorithm from
 * the crossing count the code uses): the reference for hit-tests.
 */
export function insideByWinding(rings: readonly ArrayLike<number>[], x: number, y: number): boolean {
  let winding = 0;
  for (const ring of rings) {
    let w = 0;
    for (let i = 0; i < ring.length; i += 2) {
      const j = (i + 2) % ring.length;
      const [ax, ay, bx, by] = [ring[i], ring[i + 1], ring[j], ring[j + 1]];
      const side = (bx - ax) * (y - ay) - (x - ax) * (by - ay);
      if (ay <= y && by > y && side > 0) w++;
      else if (ay > y && by <= y && side < 0) w--;
    }
    winding += Math.abs(w);
  }
  // Outer counts 1 where inside; a hole inside it adds 1 more: odd means in the cell proper.
  return winding % 2 === 1;
}
