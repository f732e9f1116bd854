import { resampledSource } from '../core/inference/resampled-source.js';
import type { PixelSource, RegionRequest } from '../core/slide/pixel-source.js';
import { datasetStain } from '../core/stain/dataset-stain.js';
import { estimateStain, stainTransform } from '../core/stain/stain-normaliser.js';
import type { StainMethod, StainStats } from '../core/stain/stain-stats.js';
import type { LabelledImage } from './dataset.js';

/**
 * What the evaluation does to a dataset's images before the protocol sees them, as the product
 * does to a slide's pixels before the extractors see them: brought to the extractors' scale
 * (`--zoom`), then to the training data's stain (`--stain`).
 */

/** An in-memory image as a one-level slide (the product's pixel paths read it as a slide). */
export function imageSource(image: LabelledImage): PixelSource {
  const { width, height, rgb } = image;
  return {
    name: image.name,
    levels: [{ width, height, downsample: 1, tileWidth: width, tileHeight: height }],
    async readRegion({ x, y, width: w, height: h }: RegionRequest) {
      const out = new Uint8Array(w * h * 3);
      for (let row = 0; row < h; row++)
        out.set(rgb.subarray(((y + row) * width + x) * 3, ((y + row) * width + x + w) * 3), row * w * 3);
      return out;
    },
  };
}

/**
 * The image enlarged `zoom` times: pixels by the product's own resampler (core/inference/
 * resampled-source.ts: linear between pixel centres, what a 20× slide gets for 0.25 µm/px
 * extractors), labels by nearest neighbour (a class id is not interpolated).
 */
export async function zoomImage(image: LabelledImage, zoom: number): Promise<LabelledImage> {
  if (zoom === 1) return image;
  const width = Math.round(image.width * zoom);
  const height = Math.round(image.height * zoom);
  const rgb = await resampledSource(imageSource(image), 0, width, height).readRegion({
    level: 0,
    x: 0,
    y: 0,
    width,
    height,
  });
  const labels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(image.height - 1, Math.floor(y / zoom));
    for (let x = 0; x < width; x++)
      labels[y * width + x] = image.labels[sy * image.width + Math.min(image.width - 1, Math.floor(x / zoom))];
  }
  return { ...image, width, height, rgb, labels };
}

/** `--zoom NAME[,NAME…]=FACTOR`: which images are enlarged and how much. */
export function parseZoom(text: string): { names: string[]; zoom: number } {
  const m = /^([^=]+)=(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m || !(Number(m[2]) >= 1)) throw new Error(`a zoom is NAME[,NAME…]=FACTOR (FACTOR ≥ 1), got "${text}"`);
  return { names: m[1].split(',').map((n) => n.trim()), zoom: Number(m[2]) };
}

/** The images' stain, as stain-stats.ts computes a bundle's (core/stain/dataset-stain.ts). */
export function datasetStainOf(images: readonly LabelledImage[]): StainStats | undefined {
  return datasetStain(images.map((im) => im.rgb));
}

/**
 * Each image brought from its own stain to `target` by `method`. An image stands for a slide:
 * its statistics are its own, estimated once over all of it, as the product estimates a slide's
 * once from a sample of its tissue (core/stain/slide-stain.ts). Images with too little tissue to
 * estimate are left as they are and named in `unchanged`.
 */
export function normaliseImages(
  images: readonly LabelledImage[],
  method: StainMethod,
  target: StainStats,
): { images: LabelledImage[]; unchanged: string[] } {
  const unchanged: string[] = [];
  const out = images.map((image) => {
    const own = estimateStain(image.rgb);
    const transform = own && stainTransform(method, own, target);
    if (!transform) {
      if (method !== 'none') unchanged.push(image.name);
      return image;
    }
    return { ...image, rgb: transform(image.rgb) };
  });
  return { images: out, unchanged };
}
