// Apart from mirror-pad.ts (TF.js), so the SIMD engine, and the bundle probe the page runs
// through it, reach no TF.js: the page's bundle (dist/index.js) stays free of it.

/** The index that periodic reflection maps `i` to on an axis of length n (the loop reference's rule). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}
