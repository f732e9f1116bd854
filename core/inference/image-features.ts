import { MsdWorkspace, packMsdParams } from '../msd/engine.js';
import { checkMsdWeights, type MsdWeights } from '../msd/weights.js';

/**
 * The extractors' features of an RGB image as pixel-major rows (C' = Σ depths floats per pixel,
 * the extractors' maps in order, as a head's W weighs them), at some of its pixels or all:
 * one forward of each extractor over the whole image by the training engine (engine.ts:
 * mirror padding at the image's own edges only, WebAssembly SIMD), so the rows equal the
 * 'whole' tiling's features of those pixels. For tools that score many heads on the same
 * images, or rank windows of them, from features computed once.
 */
export function imageFeatureRows(
  extractors: readonly MsdWeights[],
  image: { readonly rgb: Uint8Array; readonly width: number; readonly height: number },
  pixels?: Int32Array,
): { rows: Float32Array; channels: number } {
  if (extractors.length === 0) throw new Error('no feature extractors were given');
  extractors.forEach(checkMsdWeights);
  if (extractors.some((e) => e.inputChannels !== 3)) throw new Error('every extractor must take 3 input channels');
  const { rgb, width, height } = image;
  if (rgb.length !== width * height * 3)
    throw new RangeError(`a ${width}×${height} RGB image has ${width * height * 3} bytes, got ${rgb.length}`);
  const at = pixels ?? Int32Array.from({ length: width * height }, (_, i) => i);
  const channels = extractors.reduce((s, e) => s + e.layers.length, 0);
  const depth = Math.max(...extractors.map((e) => e.layers.length));
  const workspace = new MsdWorkspace({ inputChannels: 3, depth, height, width, samples: 1, training: false });
  const rows = new Float32Array(at.length * channels);
  let column = 0;
  for (const e of extractors) {
    const layers = e.layers.length;
    workspace.forwardFeatures(0, packMsdParams(e), rgb, e.normalisation, layers);
    workspace.gatherMaps(0, layers, at, rows, column, channels);
    column += layers;
  }
  return { rows, channels };
}

/** Row-major indices of the pixels (step·i, step·j): a sampled raster of ⌈W/step⌉ × ⌈H/step⌉. */
export function sampledPixels(
  width: number,
  height: number,
  step: number,
): { pixels: Int32Array; width: number; height: number } {
  const w = Math.ceil(width / step);
  const h = Math.ceil(height / step);
  const pixels = new Int32Array(w * h);
  for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) pixels[j * w + i] = j * step * width + i * step;
  return { pixels, width: w, height: h };
}

/** σ(b + row · W) for every row of pixel-major features. */
export function rowProbabilities(
  rows: Float32Array,
  channels: number,
  head: { readonly W: ArrayLike<number>; readonly b: number },
): Float32Array {
  if (head.W.length !== channels)
    throw new Error(`the head weighs ${head.W.length} features, the rows have ${channels}`);
  const n = rows.length / channels;
  const out = new Float32Array(n);
  const W = Float64Array.from(head.W as ArrayLike<number>);
  for (let k = 0; k < n; k++) {
    let z = head.b;
    const o = k * channels;
    for (let c = 0; c < channels; c++) z += rows[o + c] * W[c];
    out[k] = 1 / (1 + Math.exp(-z));
  }
  return out;
}
