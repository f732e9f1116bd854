import type { LabelledImage } from './dataset.js';
import { SeededRandom } from '../core/math/seeded-random.js';
import type { SupportPatch } from '../core/adaptation/support-patch.js';

/**
 * Support sets and query patches cut from a labelled dataset, for tests, benchmarks and
 * evaluation: square crops of a class, brought to the extractors' resolution by an integer
 * nearest-neighbour zoom (e.g. the sample patches are 0.5 µm/px, the CoNSeP extractors 0.25).
 */

export interface CutOptions {
  /** Edge of a patch at the extractors' resolution (docs/ARCHITECTURE.md#few-shot-adaptation: 256). */
  readonly size: number;
  /** Integer zoom from the dataset's resolution to the extractors' (dataset mpp / extractor mpp). */
  readonly zoom: number;
}

/** The zoom that brings `datasetMpp` to `extractorMpp`; throws unless it is a whole number ≥ 1. */
export function integerZoom(datasetMpp: number, extractorMpp: number): number {
  const zoom = datasetMpp / extractorMpp;
  const rounded = Math.round(zoom);
  if (rounded < 1 || Math.abs(zoom - rounded) > 1e-6) {
    throw new Error(
      `the data is at ${datasetMpp} µm/px and the extractors at ${extractorMpp}: only whole zoom factors ≥ 1 are ` +
        `supported here, got ${zoom}`,
    );
  }
  return rounded;
}

/** The crop at (x, y) of `edge` dataset pixels, zoomed, with mask 1 where the label is one of `ids`. */
export function cutPatch(
  image: LabelledImage,
  ids: readonly number[],
  x: number,
  y: number,
  edge: number,
  zoom: number,
): SupportPatch {
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
    const w = image.width + 1;
    const integral = classIntegral(image, isClass);
    const candidates: [number, number][] = [];
    for (let y = 0; y + edge <= image.height; y += 8) {
      for (let x = 0; x + edge <= image.width; x += 8) {
        const count =
          integral[(y + edge) * w + x + edge] -
          integral[y * w + x + edge] -
          integral[(y + edge) * w + x] +
          integral[y * w + x];
        if (count >= minPositive) candidates.push([x, y]);
      }
    }
    if (candidates.length === 0) continue;
    const [x, y] = candidates[rng.int(candidates.length)];
    out.push(cutPatch(image, ids, x, y, edge, zoom));
  }
  if (out.length < shots)
    throw new Error(
      `only ${out.length} of ${images.length} images have a ${edge}² crop with ≥ ${minPositive} class pixels; ` +
        `${shots} shots were asked for`,
    );
  return out;
}

/** Integral image of class pixels ((width+1) × (height+1)): any crop's count in O(1). */
function classIntegral(image: LabelledImage, isClass: Uint8Array): Int32Array {
  const w = image.width + 1;
  const integral = new Int32Array(w * (image.height + 1));
  for (let y = 0; y < image.height; y++) {
    let row = 0;
    for (let x = 0; x < image.width; x++) {
      row += isClass[image.labels[y * image.width + x]];
      integral[(y + 1) * w + x + 1] = integral[y * w + x + 1] + row;
    }
  }
  return integral;
}

/** A square crop of `images[image]`, in dataset pixels. */
export interface ClassWindow {
  readonly image: number;
  readonly x: number;
  readonly y: number;
  /** Class pixels inside. */
  readonly count: number;
}

/** Offsets 0, stride, 2·stride… of an edge-wide window along `length`, plus the last one flush with the end. */
function windowStarts(length: number, edge: number, stride: number): number[] {
  const starts: number[] = [];
  for (let x = 0; x + edge <= length; x += stride) starts.push(x);
  if (starts.length > 0 && starts[starts.length - 1] + edge < length) starts.push(length - edge);
  return starts;
}

/**
 * Every edge × edge window on the stride grid of every image (the last row and column shifted
 * flush with the image's edge, as the inference grid does) that holds at least `minPositive`
 * pixels of the class: the pool the evaluation draws support patches from.
 */
export function classWindows(
  images: readonly LabelledImage[],
  ids: readonly number[],
  options: { readonly edge: number; readonly stride: number; readonly minPositive: number },
): ClassWindow[] {
  const { edge, stride, minPositive } = options;
  const isClass = new Uint8Array(256);
  for (const id of ids) isClass[id] = 1;
  const out: ClassWindow[] = [];
  images.forEach((image, i) => {
    const w = image.width + 1;
    const integral = classIntegral(image, isClass);
    for (const y of windowStarts(image.height, edge, stride)) {
      for (const x of windowStarts(image.width, edge, stride)) {
        const count =
          integral[(y + edge) * w + x + edge] -
          integral[y * w + x + edge] -
          integral[(y + edge) * w + x] +
          integral[y * w + x];
        if (count >= minPositive) out.push({ image: i, x, y, count });
      }
    }
  });
  return out;
}

/** `shots` distinct windows drawn uniformly (seeded), cut and zoomed to the extractors' resolution. */
export function drawSupportSet(
  images: readonly LabelledImage[],
  windows: readonly ClassWindow[],
  ids: readonly number[],
  options: { readonly shots: number; readonly seed: number; readonly edge: number; readonly zoom: number },
): { patches: SupportPatch[]; windows: ClassWindow[] } {
  const { shots, seed, edge, zoom } = options;
  if (windows.length < shots)
    throw new Error(`only ${windows.length} windows hold the class; ${shots} shots were asked for`);
  const rng = new SeededRandom(seed);
  // A partial Fisher–Yates: the first `shots` entries of a seeded shuffle, without copying all of it twice.
  const order = windows.map((_, i) => i);
  for (let i = 0; i < shots; i++) {
    const j = i + rng.int(order.length - i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const picked = order.slice(0, shots).map((i) => windows[i]);
  return { patches: picked.map((w) => cutPatch(images[w.image], ids, w.x, w.y, edge, zoom)), windows: picked };
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
