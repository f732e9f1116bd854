import { isValidPolygon } from './polygon-validity.js';
import { signedArea } from './ring-geometry.js';

/**
 * A cell's polygon as written to a file: every vertex rounded to the file's decimals, then made
 * valid again. Rounding moves vertices by up to half a unit of the last decimal, which with
 * `decimals: 0` made 1,316 rings with fewer than 3 distinct points and 56 self-intersections on
 * the sample slide (issue 12); at the default 2 decimals none. The rule, in order:
 *
 * 1. consecutive equal vertices (the ring's last and first included) become one;
 * 2. spikes, a vertex between two equal ones (A B A), are cut back to A, until none is left;
 * 3. the outer ring must then be valid on its own (≥ 3 vertices, positive area, no edge touching
 *    another: core/cells/polygon-validity.ts), else the cell is dropped;
 * 4. each hole is kept only if the polygon with it stays valid, else that hole is dropped.
 *
 * Dropping rather than repairing: a ring that rounding collapsed is a cell a few units across,
 * below what the chosen precision can draw, and a repaired self-intersection would draw an
 * outline the mask never had.
 */
export interface RoundedPolygon {
  /** [outer, ...holes], flat [x0, y0, x1, y1, …], not closed; null when the cell is dropped. */
  readonly rings: Float64Array[] | null;
  readonly holesDropped: number;
}

function cleanRing(ring: Float64Array, round: (v: number) => number): Float64Array {
  const points: [number, number][] = [];
  for (let i = 0; i < ring.length; i += 2) points.push([round(ring[i]), round(ring[i + 1])]);
  const same = (a: [number, number], b: [number, number]) => a[0] === b[0] && a[1] === b[1];
  for (let changed = true; changed;) {
    changed = false;
    for (let i = points.length - 1; i >= 0 && points.length > 1; i--) {
      if (i < points.length && same(points[i], points[(i + 1) % points.length])) {
        points.splice(i, 1);
        changed = true;
      }
    }
    const n = points.length;
    for (let i = 0; n >= 3 && i < n; i++) {
      if (same(points[(i + n - 1) % n], points[(i + 1) % n])) {
        // A spike: drop the vertex and the repeat after it (the higher index first).
        const j = (i + 1) % n;
        points.splice(Math.max(i, j), 1);
        points.splice(Math.min(i, j), 1);
        changed = true;
        break;
      }
    }
  }
  return Float64Array.from(points.flat());
}

/** The rings (level-0, flat, not closed) rounded by `round` and made valid by the rule above. */
export function roundedPolygon(rings: readonly Float64Array[], round: (v: number) => number): RoundedPolygon {
  const [outer, ...holes] = rings.map((ring) => cleanRing(ring, round));
  if (!outer || outer.length < 6 || !(signedArea(outer) > 0) || !isValidPolygon([outer]))
    return { rings: null, holesDropped: 0 };
  const kept = [outer];
  let holesDropped = 0;
  for (const hole of holes) {
    if (hole.length >= 6 && signedArea(hole) < 0 && isValidPolygon([...kept, hole])) kept.push(hole);
    else holesDropped++;
  }
  return { rings: kept, holesDropped };
}
