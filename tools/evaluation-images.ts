import { datasetStain } from '../core/stain/dataset-stain.js';
import { estimateStain, stainTransform } from '../core/stain/stain-normaliser.js';
import type { StainMethod, StainStats } from '../core/stain/stain-stats.js';
import type { LabelledImage } from './dataset.js';

/**
 * What the evaluation does to a dataset's images before the protocol sees them, as the product
 * does to a slide's pixels before the extractors see them: brought to the extractors' scale
 * (`--zoom`, tools/scaled-image.ts), then to the training data's stain (`--stain`).
 */

/** `--zoom NAME[,NAME…]=FACTOR`: which images are scaled and how much (> 1 enlarges, < 1 reduces). */
export function parseZoom(text: string): { names: string[]; zoom: number } {
  const m = /^([^=]+)=(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m || !(Number(m[2]) > 0)) throw new Error(`a zoom is NAME[,NAME…]=FACTOR (FACTOR > 0), got "${text}"`);
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
