/** An interleaved 8-bit raster. */
export interface Raster {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface LevelSize {
  width: number;
  height: number;
  /** Nominal downsample 2^k relative to level 0. */
  downsample: number;
}

/** Pyramids stop at the first level whose larger side fits a thumbnail. */
export const THUMBNAIL_SIZE = 256;

/** Level sizes: each level halves the previous one, rounding odd sizes up. */
export function levelSizes(width: number, height: number, thumbnail = THUMBNAIL_SIZE): LevelSize[] {
  const levels: LevelSize[] = [{ width, height, downsample: 1 }];
  while (Math.max(width, height) > thumbnail) {
    width = Math.ceil(width / 2);
    height = Math.ceil(height / 2);
    levels.push({ width, height, downsample: levels[levels.length - 1].downsample * 2 });
  }
  return levels;
}

/**
 * 2×2 box mean with integer round-half-up. At odd right and bottom edges only the
 * pixels that exist are averaged, so edge pixels are not darkened by padding.
 */
export function downsample2x(src: Raster): Raster {
  const { width, height, channels: ch, data } = src;
  const w = Math.ceil(width / 2);
  const h = Math.ceil(height / 2);
  const out = new Uint8Array(w * h * ch);
  for (let j = 0; j < h; j++) {
    const y0 = 2 * j;
    const y1 = Math.min(y0 + 1, height - 1);
    for (let i = 0; i < w; i++) {
      const x0 = 2 * i;
      const x1 = Math.min(x0 + 1, width - 1);
      const n = (x1 - x0 + 1) * (y1 - y0 + 1);
      for (let c = 0; c < ch; c++) {
        let sum = data[(y0 * width + x0) * ch + c];
        if (x1 !== x0) sum += data[(y0 * width + x1) * ch + c];
        if (y1 !== y0) {
          sum += data[(y1 * width + x0) * ch + c];
          if (x1 !== x0) sum += data[(y1 * width + x1) * ch + c];
        }
        out[(j * w + i) * ch + c] = Math.floor((sum + (n >> 1)) / n);
      }
    }
  }
  return { width: w, height: h, channels: ch, data: out };
}

/** All levels from level 0 down to the thumbnail, level 0 included (not copied). */
export function buildPyramid(level0: Raster, thumbnail = THUMBNAIL_SIZE): Raster[] {
  const levels = [level0];
  while (Math.max(levels[levels.length - 1].width, levels[levels.length - 1].height) > thumbnail) {
    levels.push(downsample2x(levels[levels.length - 1]));
  }
  return levels;
}
