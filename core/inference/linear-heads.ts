/** The perceptron over the concatenated extractor features: p = σ(b + Σ_c W_c·g_c(x)). */
export interface LinearHead {
  readonly W: ArrayLike<number>;
  readonly b: number;
  /** Its ensemble's members (core/adaptation/head-ensemble.ts), over the same features. */
  readonly members?: readonly { readonly W: ArrayLike<number>; readonly b: number }[];
}

/**
 * The head and its ensemble's members, in that order, each checked against the extractors'
 * `channels` features (TF-free: the SIMD patch model and the TF.js one both use it).
 */
export function linearHeads(head: LinearHead, channels: number): LinearHead[] {
  if (head.W.length !== channels)
    throw new Error(`the head has ${head.W.length} weights, the extractors give ${channels} features`);
  const heads = [head, ...(head.members ?? [])];
  heads.forEach((h) => {
    if (h.W.length !== channels)
      throw new Error(`an ensemble member has ${h.W.length} weights, the extractors give ${channels} features`);
    if (!Number.isFinite(h.b) || !Array.from(h.W).every(Number.isFinite))
      throw new Error('the head has a weight that is not a finite number');
  });
  return heads;
}
