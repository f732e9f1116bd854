import { percentile } from '../math/percentile.js';
import { symmetricEigen } from '../math/symmetric-eigen.js';
import { toByte } from './lab.js';
import { OD, isTissue } from './optical-density.js';
import type { MacenkoStats, Triple } from './stain-stats.js';

/**
 * Macenko et al. 2009, "A method for normalizing histology slides for quantitative analysis": in
 * optical density the two stains are two directions; the plane of the two largest principal
 * axes of the tissue's OD holds them, and the directions at the 1st and 99th percentile of angle
 * in that plane (robust extremes, not the min and max, which one odd pixel decides) are the
 * haematoxylin and eosin vectors. Each pixel is then unmixed into two concentrations, each
 * concentration scaled so its 99th percentile is the target's, and remixed with the target's
 * vectors: the stains themselves are matched, not only the colour distribution.
 */

const ALPHA = 1;
/** Tissue pixels kept (every k-th) for the percentiles: sorting bounds the cost, 2^18 keeps it ~50 ms. */
const MAX_SAMPLE = 2 ** 18;

const unit = (v: readonly number[]): Triple => {
  const n = Math.hypot(...v);
  return [v[0] / n, v[1] / n, v[2] / n];
};

/** The least-squares unmixing 2×3 matrix (SᵀS)⁻¹Sᵀ of stain columns S = [h e]. */
function unmixing(stains: readonly [Triple, Triple]): number[] {
  const [h, e] = stains;
  const hh = h[0] * h[0] + h[1] * h[1] + h[2] * h[2];
  const ee = e[0] * e[0] + e[1] * e[1] + e[2] * e[2];
  const he = h[0] * e[0] + h[1] * e[1] + h[2] * e[2];
  const det = hh * ee - he * he;
  if (!(Math.abs(det) > 1e-12)) throw new RangeError('the two stain vectors are parallel');
  const out = new Array<number>(6);
  for (let c = 0; c < 3; c++) {
    out[c] = (ee * h[c] - he * e[c]) / det;
    out[3 + c] = (hh * e[c] - he * h[c]) / det;
  }
  return out;
}

/** Stain vectors and 99th-percentile concentrations of the tissue in interleaved RGB; undefined below `minPixels`. */
export function macenkoStats(rgb: Uint8Array, minPixels = 100): { stats: MacenkoStats; pixels: number } | undefined {
  let n = 0;
  for (let i = 0; i < rgb.length; i += 3) if (isTissue(rgb[i], rgb[i + 1], rgb[i + 2])) n++;
  if (n < minPixels) return undefined;
  const step = Math.ceil(n / MAX_SAMPLE);
  const m = Math.floor((n - 1) / step) + 1;
  const od = new Float64Array(3 * m);
  for (let i = 0, seen = 0, k = 0; i < rgb.length; i += 3) {
    if (!isTissue(rgb[i], rgb[i + 1], rgb[i + 2])) continue;
    if (seen++ % step !== 0) continue;
    od[3 * k] = OD[rgb[i]];
    od[3 * k + 1] = OD[rgb[i + 1]];
    od[3 * k + 2] = OD[rgb[i + 2]];
    k++;
  }
  const mean = [0, 0, 0];
  for (let k = 0; k < m; k++) for (let c = 0; c < 3; c++) mean[c] += od[3 * k + c] / m;
  const cov = new Float64Array(9);
  for (let k = 0; k < m; k++) {
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) cov[3 * a + b] += ((od[3 * k + a] - mean[a]) * (od[3 * k + b] - mean[b])) / m;
  }
  // The plane of the two largest axes; each axis turned towards positive OD (stains absorb).
  const [e1, e2] = symmetricEigen(cov, 3).vectors.map((v) => (v[0] + v[1] + v[2] < 0 ? v.map((x) => -x) : v));
  const angles = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const x = od[3 * k] * e1[0] + od[3 * k + 1] * e1[1] + od[3 * k + 2] * e1[2];
    const y = od[3 * k] * e2[0] + od[3 * k + 1] * e2[1] + od[3 * k + 2] * e2[2];
    angles[k] = Math.atan2(y, x);
  }
  const direction = (phi: number) => unit(e1.map((v, c) => Math.cos(phi) * v + Math.sin(phi) * e2[c]));
  const a = direction(percentile(angles, ALPHA));
  const b = direction(percentile(angles, 100 - ALPHA));
  // Haematoxylin absorbs red more than eosin does (eosin is pink: it lets red through).
  const stains: [Triple, Triple] = a[0] >= b[0] ? [a, b] : [b, a];
  const p = unmixing(stains);
  const ch = new Float64Array(m),
    ce = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const x = od[3 * k],
      y = od[3 * k + 1],
      z = od[3 * k + 2];
    ch[k] = p[0] * x + p[1] * y + p[2] * z;
    ce[k] = p[3] * x + p[4] * y + p[5] * z;
  }
  const maxConcentrations: [number, number] = [percentile(ch, 99), percentile(ce, 99)];
  if (!(maxConcentrations[0] > 0 && maxConcentrations[1] > 0)) return undefined;
  return { stats: { stains, maxConcentrations }, pixels: n };
}

/** `rgb` unmixed with `from`'s stains, concentrations scaled to `to`'s, remixed with `to`'s stains; bytes. */
export function macenkoApply(rgb: Uint8Array, from: MacenkoStats, to: MacenkoStats): Uint8Array {
  const p = unmixing(from.stains);
  const sh = to.maxConcentrations[0] / from.maxConcentrations[0];
  const se = to.maxConcentrations[1] / from.maxConcentrations[1];
  const [h, e] = to.stains;
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const x = OD[rgb[i]],
      y = OD[rgb[i + 1]],
      z = OD[rgb[i + 2]];
    const ch = (p[0] * x + p[1] * y + p[2] * z) * sh;
    const ce = (p[3] * x + p[4] * y + p[5] * z) * se;
    for (let c = 0; c < 3; c++) out[i + c] = toByte(255 * Math.exp(-(ch * h[c] + ce * e[c])));
  }
  return out;
}
