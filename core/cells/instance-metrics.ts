/**
 * How well predicted instances match true ones, from two label maps of one image (0 = none,
 * else an instance id): instance F1 at IoU 0.5 — a pair with IoU > 0.5 is a match, and no
 * instance can have two such partners — and the Aggregated Jaccard Index (Kumar et al., IEEE TMI
 * 2017): each true instance with the predicted one of highest IoU with it, Σ intersections over
 * Σ unions, every predicted instance never chosen added to the unions.
 */
export interface InstanceMatch {
  readonly truths: number;
  readonly predictions: number;
  /** Pairs with IoU > 0.5. */
  readonly matched: number;
  /** 2·matched / (truths + predictions); 1 when both are empty. */
  readonly f1: number;
  /** AJI's Σ intersections and Σ unions, so that several images pool by summing. */
  readonly intersection: number;
  readonly union: number;
  readonly aji: number;
}

export function matchInstances(truth: ArrayLike<number>, predicted: ArrayLike<number>): InstanceMatch {
  if (truth.length !== predicted.length)
    throw new RangeError(`label maps of ${truth.length} and ${predicted.length} pixels`);
  const truthArea = new Map<number, number>();
  const predictedArea = new Map<number, number>();
  // Overlaps per true instance: predicted id → pixels.
  const overlaps = new Map<number, Map<number, number>>();
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = predicted[i];
    if (t !== 0) truthArea.set(t, (truthArea.get(t) ?? 0) + 1);
    if (p !== 0) predictedArea.set(p, (predictedArea.get(p) ?? 0) + 1);
    if (t !== 0 && p !== 0) {
      let row = overlaps.get(t);
      if (!row) overlaps.set(t, (row = new Map()));
      row.set(p, (row.get(p) ?? 0) + 1);
    }
  }
  let matched = 0;
  let intersection = 0;
  let union = 0;
  const chosen = new Set<number>();
  for (const [t, area] of truthArea) {
    let best = 0;
    let bestIou = 0;
    let bestOverlap = 0;
    for (const [p, overlap] of overlaps.get(t) ?? []) {
      const iou = overlap / (area + predictedArea.get(p)! - overlap);
      if (iou > 0.5) matched++;
      if (iou > bestIou) {
        bestIou = iou;
        best = p;
        bestOverlap = overlap;
      }
    }
    if (best === 0) union += area;
    else {
      intersection += bestOverlap;
      union += area + predictedArea.get(best)! - bestOverlap;
      chosen.add(best);
    }
  }
  for (const [p, area] of predictedArea) if (!chosen.has(p)) union += area;
  const truths = truthArea.size;
  const predictions = predictedArea.size;
  return {
    truths,
    predictions,
    matched,
    f1: truths + predictions === 0 ? 1 : (2 * matched) / (truths + predictions),
    intersection,
    union,
    aji: union === 0 ? 1 : intersection / union,
  };
}
