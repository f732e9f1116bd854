import { labToRgb, rgbToLab, toByte } from './lab.js';
import { isTissue } from './optical-density.js';
import type { ReinhardStats, Triple } from './stain-stats.js';

/**
 * Reinhard et al. 2001, "Color transfer between images", in CIELAB: every pixel's L*, a*, b*
 * shifted and scaled so that the tissue's mean and standard deviation per axis become the
 * target's. One affine map per axis, cheap and stable; it matches the colour distribution as a
 * whole, not the stains one by one (macenko.ts does that).
 */

/** Mean and std of L*a*b* over the tissue pixels of interleaved RGB, and how many there were (0: none). */
export function reinhardStats(rgb: Uint8Array): { stats: ReinhardStats; pixels: number } {
  const sum = [0, 0, 0],
    squares = [0, 0, 0];
  const lab = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    if (!isTissue(rgb[i], rgb[i + 1], rgb[i + 2])) continue;
    rgbToLab(rgb[i], rgb[i + 1], rgb[i + 2], lab);
    for (let c = 0; c < 3; c++) {
      sum[c] += lab[c];
      squares[c] += lab[c] * lab[c];
    }
    n++;
  }
  const mean = sum.map((s) => (n ? s / n : 0)) as unknown as Triple;
  const std = squares.map((q, c) => (n ? Math.sqrt(Math.max(0, q / n - mean[c] ** 2)) : 0)) as unknown as Triple;
  return { stats: { mean, std }, pixels: n };
}

/** `rgb` with each L*a*b* axis mapped from `from`'s mean/std to `to`'s (every pixel, glass too), as bytes. */
export function reinhardApply(rgb: Uint8Array, from: ReinhardStats, to: ReinhardStats): Uint8Array {
  const scale = from.std.map((s, c) => to.std[c] / s);
  const shift = from.mean.map((m, c) => to.mean[c] - m * scale[c]);
  const out = new Uint8Array(rgb.length);
  const lab = [0, 0, 0],
    back = [0, 0, 0];
  for (let i = 0; i < rgb.length; i += 3) {
    rgbToLab(rgb[i], rgb[i + 1], rgb[i + 2], lab);
    labToRgb(lab[0] * scale[0] + shift[0], lab[1] * scale[1] + shift[1], lab[2] * scale[2] + shift[2], back);
    out[i] = toByte(back[0]);
    out[i + 1] = toByte(back[1]);
    out[i + 2] = toByte(back[2]);
  }
  return out;
}
