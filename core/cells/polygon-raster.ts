/** A closed ring of [x, y] vertices; the edge from the last vertex back to the first is implied. */
export type PolygonRing = readonly (readonly [number, number])[];

/**
 * Sets to `value` every pixel of a row-major `width` × `height` mask whose centre (x + 0.5, y + 0.5)
 * lies inside the polygon, by the even-odd rule over all rings together (so holes, and rings
 * drawn in either direction, work). Coordinates are pixel-corner ones: pixel (x, y) covers
 * [x, x + 1) × [y, y + 1). Vertices may lie anywhere; what falls outside the mask is clipped.
 *
 * A centre exactly on the outline counts as inside on the polygon's left and top edges and as
 * outside on its right and bottom edges (half-open spans, as pixels themselves are), so two
 * polygons that share an edge never both claim, nor both miss, a pixel — what a fill tool next
 * to earlier strokes, and the contour round trip, rely on.
 *
 * Scanline with an active-edge list: O(edges + rows × active edges + filled pixels).
 */
export function rasterisePolygon(
  mask: Uint8Array,
  width: number,
  height: number,
  rings: readonly PolygonRing[],
  value: number,
): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0)
    throw new RangeError(`mask size ${width}×${height} is not a pair of non-negative integers`);
  if (mask.length !== width * height)
    throw new RangeError(`mask has ${mask.length} pixels, ${width}×${height} needs ${width * height}`);
  let vertices = 0;
  for (const ring of rings) vertices += ring.length;

  // Edges that cross at least one row centre inside the mask; rows [r0, r1) are the rows whose
  // centre y + 0.5 satisfies yTop ≤ y + 0.5 < yBottom.
  const x0 = new Float64Array(vertices);
  const y0 = new Float64Array(vertices);
  const dx = new Float64Array(vertices);
  const dy = new Float64Array(vertices);
  const r0 = new Int32Array(vertices);
  const r1 = new Int32Array(vertices);
  let edges = 0;
  let rowMin = height;
  let rowMax = 0;
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i++) {
      const a = ring[i];
      const b = ring[i + 1 === ring.length ? 0 : i + 1];
      if (!Number.isFinite(a[0]) || !Number.isFinite(a[1]))
        throw new RangeError(`polygon vertex (${a[0]}, ${a[1]}) is not finite`);
      const [top, bottom] = a[1] <= b[1] ? [a, b] : [b, a];
      const start = Math.max(0, Math.ceil(top[1] - 0.5));
      const end = Math.min(height, Math.ceil(bottom[1] - 0.5));
      if (start >= end) continue;
      x0[edges] = top[0];
      y0[edges] = top[1];
      dx[edges] = bottom[0] - top[0];
      dy[edges] = bottom[1] - top[1];
      r0[edges] = start;
      r1[edges] = end;
      if (start < rowMin) rowMin = start;
      if (end > rowMax) rowMax = end;
      edges++;
    }
  }
  if (edges === 0) return;

  // Edges bucketed by first row (counting sort), so each row adds its new edges in O(1) each.
  const rows = rowMax - rowMin;
  const bucket = new Int32Array(rows + 1);
  for (let e = 0; e < edges; e++) bucket[r0[e] - rowMin + 1]++;
  for (let r = 0; r < rows; r++) bucket[r + 1] += bucket[r];
  const byStart = new Int32Array(edges);
  const fillAt = bucket.slice(0, rows);
  for (let e = 0; e < edges; e++) byStart[fillAt[r0[e] - rowMin]++] = e;

  const active = new Int32Array(edges);
  const xs = new Float64Array(edges);
  let activeCount = 0;
  for (let row = rowMin; row < rowMax; row++) {
    for (let k = bucket[row - rowMin]; k < bucket[row - rowMin + 1]; k++) active[activeCount++] = byStart[k];
    const yc = row + 0.5;
    let kept = 0;
    for (let k = 0; k < activeCount; k++) {
      const e = active[k];
      if (r1[e] <= row) continue;
      active[kept] = e;
      // Multiply before dividing: where the crossing is exactly a pixel centre (integer and
      // half-integer vertices), this order computes it exactly, so the tie rule above holds.
      xs[kept] = x0[e] + ((yc - y0[e]) * dx[e]) / dy[e];
      kept++;
    }
    activeCount = kept;
    sortPrefix(xs, kept);
    const rowBase = row * width;
    for (let k = 0; k + 1 < kept; k += 2) {
      // Pixel x is inside when xs[k] ≤ x + 0.5 < xs[k + 1].
      const from = Math.max(0, Math.ceil(xs[k] - 0.5));
      const to = Math.min(width, Math.ceil(xs[k + 1] - 0.5));
      if (from < to) mask.fill(value, rowBase + from, rowBase + to);
    }
  }
}

/** Sorts xs[0, n) ascending; the handful of crossings a row usually has sorts fastest by insertion. */
function sortPrefix(xs: Float64Array, n: number): void {
  if (n > 32) {
    xs.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = xs[i];
    let j = i - 1;
    while (j >= 0 && xs[j] > v) {
      xs[j + 1] = xs[j];
      j--;
    }
    xs[j + 1] = v;
  }
}
