import { pointInRing } from './ring-geometry.js';

/**
 * Which cell a point is in, among many outlines (flat outer rings in one coordinate space, e.g.
 * level-0 pixels): a uniform grid of buckets over the rings' bounding boxes, each box entered in
 * every bucket it meets, and a point tested against the rings of its bucket only. Buckets are
 * sized to the mean box so that a bucket holds a few cells: a click costs a handful of
 * point-in-ring tests whatever the count.
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
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity,
    sumSide = 0;
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
    if (!(x0 <= x1)) continue; // an empty ring is never hit
    minX = Math.min(minX, x0);
    minY = Math.min(minY, y0);
    maxX = Math.max(maxX, x1);
    maxY = Math.max(maxY, y1);
    sumSide += Math.max(x1 - x0, y1 - y0);
  }
  // Twice the mean box side, but no more buckets than 4 per cell where the cells are sparse.
  const spanX = maxX - minX;
  const spanY = maxY - minY;
  let side = n > 0 && sumSide > 0 ? (2 * sumSide) / n : 1;
  if ((spanX / side) * (spanY / side) > 4 * n) side = Math.sqrt((spanX * spanY) / (4 * n));
  const columns = minX <= maxX ? Math.floor(spanX / side) + 1 : 0;
  const rowsCount = minY <= maxY ? Math.floor(spanY / side) + 1 : 0;
  const cellW = side;
  const cellH = side;
  const column = (x: number) => Math.min(columns - 1, Math.floor((x - minX) / cellW));
  const row = (y: number) => Math.min(rowsCount - 1, Math.floor((y - minY) / cellH));
  const buckets: number[][] = Array.from({ length: columns * rowsCount }, () => []);
  for (let i = 0; i < n; i++) {
    const [x0, y0, x1, y1] = boxes.subarray(4 * i, 4 * i + 4);
    if (!(x0 <= x1)) continue;
    for (let r = row(y0); r <= row(y1); r++)
      for (let c = column(x0); c <= column(x1); c++) buckets[r * columns + c].push(i);
  }
  return {
    count: n,
    cellAt(x, y) {
      if (!(x >= minX && x <= maxX && y >= minY && y <= maxY)) return -1;
      let best = -1;
      let bestArea = Infinity;
      for (const i of buckets[row(y) * columns + column(x)]) {
        const b = 4 * i;
        if (x < boxes[b] || x > boxes[b + 2] || y < boxes[b + 1] || y > boxes[b + 3]) continue;
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
