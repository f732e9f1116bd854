import { imageFeatureRows } from '../inference/image-features.js';
import { wholeTileRead } from '../inference/predict-whole-tile.js';
import type { Rect } from '../math/rect.js';
import type { MsdWeights } from '../msd/weights.js';
import type { PixelSource } from '../slide/pixel-source.js';
import { windowMeanFeatures } from './window-descriptors.js';

/**
 * The product's window descriptors (issue 14, item 3: diversity in feature space), as the
 * selection simulation's candidate pool has them: each window's mean feature vector over the
 * pixels of the `step` grid inside it (window-descriptors.ts), the features from one forward
 * over a region and the extractors' receptive-field margin of real pixels around it (as a
 * 'whole' tile is computed: equal to a forward over the whole image). A region is a result
 * tile holding several candidate windows (one forward serves them all) or a placed patch.
 * Not standardised: that is over the candidates ranked together (view-proposals.ts).
 */
export interface DescriptorRegion {
  /** In the source level's pixels; x and y multiples of `step`, so that samples fall on the step grid. */
  readonly region: Rect;
  /** Square windows inside the region (same pixels). */
  readonly windows: readonly Rect[];
}

/** Samples per window side: 256 / 4 = 64, i.e. 4096 per window, the simulation's --step default. */
export const DESCRIPTOR_STEP = 4;

/** Each region's windows' descriptors, region by region (C' floats each, C' = Σ extractor depths). */
export async function regionDescriptors(
  source: PixelSource,
  level: number,
  regions: readonly DescriptorRegion[],
  extractors: readonly MsdWeights[],
  options: { readonly margin: number; readonly step?: number; readonly signal?: AbortSignal },
): Promise<Float32Array[][]> {
  const step = options.step ?? DESCRIPTOR_STEP;
  const image = source.levels[level];
  if (!image) throw new RangeError(`level ${level} does not exist in ${source.name}`);
  const out: Float32Array[][] = [];
  for (const { region, windows } of regions) {
    options.signal?.throwIfAborted();
    if (region.x % step !== 0 || region.y % step !== 0)
      throw new RangeError(`a region's corner must be on the ${step}-pixel grid, got (${region.x}, ${region.y})`);
    for (const w of windows)
      if (
        w.x < region.x ||
        w.y < region.y ||
        w.x + w.width > region.x + region.width ||
        w.y + w.height > region.y + region.height
      )
        throw new RangeError(`window (${w.x}, ${w.y}) ${w.width}×${w.height} is not inside its region`);
    const read = wholeTileRead(region, image, options.margin);
    const rgb = await source.readRegion({ level, ...read, signal: options.signal });
    const raster = { width: Math.ceil(region.width / step), height: Math.ceil(region.height / step), step };
    const pixels = new Int32Array(raster.width * raster.height);
    for (let j = 0; j < raster.height; j++)
      for (let i = 0; i < raster.width; i++)
        pixels[j * raster.width + i] = (region.y - read.y + j * step) * read.width + (region.x - read.x + i * step);
    const { rows, channels } = imageFeatureRows(extractors, { rgb, width: read.width, height: read.height }, pixels);
    const local = windows.map((w) => ({ x: w.x - region.x, y: w.y - region.y, size: w.width }));
    out.push(windowMeanFeatures(rows, channels, raster, local));
  }
  return out;
}
