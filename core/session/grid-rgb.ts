import type { InferenceGrid } from '../inference/inference-grid.js';
import type { Rect } from '../math/rect.js';
import type { PoolSlide } from './compute.js';

/** Reads RGB bytes of a rectangle of a slide level (the pool's readRegion). */
export type ReadRegion = (slide: PoolSlide, level: number, rect: Rect, signal?: AbortSignal) => Promise<Uint8Array>;

/**
 * The slide's RGB over a rectangle of the inference grid, one pixel per grid pixel: the grid's
 * level read once over the rectangle and sampled at each grid pixel's centre (nearest). What the
 * cells' stain measurements average over; the network saw the same level resampled smoothly
 * (resampled-source.ts), which differs from nearest sampling only where the grid is not the
 * level pixel for pixel, and not in a mean over a nucleus' hundreds of pixels.
 */
export async function readGridRgb(
  read: ReadRegion,
  slide: PoolSlide,
  grid: InferenceGrid,
  rect: Rect,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const level0 = slide.info.levels[0];
  const level = slide.info.levels[grid.level];
  // Level pixels per grid pixel.
  const fx = (grid.scaleX * level.width) / level0.width;
  const fy = (grid.scaleY * level.height) / level0.height;
  const x0 = Math.max(0, Math.floor(rect.x * fx));
  const y0 = Math.max(0, Math.floor(rect.y * fy));
  const x1 = Math.min(level.width, Math.max(x0 + 1, Math.ceil((rect.x + rect.width) * fx)));
  const y1 = Math.min(level.height, Math.max(y0 + 1, Math.ceil((rect.y + rect.height) * fy)));
  const width = x1 - x0;
  const bytes = await read(slide, grid.level, { x: x0, y: y0, width, height: y1 - y0 }, signal);
  const out = new Uint8Array(3 * rect.width * rect.height);
  for (let j = 0; j < rect.height; j++) {
    const ly = Math.min(y1 - 1, Math.max(y0, Math.floor((rect.y + j + 0.5) * fy))) - y0;
    for (let i = 0; i < rect.width; i++) {
      const lx = Math.min(x1 - 1, Math.max(x0, Math.floor((rect.x + i + 0.5) * fx))) - x0;
      const from = 3 * (ly * width + lx);
      const to = 3 * (j * rect.width + i);
      out[to] = bytes[from];
      out[to + 1] = bytes[from + 1];
      out[to + 2] = bytes[from + 2];
    }
  }
  return out;
}
