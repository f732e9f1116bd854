// Measures of flat rings [x0, y0, x1, y1, …] (closed implicitly: the last vertex joins the first).

/** Σ (x_i·y_{i+1} − x_{i+1}·y_i) / 2: positive for counter-clockwise rings when y points up. */
export function signedArea(ring: ArrayLike<number>): number {
  const n = ring.length;
  let twice = 0;
  for (let i = 0; i < n; i += 2) {
    const j = i + 2 === n ? 0 : i + 2;
    twice += ring[i] * ring[j + 1] - ring[j] * ring[i + 1];
  }
  return twice / 2;
}

/** Length of the closed outline, with separate scales per axis (e.g. µm per pixel in x and y). */
export function ringLength(ring: ArrayLike<number>, scaleX = 1, scaleY = 1): number {
  const n = ring.length;
  let length = 0;
  for (let i = 0; i < n; i += 2) {
    const j = i + 2 === n ? 0 : i + 2;
    length += Math.hypot((ring[j] - ring[i]) * scaleX, (ring[j + 1] - ring[i + 1]) * scaleY);
  }
  return length;
}

/** Even-odd point in ring (crossing number, ray to the right). */
export function pointInRing(ring: ArrayLike<number>, x: number, y: number): boolean {
  const n = ring.length;
  let inside = false;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    const xi = ring[i];
    const yi = ring[i + 1];
    const xj = ring[j];
    const yj = ring[j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
