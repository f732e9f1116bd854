import type { PixelSource } from './pixel-source.js';
import { readScaled } from './read-scaled.js';

/**
 * Where the tissue is, from a small overview of the slide, so a whole-slide run skips the glass
 * (often half a slide or more). H&E stains tissue pink and purple; glass, dust shadows and black
 * scanner borders are grey, whatever their brightness, so the test is saturation — the spread
 * between a pixel's largest and smallest channel — rather than "not white", which counts dark
 * borders and shadows as tissue. On the sample slide the glass sits below 10 and tissue mostly
 * above 30 (of 255).
 */

export interface TissueMask {
  /** Mask size; each mask pixel covers slideWidth/width × slideHeight/height level-0 pixels. */
  readonly width: number;
  readonly height: number;
  /** 1 where there is tissue, row-major. */
  readonly data: Uint8Array;
  /** The level-0 size the mask covers. */
  readonly slideWidth: number;
  readonly slideHeight: number;
}

export interface TissueOptions {
  /** Least max − min over R, G, B (0…255) of a tissue pixel. Default 20. */
  readonly minSaturation?: number;
}

export interface ReadTissueOptions extends TissueOptions {
  /** Longest side of the mask in pixels (default 1024): ~8 µm per mask pixel on a 20 mm slide. */
  readonly maxSide?: number;
  readonly signal?: AbortSignal;
}

export const DEFAULT_MIN_SATURATION = 20;

/** 1 per tissue pixel of interleaved RGB. */
export function tissueFromRgb(rgb: Uint8Array, options: TissueOptions = {}): Uint8Array {
  const min = options.minSaturation ?? DEFAULT_MIN_SATURATION;
  const out = new Uint8Array(rgb.length / 3);
  for (let p = 0, i = 0; p < out.length; p++, i += 3) {
    const r = rgb[i],
      g = rgb[i + 1],
      b = rgb[i + 2];
    out[p] = Math.max(r, g, b) - Math.min(r, g, b) >= min ? 1 : 0;
  }
  return out;
}

// Rows of level pixels read at once: bounds the memory of a slide whose coarsest level is big.
const STRIP_PIXELS = 8e6;

/**
 * The tissue mask of a slide, from its pyramid (the coarsest level fine enough, box-averaged to
 * the mask size by readScaled), read in horizontal strips.
 */
export async function readTissueMask(source: PixelSource, options: ReadTissueOptions = {}): Promise<TissueMask> {
  const maxSide = options.maxSide ?? 1024;
  if (!Number.isInteger(maxSide) || maxSide < 1)
    throw new RangeError(`maxSide must be a positive integer, got ${maxSide}`);
  const { width: slideWidth, height: slideHeight } = source.levels[0];
  const scale = Math.max(1, Math.max(slideWidth, slideHeight) / maxSide);
  const width = Math.max(1, Math.round(slideWidth / scale));
  const height = Math.max(1, Math.round(slideHeight / scale));
  // The level readScaled will pick (its rule), to size the strips.
  let levelWidth = slideWidth;
  for (const l of source.levels) if (l.downsample <= scale * 1.01) levelWidth = Math.min(levelWidth, l.width);
  const levelPerMask = levelWidth / width;
  const rowsPerStrip = Math.max(1, Math.floor(STRIP_PIXELS / (levelWidth * Math.max(1, levelPerMask))));
  const data = new Uint8Array(width * height);
  for (let row = 0; row < height; row += rowsPerStrip) {
    options.signal?.throwIfAborted();
    const rows = Math.min(rowsPerStrip, height - row);
    const y0 = Math.floor((row * slideHeight) / height);
    const y1 = Math.ceil(((row + rows) * slideHeight) / height);
    const rgb = await readScaled(source, {
      x: 0,
      y: y0,
      width: slideWidth,
      height: y1 - y0,
      outWidth: width,
      outHeight: rows,
      signal: options.signal,
    });
    data.set(tissueFromRgb(rgb, options), row * width);
  }
  return { width, height, data, slideWidth, slideHeight };
}
