import Flatbush from 'flatbush';
import { pointInRing } from './ring-geometry.js';

/**
 * Which cell a point is in, among many outlines (flat outer rings in one coordinate space, e.g.
 * level-0 pixels): a Flatbush R-tree over the rings' bounding boxes (the contour layer's
 * `cell-index.ts` uses the same library per tile) gives the few boxes holding the point, then a
 * point-in-ring test decides. A click costs microseconds among 100 000 cells.
 */
export interface CellHitIndex {
  readonly count: number;
  /** The index of the ring containing (x, y) (the smallest box when rings overlap), or -1. */
  cellAt(x: number, y: number): number;
  /** minX, minY, maxX, maxY of ring `i`. */
  bounds(i: number): readonly [number, number, number, number];
}

export function cellHitIndex(rings: readonly ArrayLike<number>[]): CellHitIndex {
  const n = rings.length;
  const boxes = new Float64Array(4 * n);
  const tree = n > 0 ? new Flatbush(n) : undefined;
  for (let i = 0; i < n; i++) {
    const ring = rings[i];
    let x0 = Infinity,
      y0 = Infinity,
      x1 = -Infinity,
      y1 = -Infinity;
    for (let k = 0; k < ring.length; k += 2) {
      x0 = Math.min(x0, ring[k]);
      x1 = Math.max(x1, ring[k]);
      y0 = Math.min(y0, ring[k + 1]);
      y1 = Math.max(y1, ring[k + 1]);
    }
    boxes.set([x0, y0, x1, y1], 4 * i);
    // An empty ring is never hit: its box goes where no finite point is (Flatbush wants every item).
    if (x0 <= x1) tree!.add(x0, y0, x1, y1);
    else tree!.add(Infinity, Infinity, Infinity, Infinity);
  }
  tree?.finish();
  return {
    count: n,
    cellAt(x, y) {
      if (!tree || !Number.isFinite(x) || !Number.isFinite(y)) return -1;
      let best = -1;
      let bestArea = Infinity;
      for (const i of tree.search(x, y, x, y)) {
        const b = 4 * i;
        const area = (boxes[b + 2] - boxes[b]) * (boxes[b + 3] - boxes[b + 1]);
        if (area < bestArea && pointInRing(rings[i], x, y)) {
          best = i;
          bestArea = area;
        }
      }
      return best;
    },
    bounds(i) {
      if (!(i >= 0 && i < n)) throw new RangeError(`no cell ${i} among ${n}`);
      return [boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]];
    },
  };
}
