/**
 * Square windows over a raster and the sums of a per-pixel quantity over each, for ranking where
 * to annotate next (issue 14, item 3). A raster may be sampled: value (i, j) of a map with `step`
 * s stands for the pixel (s·i, s·j) of the frame the windows are placed in, so a window's sum over
 * a sampled map covers its pixels on the s-grid (1/s² of them: the ranking needs a window's mean,
 * which 4096 samples of a 256² window give well enough, and the pool of candidate windows is
 * then 1/16 of the memory at s = 4).
 */

/** A square window of `size` pixels on a side, its top-left corner at (x, y) of image `group`. */
export interface SquareWindow {
  /** Which image (or slide) of several it lies in; windows of different groups never overlap. */
  readonly group: number;
  readonly x: number;
  readonly y: number;
  readonly size: number;
}

/** A raster of `width` × `height` values, value (i, j) standing for pixel (step·i, step·j). */
export interface SampledRaster {
  readonly width: number;
  readonly height: number;
  /** 1: every pixel. */
  readonly step: number;
}

/** Offsets 0, stride, 2·stride… of a `size`-wide window along `length`, plus the last one flush with the end. */
export function windowStarts(length: number, size: number, stride: number): number[] {
  const starts: number[] = [];
  for (let x = 0; x + size <= length; x += stride) starts.push(x);
  if (starts.length > 0 && starts[starts.length - 1] + size < length) starts.push(length - size);
  return starts;
}

/**
 * Every `size`² window on the `stride` grid of a width × height image (the last row and column
 * flush with its edges, as the evaluation's class windows and the inference grid's tiles are).
 */
export function windowGrid(group: number, width: number, height: number, size: number, stride: number): SquareWindow[] {
  const out: SquareWindow[] = [];
  for (const y of windowStarts(height, size, stride))
    for (const x of windowStarts(width, size, stride)) out.push({ group, x, y, size });
  return out;
}

/** The sample indices [from, to) along one axis whose pixels s·i fall in [start, start + size). */
export function sampleSpan(start: number, size: number, step: number, samples: number): [number, number] {
  return [Math.min(samples, Math.ceil(start / step)), Math.min(samples, Math.ceil((start + size) / step))];
}

/** Σ of `values` (raster-major) and the number of samples inside each window, by an integral image. */
export function windowSums(
  values: ArrayLike<number>,
  raster: SampledRaster,
  windows: readonly Pick<SquareWindow, 'x' | 'y' | 'size'>[],
): { sums: Float64Array; counts: Int32Array } {
  const { width, height, step } = raster;
  if (values.length !== width * height)
    throw new RangeError(`a ${width}×${height} raster has ${width * height} values, got ${values.length}`);
  const w = width + 1;
  const integral = new Float64Array(w * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += values[y * width + x];
      integral[(y + 1) * w + x + 1] = integral[y * w + x + 1] + row;
    }
  }
  const sums = new Float64Array(windows.length);
  const counts = new Int32Array(windows.length);
  windows.forEach((win, k) => {
    const [x0, x1] = sampleSpan(win.x, win.size, step, width);
    const [y0, y1] = sampleSpan(win.y, win.size, step, height);
    sums[k] = integral[y1 * w + x1] - integral[y0 * w + x1] - integral[y1 * w + x0] + integral[y0 * w + x0];
    counts[k] = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  });
  return { sums, counts };
}

/** The share of window a's area that b covers (0 for windows of different groups). */
export function overlapFraction(a: SquareWindow, b: SquareWindow): number {
  if (a.group !== b.group) return 0;
  const w = Math.min(a.x + a.size, b.x + b.size) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.size, b.y + b.size) - Math.max(a.y, b.y);
  return w <= 0 || h <= 0 ? 0 : (w * h) / (a.size * a.size);
}
