import type { PixelSource } from './pixel-source.js';

export interface ScaledRead {
  /** Rectangle in level-0 pixels. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Size of the RGB image wanted for that rectangle. */
  readonly outWidth: number;
  readonly outHeight: number;
  readonly signal?: AbortSignal;
}

/**
 * Reads a level-0 rectangle at any scale: from the coarsest level that still has at least the
 * resolution asked for, box-averaged down to the output size. Averaging (never nearest-neighbour
 * or upsampling from a coarser level) keeps what reaches the screen faithful to the file.
 */
export async function readScaled(source: PixelSource, read: ScaledRead): Promise<Uint8Array> {
  const scale = Math.min(read.width / read.outWidth, read.height / read.outHeight);
  let level = 0;
  source.levels.forEach((l, i) => {
    // 1% slack: real pyramids round sizes (Aperio's "2×" level is 2.0005×).
    if (l.downsample <= scale * 1.01 && l.downsample > source.levels[level].downsample) level = i;
  });
  const geometry = source.levels[level];
  const sx = geometry.width / source.levels[0].width;
  const sy = geometry.height / source.levels[0].height;
  const x0 = clamp(Math.floor(read.x * sx), 0, geometry.width - 1);
  const y0 = clamp(Math.floor(read.y * sy), 0, geometry.height - 1);
  const x1 = clamp(Math.ceil((read.x + read.width) * sx), x0 + 1, geometry.width);
  const y1 = clamp(Math.ceil((read.y + read.height) * sy), y0 + 1, geometry.height);
  const pixels = await source.readRegion({ level, x: x0, y: y0, width: x1 - x0, height: y1 - y0, signal: read.signal });
  if (x1 - x0 === read.outWidth && y1 - y0 === read.outHeight) return pixels;
  return boxResize(pixels, x1 - x0, y1 - y0, read.outWidth, read.outHeight);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

/** Area-weighted resize of interleaved RGB; exact box mean when the ratio is an integer. */
export function boxResize(src: Uint8Array, w: number, h: number, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH * 3);
  const fx = w / outW;
  const fy = h / outH;
  const acc = new Float64Array(3);
  for (let oy = 0; oy < outH; oy++) {
    const ya = oy * fy;
    const yb = ya + fy;
    for (let ox = 0; ox < outW; ox++) {
      const xa = ox * fx;
      const xb = xa + fx;
      acc.fill(0);
      let total = 0;
      for (let y = Math.floor(ya); y < Math.min(h, Math.ceil(yb)); y++) {
        const wy = Math.min(yb, y + 1) - Math.max(ya, y);
        for (let x = Math.floor(xa); x < Math.min(w, Math.ceil(xb)); x++) {
          const weight = wy * (Math.min(xb, x + 1) - Math.max(xa, x));
          const i = (y * w + x) * 3;
          acc[0] += weight * src[i];
          acc[1] += weight * src[i + 1];
          acc[2] += weight * src[i + 2];
          total += weight;
        }
      }
      const o = (oy * outW + ox) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(acc[c] / total);
    }
  }
  return out;
}
