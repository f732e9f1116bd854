import type { Rect } from '../core/math/rect.js';

/**
 * Dice counts of many probability maps averaged over overlapping patches, as `--tiling patches`
 * of the evaluation scores them (docs/ARCHITECTURE.md#prediction): per pixel and map, the mean of
 * the probabilities of every patch covering the pixel, in float64 and rounded to float32 as
 * core/inference/stitch.ts does, then thresholded and counted against the truth.
 *
 * A Stitcher per map over a whole 1000² test image would hold 8 MB per map, and the evaluation
 * scores ~60 heads per target at once (three targets: ~1.5 GB). Patches come in raster order,
 * though, so once the patches with origin row y are being added, no later patch reaches a row
 * above y: those rows are final, are counted and their memory reused. The sums live in a ring of
 * one patch height of rows, whatever the image's height.
 */
export class PatchAverageCounter {
  readonly width: number;
  readonly height: number;
  /** Maps per pixel. */
  readonly channels: number;
  private readonly thresholds: Float64Array;
  private readonly truth: Uint8Array;
  private readonly ringRows: number;
  /** [ring row, x, channel], float64 as stitch.ts sums. */
  private readonly sums: Float64Array;
  private readonly covered: Uint16Array;
  /** Rows above this are counted and may not be added to any more. */
  private finished = 0;
  private readonly overlap: Float64Array;
  private readonly predicted: Float64Array;

  /**
   * @param truth 0/1 per pixel of the image (row-major): the class mask the maps are scored on.
   * @param thresholds per map: a pixel counts as predicted when its mean probability is above it.
   * @param patchHeight the tallest patch that will be added (the ring's height).
   */
  constructor(
    image: { readonly width: number; readonly height: number },
    truth: Uint8Array,
    thresholds: readonly number[],
    patchHeight: number,
  ) {
    this.width = image.width;
    this.height = image.height;
    if (truth.length !== image.width * image.height)
      throw new RangeError(`the truth has ${truth.length} pixels, the image ${image.width * image.height}`);
    this.truth = truth;
    this.channels = thresholds.length;
    this.thresholds = Float64Array.from(thresholds);
    this.ringRows = Math.min(patchHeight, image.height);
    this.sums = new Float64Array(this.ringRows * this.width * this.channels);
    this.covered = new Uint16Array(this.ringRows * this.width);
    this.overlap = new Float64Array(this.channels);
    this.predicted = new Float64Array(this.channels);
  }

  /**
   * Adds one patch's maps: `values` is [patch pixels, channels], pixel-major, as a TF.js
   * [pixels, channels] tensor's data comes. Rows of the patch must not be finished yet, and the
   * patch must end within one ring of the first unfinished row (raster order guarantees both).
   */
  add(patch: Rect, values: ArrayLike<number>): void {
    const C = this.channels;
    if (values.length !== patch.width * patch.height * C)
      throw new RangeError(
        `a ${patch.width}×${patch.height} patch of ${C} maps has ${patch.width * patch.height * C} values, ` +
          `got ${values.length}`,
      );
    if (patch.x < 0 || patch.x + patch.width > this.width || patch.y + patch.height > this.height)
      throw new RangeError(`patch ${patch.x},${patch.y} ${patch.width}×${patch.height} leaves the image`);
    if (patch.y < this.finished || patch.y + patch.height > this.finished + this.ringRows)
      throw new RangeError(
        `patch rows ${patch.y}..${patch.y + patch.height} are not within the open rows ` +
          `${this.finished}..${this.finished + this.ringRows}: add patches in raster order`,
      );
    const span = patch.width * C;
    for (let row = 0; row < patch.height; row++) {
      const ring = (patch.y + row) % this.ringRows;
      const dst = (ring * this.width + patch.x) * C;
      const src = row * span;
      for (let k = 0; k < span; k++) this.sums[dst + k] += values[src + k];
      const at = ring * this.width + patch.x;
      for (let x = 0; x < patch.width; x++) this.covered[at + x]++;
    }
  }

  /** Counts every row above `row` (not counted yet) and frees its ring row; `height` finishes the image. */
  finishRowsBefore(row: number): void {
    const C = this.channels;
    const end = Math.min(row, this.height);
    for (let y = this.finished; y < end; y++) {
      const ring = y % this.ringRows;
      for (let x = 0; x < this.width; x++) {
        const at = ring * this.width + x;
        const n = this.covered[at];
        if (n === 0) throw new Error(`pixel ${x},${y} was covered by no patch`);
        const t = this.truth[y * this.width + x];
        for (let c = 0, i = at * C; c < C; c++, i++) {
          // Rounded to float32 as stitch.ts returns it, so a mean at the threshold falls the same way.
          if (Math.fround(this.sums[i] / n) > this.thresholds[c]) {
            this.predicted[c]++;
            this.overlap[c] += t;
          }
        }
        this.covered[at] = 0;
      }
      this.sums.fill(0, ring * this.width * C, (ring + 1) * this.width * C);
    }
    this.finished = Math.max(this.finished, end);
  }

  /** [overlap, predicted] per map, over the whole image; finishes it first. */
  counts(): [number, number][] {
    this.finishRowsBefore(this.height);
    return Array.from({ length: this.channels }, (_, c) => [this.overlap[c], this.predicted[c]]);
  }
}
