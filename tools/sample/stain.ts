import type { StainCanvas } from './canvas.js';
import { coarseField } from './coarse-field.js';
import { SALT_SENSOR_NOISE, type TissueFields } from './fields.js';
import { hash3 } from './random.js';

// Optical density per unit stain for R, G, B (Beer–Lambert). Haematoxylin after Ruifrok
// & Johnston; eosin blends a pink and a more purple variant to vary the hue by region.
const HEMATOXYLIN = normalise([0.65, 0.7, 0.29]);
const EOSIN_PINK = normalise([0.1, 0.9, 0.38]);
const EOSIN_PURPLE = normalise([0.3, 0.85, 0.4]);
const BLOOD = normalise([0.18, 0.75, 0.6]);
/** Glass is not perfectly white. */
const GLASS = [0.035, 0.045, 0.03];
/** Peak-to-peak sensor noise in grey levels (before the optical blur). */
const NOISE_LEVELS = 5;

function normalise(v: number[]): number[] {
  const n = Math.hypot(v[0], v[1], v[2]);
  return v.map((x) => x / n);
}

/** Converts stain densities to RGB intensities (floats, 0..255) with regional stain variation and sensor noise. */
export function stainToRgb(c: StainCanvas, f: TissueFields): Float32Array {
  // Stain variation changes over hundreds of microns, so a coarse grid is exact enough.
  const hs = coarseField(c, 16, (x, y) => f.stainH(x, y));
  const es = coarseField(c, 16, (x, y) => f.stainE(x, y));
  const hue = coarseField(c, 16, (x, y) => f.stainHue(x, y));
  const noiseSalt = f.salt(SALT_SENSOR_NOISE);
  const rgb = new Float32Array(c.width * c.height * 3);
  for (let j = 0; j < c.height; j++) {
    for (let i = 0; i < c.width; i++) {
      const k = j * c.width + i;
      const t = c.tissue[k];
      const h = c.h[k] * hs[k] * t;
      const e = (c.e[k] + c.fibre[k]) * es[k] * t;
      const blood = c.blood[k] * t;
      const mix = hue[k];
      const bits = hash3(noiseSalt, c.x + i, c.y + j);
      for (let ch = 0; ch < 3; ch++) {
        const eosin = EOSIN_PINK[ch] + (EOSIN_PURPLE[ch] - EOSIN_PINK[ch]) * mix;
        const od = GLASS[ch] + h * HEMATOXYLIN[ch] + e * eosin + blood * BLOOD[ch];
        const noise = (((bits >>> (ch * 10)) & 1023) / 1023 - 0.5) * NOISE_LEVELS;
        rgb[k * 3 + ch] = 255 * Math.exp(-od) + noise;
      }
    }
  }
  return rgb;
}
