/**
 * Pre-filled patches (issue 14, "correct, don't paint"): once a head exists, a newly placed support
 * patch starts as the head's prediction of its pixels, and the user corrects it with brush and
 * erase instead of painting every cell. What that needs of the labels, without a DOM: the fill
 * (probabilities → labels at a threshold) and how much of a patch the user changed since.
 *
 * A leaf module: support-set.ts imports it (the store counts changes), so the two label values are
 * repeated here, as support-set.ts's LABEL_BACKGROUND and LABEL_CLASS (adapt()'s 0 and 1; the test
 * checks they agree).
 */
const BACKGROUND = 0;
const CLASS = 1;

/**
 * The labels a pre-fill paints: class where p > threshold, background elsewhere. The same rule
 * as the overlay's mask and the exports (core/cells/cell-contours.ts's thresholdMask, the
 * session's exportMaskPng), so the patch shows what the mask layer showed there. Never 'ignore':
 * the prediction has an answer for every pixel.
 */
export function prefillLabels(probabilities: Float32Array, threshold: number): Uint8Array {
  if (!(threshold > 0 && threshold < 1))
    throw new RangeError(`threshold ${threshold} must be strictly between 0 and 1`);
  const labels = new Uint8Array(probabilities.length);
  for (let i = 0; i < labels.length; i++) labels[i] = probabilities[i] > threshold ? CLASS : BACKGROUND;
  return labels;
}

/** How far a patch's labels are from the fill it started as. */
export interface PatchChanges {
  /** Pixels whose label differs from the fill's. */
  readonly pixels: number;
  /** pixels / all the patch's pixels, in [0, 1]. */
  readonly fraction: number;
}

/** Pixels where `mask` differs from `fill` (same length), and their share of the patch. */
export function patchChanges(fill: Uint8Array, mask: Uint8Array): PatchChanges {
  if (fill.length !== mask.length)
    throw new RangeError(`the fill has ${fill.length} labels and the mask ${mask.length}: not the same patch`);
  let pixels = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== fill[i]) pixels++;
  return { pixels, fraction: mask.length === 0 ? 0 : pixels / mask.length };
}
