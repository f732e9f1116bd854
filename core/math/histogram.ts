/** Counts of values in equal-width bins over [min, max] of the finite ones (the last bin holds max). */
export interface Histogram {
  readonly min: number;
  readonly max: number;
  readonly counts: Uint32Array;
}

/**
 * The histogram of `values` at `indices` (default all), `bins` equal bins over their finite
 * range; NaN and ±Infinity are left out. All values equal: every one in the first bin. None
 * finite: min = max = NaN and every count 0.
 */
export function histogram(values: ArrayLike<number>, bins: number, indices?: ArrayLike<number>): Histogram {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins is ${bins}; it is an integer ≥ 1`);
  const n = indices ? indices.length : values.length;
  const at = indices ? (k: number) => values[indices[k]] : (k: number) => values[k];
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < n; k++) {
    const v = at(k);
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const counts = new Uint32Array(bins);
  if (min > max) return { min: NaN, max: NaN, counts };
  const width = (max - min) / bins;
  for (let k = 0; k < n; k++) {
    const v = at(k);
    if (!Number.isFinite(v)) continue;
    counts[width > 0 ? Math.min(bins - 1, Math.floor((v - min) / width)) : 0]++;
  }
  return { min, max, counts };
}
