/** The p-th percentile (0..100) of `values`, linear between order statistics (numpy's default). Sorts a copy. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) throw new RangeError('the percentile of no values');
  const sorted = Float64Array.from(values).sort();
  const at = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
}
