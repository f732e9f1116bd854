import { resampledSource } from '../core/inference/resampled-source.js';
import type { PixelSource, RegionRequest } from '../core/slide/pixel-source.js';
import type { LabelledImage } from './dataset.js';

/**
 * A labelled image brought to another scale, as the product brings a slide to its extractors'
 * `mppExpected`: what `npm run evaluate --zoom` does to 20× images for 0.25 µm/px extractors and
 * `npm run train --downsample` does to CoNSeP's 0.25 µm/px tiles for 0.5 µm/px extractors.
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
 * Class ids of a `width` × `height` label image at `outWidth` × `outHeight`. Enlarged: nearest
 * neighbour (a class id is not interpolated). Reduced: the most frequent id among the source
 * pixels whose centres fall in the output pixel; a tie goes to the first of them in raster order
 * (the nearest-neighbour pick), so that neither background nor nuclei gain area at their edges,
 * which every 2×2 block straddling a boundary would otherwise add to one side.
 */
export function scaledLabels(
  labels: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  const rx = width / outWidth;
  const ry = height / outHeight;
  // Reduced, output pixel u holds the source pixels i with u ≤ (i + ½) / r < u + 1 (at least one).
  const from = (u: number, r: number, length: number) =>
    r <= 1 ? Math.min(length - 1, Math.floor(u * r)) : Math.min(length - 1, Math.max(0, Math.ceil(u * r - 0.5)));
  const to = (u: number, r: number, length: number) =>
    r <= 1 ? from(u, r, length) + 1 : Math.max(from(u, r, length) + 1, Math.min(length, Math.ceil((u + 1) * r - 0.5)));
  const counts = new Uint32Array(256);
  for (let v = 0; v < outHeight; v++) {
    const y0 = from(v, ry, height);
    const y1 = to(v, ry, height);
    for (let u = 0; u < outWidth; u++) {
      const x0 = from(u, rx, width);
      const x1 = to(u, rx, width);
      let best = labels[y0 * width + x0];
      let bestCount = 0;
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) {
          const c = ++counts[labels[y * width + x]];
          if (c > bestCount) {
            bestCount = c;
            best = labels[y * width + x];
          }
        }
      // A later id reaching the count first would win a tie: the tie goes to the first pixel's id.
      const first = labels[y0 * width + x0];
      if (counts[first] === bestCount) best = first;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) counts[labels[y * width + x]] = 0;
      out[v * outWidth + u] = best;
    }
  }
  return out;
}

/**
 * The image scaled `zoom` times (> 1 enlarges, < 1 reduces): pixels by the product's own
 * resampler (core/inference/resampled-source.ts: linear between pixel centres when enlarging,
 * what a 20× slide gets for 0.25 µm/px extractors; the area average when reducing, what a 40×
 * slide gets for 0.5 µm/px ones), labels by `scaledLabels`.
 */
export async function scaleImage(image: LabelledImage, zoom: number): Promise<LabelledImage> {
  if (zoom === 1) return image;
  const width = Math.max(1, Math.round(image.width * zoom));
  const height = Math.max(1, Math.round(image.height * zoom));
  const rgb = await resampledSource(imageSource(image), 0, width, height).readRegion({
    level: 0,
    x: 0,
    y: 0,
    width,
    height,
  });
  const labels = scaledLabels(image.labels, image.width, image.height, width, height);
  return { ...image, width, height, rgb, labels };
}
