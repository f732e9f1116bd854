/**
 * sRGB (8-bit, D65) ↔ CIE L*a*b*, the perceptual colour space Reinhard normalisation matches
 * statistics in (reinhard.ts). Lightness and the two opponent axes are close to uncorrelated on
 * H&E, so matching each axis's mean and standard deviation on its own is meaningful; in RGB the
 * channels move together and per-channel matching shifts hues.
 */

// sRGB primaries to XYZ, D65 white (IEC 61966-2-1).
const RGB_TO_XYZ = [0.4124564, 0.3575761, 0.1804375, 0.2126729, 0.7151522, 0.072175, 0.0193339, 0.119192, 0.9503041];
// The exact inverse, so that labToRgb(rgbToLab(x)) is x to rounding (the standard's rounded
// inverse matrix is off by 2e-4 of a byte).
const XYZ_TO_RGB = inverse3(RGB_TO_XYZ);
const WHITE = [0.95047, 1, 1.08883];
const EPSILON = (6 / 29) ** 3;
const SLOPE = 3 * (6 / 29) ** 2;

/** sRGB byte → linear light, once per byte value. */
const LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

const f = (t: number) => (t > EPSILON ? Math.cbrt(t) : t / SLOPE + 4 / 29);
const fInverse = (t: number) => (t > 6 / 29 ? t * t * t : SLOPE * (t - 4 / 29));
const gamma = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);

/** L*, a*, b* of one sRGB pixel (bytes), written to out[at…at+2]. */
export function rgbToLab(r: number, g: number, b: number, out: Float64Array | number[], at = 0): void {
  const R = LINEAR[r],
    G = LINEAR[g],
    B = LINEAR[b];
  const fx = f((RGB_TO_XYZ[0] * R + RGB_TO_XYZ[1] * G + RGB_TO_XYZ[2] * B) / WHITE[0]);
  const fy = f((RGB_TO_XYZ[3] * R + RGB_TO_XYZ[4] * G + RGB_TO_XYZ[5] * B) / WHITE[1]);
  const fz = f((RGB_TO_XYZ[6] * R + RGB_TO_XYZ[7] * G + RGB_TO_XYZ[8] * B) / WHITE[2]);
  out[at] = 116 * fy - 16;
  out[at + 1] = 500 * (fx - fy);
  out[at + 2] = 200 * (fy - fz);
}

/** The sRGB pixel of L*, a*, b*, on the 0..255 scale, unrounded and unclamped (out of gamut stays out). */
export function labToRgb(L: number, a: number, bStar: number, out: Float64Array | number[], at = 0): void {
  const fy = (L + 16) / 116;
  const X = WHITE[0] * fInverse(fy + a / 500);
  const Y = WHITE[1] * fInverse(fy);
  const Z = WHITE[2] * fInverse(fy - bStar / 200);
  for (let c = 0; c < 3; c++) {
    const linear = XYZ_TO_RGB[3 * c] * X + XYZ_TO_RGB[3 * c + 1] * Y + XYZ_TO_RGB[3 * c + 2] * Z;
    // gamma() of a negative linear value is the linear segment's, still negative: clamped by the caller.
    out[at + c] = 255 * gamma(Math.max(0, linear));
  }
}

/** A 0..255 value as a byte: rounded, clamped. */
export const toByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

function inverse3(m: readonly number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h,
    B = f * g - d * i,
    C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A, c * h - b * i, b * f - c * e, B, a * i - c * g, c * d - a * f, C, b * g - a * h, a * e - b * d].map(
    (v) => v / det,
  );
}
