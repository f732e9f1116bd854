import type { SeededRandom } from '../math/seeded-random.js';
import { toByte } from '../stain/lab.js';
import { OD } from '../stain/optical-density.js';

/**
 * HED stain jitter (Tellez et al. 2018, "Whole-slide mitosis detection in H&E breast histology
 * using PHH3 as a reference to train distilled stain-invariant convolutional networks"): a
 * training crop's colours unmixed into haematoxylin, eosin and DAB concentrations by Ruifrok &
 * Johnston's colour deconvolution, each concentration c scaled and shifted, c·α + β, and mixed
 * back, so that an extractor sees the stain variation of other labs and scanners, not only its
 * training slides'. Units are those of −ln(I/255) optical density (optical-density.ts), as in
 * the paper (scikit-image's rgb2hed of its time): σ = 0.05 is its "HED-light", 0.2 "HED-strong".
 */

/** Ruifrok & Johnston's stain OD vectors, rows H, E, DAB (scikit-image's rgb_from_hed). */
export const RGB_FROM_HED: readonly (readonly [number, number, number])[] = [
  [0.65, 0.7, 0.29],
  [0.07, 0.99, 0.11],
  [0.27, 0.57, 0.78],
];

/** The inverse of RGB_FROM_HED (row-vector convention: concentrations = OD · HED_FROM_RGB), by its adjugate. */
const HED_FROM_RGB: Float64Array = (() => {
  const m = RGB_FROM_HED;
  const cof = (r: number, c: number) => {
    const [r1, r2] = [0, 1, 2].filter((i) => i !== r);
    const [c1, c2] = [0, 1, 2].filter((i) => i !== c);
    return ((r + c) % 2 ? -1 : 1) * (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]);
  };
  const det = m[0][0] * cof(0, 0) + m[0][1] * cof(0, 1) + m[0][2] * cof(0, 2);
  // inverse[i][j] = cofactor[j][i] / det
  return Float64Array.from({ length: 9 }, (_, k) => cof(k % 3, Math.floor(k / 3)) / det);
})();

/** Per stain (H, E, DAB): c' = c · alpha + beta. */
export interface HedJitter {
  readonly alpha: readonly [number, number, number];
  readonly beta: readonly [number, number, number];
}

/** α uniform in [1 − σ, 1 + σ] and β in [−σ, σ] for each of the three stains. */
export function drawHedJitter(sigma: number, rng: SeededRandom): HedJitter {
  const u = () => (2 * rng.next() - 1) * sigma;
  return { alpha: [1 + u(), 1 + u(), 1 + u()], beta: [u(), u(), u()] };
}

/** Interleaved RGB bytes with every pixel's stain concentrations jittered (a new array). */
export function applyHedJitter(rgb: Uint8Array, { alpha, beta }: HedJitter): Uint8Array {
  const p = HED_FROM_RGB;
  const m = RGB_FROM_HED;
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const x = OD[rgb[i]],
      y = OD[rgb[i + 1]],
      z = OD[rgb[i + 2]];
    const h = (x * p[0] + y * p[3] + z * p[6]) * alpha[0] + beta[0];
    const e = (x * p[1] + y * p[4] + z * p[7]) * alpha[1] + beta[1];
    const d = (x * p[2] + y * p[5] + z * p[8]) * alpha[2] + beta[2];
    for (let c = 0; c < 3; c++) out[i + c] = toByte(255 * Math.exp(-(h * m[0][c] + e * m[1][c] + d * m[2][c])));
  }
  return out;
}
