import { SeededRandom } from '../../../core/math/seeded-random.js';

/**
 * Independent float64 references for the stain tests: CIELAB written out from the CIE
 * definitions (not the product's tables), and H&E images made by Beer–Lambert from known stain
 * vectors and concentrations.
 */

export type Vec3 = [number, number, number];

const unit = (v: Vec3): Vec3 => {
  const n = Math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2);
  return [v[0] / n, v[1] / n, v[2] / n];
};

/** Ruifrok & Johnston's H&E optical-density vectors, and a bluer and a redder pair. */
export const RUIFROK_H = unit([0.65, 0.7, 0.29]);
export const RUIFROK_E = unit([0.07, 0.99, 0.11]);
export const OTHER_H = unit([0.55, 0.78, 0.3]);
export const OTHER_E = unit([0.2, 0.95, 0.22]);

/** sRGB byte → CIE L*a*b* (D65), straight from the standard's formulas. */
export function referenceLab(r: number, g: number, b: number): Vec3 {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const X = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const Y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const Z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.pow(t, 1 / 3) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}

/** Mean and population std of L*a*b* over the pixels `keep` accepts, by a plain float64 loop. */
export function referenceLabStats(
  rgb: Uint8Array,
  keep: (r: number, g: number, b: number) => boolean,
): { mean: Vec3; std: Vec3; n: number } {
  const labs: Vec3[] = [];
  for (let i = 0; i < rgb.length; i += 3)
    if (keep(rgb[i], rgb[i + 1], rgb[i + 2])) labs.push(referenceLab(rgb[i], rgb[i + 1], rgb[i + 2]));
  const mean = [0, 1, 2].map((c) => labs.reduce((s, l) => s + l[c], 0) / labs.length) as Vec3;
  const std = [0, 1, 2].map((c) =>
    Math.sqrt(labs.reduce((s, l) => s + (l[c] - mean[c]) ** 2, 0) / labs.length),
  ) as Vec3;
  return { mean, std, n: labs.length };
}

export interface TwoStainImage {
  readonly rgb: Uint8Array;
  /** Per pixel: haematoxylin and eosin concentrations it was made from. */
  readonly concentrations: Float64Array;
}

/**
 * `pixels` H&E pixels from stains `h`, `e`: a fifth pure haematoxylin (nuclei), a fifth pure
 * eosin, the rest mixed, a tenth blank glass; concentrations uniform up to `hMax`, `eMax`.
 */
export function twoStainImage(h: Vec3, e: Vec3, pixels: number, seed: number, hMax = 1.6, eMax = 1.0): TwoStainImage {
  const rng = new SeededRandom(seed);
  const rgb = new Uint8Array(3 * pixels);
  const concentrations = new Float64Array(2 * pixels);
  for (let p = 0; p < pixels; p++) {
    const kind = rng.next();
    let ch = (0.25 + 0.75 * rng.next()) * hMax;
    let ce = (0.25 + 0.75 * rng.next()) * eMax;
    if (kind < 0.1) ch = ce = 0;
    else if (kind < 0.3) ce = 0;
    else if (kind < 0.5) ch = 0;
    concentrations[2 * p] = ch;
    concentrations[2 * p + 1] = ce;
    for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round(255 * Math.exp(-(ch * h[c] + ce * e[c])));
  }
  return { rgb, concentrations };
}

export const cosine = (a: readonly number[], b: readonly number[]) =>
  (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / Math.hypot(...a) / Math.hypot(...b);

/** Tissue: mean optical density −ln(I/255) over the channels ≥ 0.15 (I clamped to ≥ 1). */
export const referenceIsTissue = (r: number, g: number, b: number) =>
  -(Math.log(Math.max(r, 1) / 255) + Math.log(Math.max(g, 1) / 255) + Math.log(Math.max(b, 1) / 255)) / 3 >= 0.15;
