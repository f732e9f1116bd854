/**
 * Whether a number survives conversion to float32. Files hold float64 numbers, but weights run as
 * float32 (Float32Array.from, WebAssembly, TF.js): a weight of 1e308 is finite in the file and
 * Infinity on every backend, and Infinity − Infinity in a sum made 2,334 of 4,096 pixels NaN
 * (issue 12). Values between the largest float32 and the next power rounding to it are kept.
 */
export const FLOAT32_MAX = 3.4028234663852886e38;

export function fitsFloat32(value: number): boolean {
  return Number.isFinite(Math.fround(value));
}
