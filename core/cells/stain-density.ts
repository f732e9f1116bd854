/**
 * Haematoxylin and eosin optical density of RGB pixels by colour deconvolution (Ruifrok &
 * Johnston, "Quantification of histochemical staining by color deconvolution", Anal. Quant.
 * Cytol. Histol. 2001), with their H&E stain vectors and the residual as the third: a pixel's
 * optical density per channel, −log10((v + 1) / 256) as tools/example-support.ts takes it, is
 * c_H·h + c_E·e + c_R·r, and (c_H, c_E, c_R) = od · M⁻¹ with M's rows h, e, r.
 */

const unit = (v: readonly number[]) => v.map((a) => a / Math.hypot(...v));

/** Ruifrok & Johnston's H&E vectors (OD per R, G, B), normalised. */
export const HAEMATOXYLIN = unit([0.65, 0.7, 0.29]);
export const EOSIN = unit([0.07, 0.99, 0.11]);

/** Columns 0 and 1 of M⁻¹: od · column gives the H and the E amount. */
const UNMIX = (() => {
  const h = HAEMATOXYLIN;
  const e = EOSIN;
  const r = unit([h[1] * e[2] - h[2] * e[1], h[2] * e[0] - h[0] * e[2], h[0] * e[1] - h[1] * e[0]]);
  const m = [h, e, r];
  const det =
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  // (M⁻¹)[c][s] = cofactor(s, c) / det.
  const inverse = (c: number, s: number) => {
    const rows = [0, 1, 2].filter((k) => k !== s);
    const cols = [0, 1, 2].filter((k) => k !== c);
    const minor = m[rows[0]][cols[0]] * m[rows[1]][cols[1]] - m[rows[0]][cols[1]] * m[rows[1]][cols[0]];
    return (((c + s) % 2 === 0 ? 1 : -1) * minor) / det;
  };
  return { h: [0, 1, 2].map((c) => inverse(c, 0)), e: [0, 1, 2].map((c) => inverse(c, 1)) };
})();

const OD = Float64Array.from({ length: 256 }, (_, v) => -Math.log10((v + 1) / 256));

/** The optical density of one 8-bit channel value. */
export function channelDensity(value: number): number {
  return OD[value];
}

/** Haematoxylin and eosin amounts (optical density) of one RGB pixel. */
export function stainDensity(
  r: number,
  g: number,
  b: number,
): { readonly haematoxylin: number; readonly eosin: number } {
  const o0 = OD[r];
  const o1 = OD[g];
  const o2 = OD[b];
  return {
    haematoxylin: o0 * UNMIX.h[0] + o1 * UNMIX.h[1] + o2 * UNMIX.h[2],
    eosin: o0 * UNMIX.e[0] + o1 * UNMIX.e[1] + o2 * UNMIX.e[2],
  };
}
