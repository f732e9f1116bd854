/**
 * Round-brush geometry on a pixel grid. A stroke of diameter `size` through points P0…Pn covers
 * every pixel whose centre (x + 0.5, y + 0.5) lies within size/2 of the polyline, plus the pixel
 * under each point (so that a click with a thin brush between pixel centres still paints
 * something). Consecutive points are joined by straight segments, so a fast pointer that reports
 * sparse points still leaves a continuous line.
 *
 * Spans are computed per row analytically (a capsule is convex, so each row meets it in one
 * interval), which keeps a large brush at O(rows) work per segment instead of O(area) distance
 * tests.
 */

/** Receives one run of covered pixels: row `y`, columns x0…x1 inclusive, already clipped to the grid. */
export type SpanVisitor = (y: number, x0: number, x1: number) => void;

/**
 * The pixels within `radius` of the segment A→B (a disc when A = B), clipped to width × height,
 * as one span per row.
 */
export function capsuleSpans(
  width: number,
  height: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  radius: number,
  visit: SpanVisitor,
): void {
  const r2 = radius * radius;
  const dx = bx - ax;
  const dy = by - ay;
  const l2 = dx * dx + dy * dy;
  const rl = radius * Math.sqrt(l2);
  const yFirst = Math.max(0, Math.ceil(Math.min(ay, by) - radius - 0.5));
  const yLast = Math.min(height - 1, Math.floor(Math.max(ay, by) + radius - 0.5));
  for (let y = yFirst; y <= yLast; y++) {
    const yc = y + 0.5;
    let lo = Infinity;
    let hi = -Infinity;
    const da = yc - ay;
    if (da * da <= r2) {
      const h = Math.sqrt(r2 - da * da);
      lo = Math.min(lo, ax - h);
      hi = Math.max(hi, ax + h);
    }
    const db = yc - by;
    if (db * db <= r2) {
      const h = Math.sqrt(r2 - db * db);
      lo = Math.min(lo, bx - h);
      hi = Math.max(hi, bx + h);
    }
    if (l2 > 0) {
      // The band between the end caps: 0 ≤ (P−A)·(B−A) ≤ |B−A|² and |(P−A)×(B−A)| ≤ r|B−A|,
      // both linear in x along the row.
      let bandLo = -Infinity;
      let bandHi = Infinity;
      const along = da * dy;
      if (dx === 0) {
        if (along < 0 || along > l2) bandLo = Infinity;
      } else {
        const u = -along / dx;
        const v = (l2 - along) / dx;
        bandLo = Math.max(bandLo, Math.min(u, v) + ax);
        bandHi = Math.min(bandHi, Math.max(u, v) + ax);
      }
      const across = da * dx;
      if (dy === 0) {
        if (Math.abs(across) > rl) bandLo = Infinity;
      } else {
        const u = (across - rl) / dy;
        const v = (across + rl) / dy;
        bandLo = Math.max(bandLo, Math.min(u, v) + ax);
        bandHi = Math.min(bandHi, Math.max(u, v) + ax);
      }
      if (bandLo <= bandHi) {
        lo = Math.min(lo, bandLo);
        hi = Math.max(hi, bandHi);
      }
    }
    if (lo > hi) continue;
    const x0 = Math.max(0, Math.ceil(lo - 0.5));
    const x1 = Math.min(width - 1, Math.floor(hi - 0.5));
    if (x0 <= x1) visit(y, x0, x1);
  }
}

/** The pixel under point (x, y), when it lies on the grid. */
export function pointSpan(width: number, height: number, x: number, y: number, visit: SpanVisitor): void {
  const col = Math.floor(x);
  const row = Math.floor(y);
  if (col >= 0 && col < width && row >= 0 && row < height) visit(row, col, col);
}

/**
 * One piece of a stroke: the segment from the previous point to `to` (or the disc at `to` when
 * the stroke starts there) and the pixel under `to`. Calling it for each new point paints the
 * whole stroke incrementally.
 */
export function strokeSegmentSpans(
  width: number,
  height: number,
  from: readonly [number, number] | null,
  to: readonly [number, number],
  size: number,
  visit: SpanVisitor,
): void {
  const [ax, ay] = from ?? to;
  capsuleSpans(width, height, ax, ay, to[0], to[1], size / 2, visit);
  pointSpan(width, height, to[0], to[1], visit);
}
