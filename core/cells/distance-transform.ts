/**
 * Squared Euclidean distance from every pixel of a binary mask (non-zero = foreground) to the
 * nearest background pixel, outside the image counting as background; 0 on background. Exact,
 * in two passes of the 1-D lower envelope of parabolas (Felzenszwalb & Huttenlocher, "Distance
 * transforms of sampled functions", Theory of Computing 2012): linear in the pixels. Squared
 * distances between pixel centres are integers, which is what lets the watershed order pixels by
 * a counting sort (watershed-split.ts).
 */
export function squaredDistanceTransform(mask: Uint8Array, width: number, height: number): Float64Array {
  if (mask.length !== width * height)
    throw new RangeError(`mask has ${mask.length} pixels, ${width}×${height} needs ${width * height}`);
  // Columns first: each column's distance to the nearest background pixel of that column (or the
  // image's edge, one pixel beyond it), then rows on those squared values.
  const far = (width + height + 2) ** 2;
  const d = new Float64Array(width * height);
  const column = new Float64Array(height + 2);
  const columnOut = new Float64Array(height + 2);
  const scratch = envelopeScratch(Math.max(width, height) + 2);
  for (let x = 0; x < width; x++) {
    column[0] = 0;
    column[height + 1] = 0;
    for (let y = 0; y < height; y++) column[y + 1] = mask[y * width + x] !== 0 ? far : 0;
    lowerEnvelope(column, height + 2, columnOut, scratch);
    for (let y = 0; y < height; y++) d[y * width + x] = columnOut[y + 1];
  }
  const row = new Float64Array(width + 2);
  const rowOut = new Float64Array(width + 2);
  for (let y = 0; y < height; y++) {
    row[0] = 0;
    row[width + 1] = 0;
    for (let x = 0; x < width; x++) row[x + 1] = d[y * width + x];
    lowerEnvelope(row, width + 2, rowOut, scratch);
    for (let x = 0; x < width; x++) d[y * width + x] = rowOut[x + 1];
  }
  return d;
}

interface Scratch {
  readonly v: Int32Array;
  readonly z: Float64Array;
}

function envelopeScratch(n: number): Scratch {
  return { v: new Int32Array(n), z: new Float64Array(n + 1) };
}

/** out[q] = min over p of (q − p)² + f[p], for q, p in 0…n−1. */
function lowerEnvelope(f: Float64Array, n: number, out: Float64Array, { v, z }: Scratch): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * (q - v[k]));
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * (q - v[k]));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    out[q] = (q - v[k]) ** 2 + f[v[k]];
  }
}
