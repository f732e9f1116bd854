import type { LabelledImage } from './dataset.js';
import { SeededRandom } from '../worker/seeded-random.js';
import type { SupportPatch } from '../worker/support-features.js';

/**
 * Support sets and query patches cut from a labelled dataset, for tests, benchmarks and
 * evaluation: square crops of a class, brought to the extractors' resolution by an integer
 * nearest-neighbour zoom (e.g. the sample patches are 0.5 µm/px, the CoNSeP extractors 0.25).
 */

export interface CutOptions {
  /** Edge of a patch at the extractors' resolution (DESIGN.md: 256). */
  readonly size: number;
  /** Integer zoom from the dataset's resolution to the extractors' (dataset mpp / extractor mpp). */
  readonly zoom: number;
}

/** The zoom that brings `datasetMpp` to `extractorMpp`; throws unless it is a whole number ≥ 1. */
export function integerZoom(datasetMpp: number, extractorMpp: number): number {
  const zoom = datasetMpp / extractorMpp;
  const rounded = Math.round(zoom);
  if (rounded < 1 || Math.abs(zoom - rounded) > 1e-6) {
    throw new Error(`the data is at ${datasetMpp} µm/px and the extractors at ${extractorMpp}: only whole zoom factors ≥ 1 are supported here, got ${zoom}`);
  }
  return rounded;
}

/** The crop at (x, y) of `edge` dataset pixels, zoomed, with mask 1 where the label is one of `ids`. */
export function cutPatch(image: LabelledImage, ids: readonly number[], x: number, y: number, edge: number, zoom: number): SupportPatch {
  const size = edge * zoom;
  const rgb = new Uint8Array(size * size * 3);
  const mask = new Uint8Array(size * size);
  const isClass = new Uint8Array(256);
  for (const id of ids) isClass[id] = 1;
  for (let r = 0; r < size; r++) {
    const sy = y + Math.floor(r / zoom);
    for (let c = 0; c < size; c++) {
      const s = sy * image.width + x + Math.floor(c / zoom);
      const o = r * size + c;
      rgb[3 * o] = image.rgb[3 * s];
      rgb[3 * o + 1] = image.rgb[3 * s + 1];
      rgb[3 * o + 2] = image.rgb[3 * s + 2];
      mask[o] = isClass[image.labels[s]];
    }
  }
  return { rgb, mask, width: size, height: size };
}

/**
 * K support patches from K different images (drawn in seeded order), each a crop placed at a
 * random position among those holding at least `minPositive` class pixels (at the dataset's
 * resolution), as a pathologist would pick patches that show the new class.
 */
export function sampleSupportSet(
  images: readonly LabelledImage[],
  ids: readonly number[],
  options: CutOptions & { readonly shots: number; readonly seed: number; readonly minPositive: number },
): SupportPatch[] {
  const { size, zoom, shots, seed, minPositive } = options;
  if (size % zoom !== 0) throw new Error(`patch size ${size} is not a multiple of the zoom ${zoom}`);
  const edge = size / zoom;
  const rng = new SeededRandom(seed);
  const isClass = new Uint8Array(256);
  for (const id of ids) isClass[id] = 1;
  const order = rng.shuffle(images.map((_, i) => i));
  const out: SupportPatch[] = [];
  for (const i of order) {
    if (out.length === shots) break;
    const image = images[i];
    if (image.width < edge || image.height < edge) continue;
    // Integral image of class pixels: any crop's count in O(1).
    const w = image.width + 1;
    const integral = new Int32Array(w * (image.height + 1));
    for (let y = 0; y < image.height; y++) {
      let row = 0;
      for (let x = 0; x < image.width; x++) {
        row += isClass[image.labels[y * image.width + x]];
        integral[(y + 1) * w + x + 1] = integral[y * w + x + 1] + row;
      }
    }
    const candidates: [number, number][] = [];
    for (let y = 0; y + edge <= image.height; y += 8) {
      for (let x = 0; x + edge <= image.width; x += 8) {
        const count = integral[(y + edge) * w + x + edge] - integral[y * w + x + edge] - integral[(y + edge) * w + x] + integral[y * w + x];
        if (count >= minPositive) candidates.push([x, y]);
      }
    }
    if (candidates.length === 0) continue;
    const [x, y] = candidates[rng.int(candidates.length)];
    out.push(cutPatch(image, ids, x, y, edge, zoom));
  }
  if (out.length < shots) throw new Error(`only ${out.length} of ${images.length} images have a ${edge}² crop with ≥ ${minPositive} class pixels; ${shots} shots were asked for`);
  return out;
}

/** Non-overlapping query patches tiling each image (the last row and column dropped if partial). */
export function tilePatches(image: LabelledImage, ids: readonly number[], options: CutOptions): SupportPatch[] {
  const edge = options.size / options.zoom;
  const out: SupportPatch[] = [];
  for (let y = 0; y + edge <= image.height; y += edge) {
    for (let x = 0; x + edge <= image.width; x += edge) out.push(cutPatch(image, ids, x, y, edge, options.zoom));
  }
  return out;
}
