/** A rectangle of level-0 pixels. */
export interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Evaluates a smooth field on absolute multiples of `step` pixels and interpolates it
 * bilinearly over the rectangle: far fewer noise evaluations, and every region still
 * sees exactly the same value for the same pixel.
 */
export function coarseField(r: PixelRect, step: number, field: (x: number, y: number) => number): Float32Array {
  const gx0 = Math.floor(r.x / step);
  const gy0 = Math.floor(r.y / step);
  const gw = Math.floor((r.x + r.width) / step) - gx0 + 2;
  const gh = Math.floor((r.y + r.height) / step) - gy0 + 2;
  const grid = new Float32Array(gw * gh);
  for (let j = 0; j < gh; j++)
    for (let i = 0; i < gw; i++) grid[j * gw + i] = field((gx0 + i) * step, (gy0 + j) * step);
  const out = new Float32Array(r.width * r.height);
  for (let j = 0; j < r.height; j++) {
    const ay = r.y + j;
    const gj = Math.floor(ay / step);
    const ty = (ay - gj * step) / step;
    for (let i = 0; i < r.width; i++) {
      const ax = r.x + i;
      const gi = Math.floor(ax / step);
      const tx = (ax - gi * step) / step;
      const p = (gj - gy0) * gw + (gi - gx0);
      const top = grid[p] + (grid[p + 1] - grid[p]) * tx;
      const bottom = grid[p + gw] + (grid[p + gw + 1] - grid[p + gw]) * tx;
      out[j * r.width + i] = top + (bottom - top) * ty;
    }
  }
  return out;
}
