import { AdaptError } from './adapt-error.js';

// The support set's own types and checks, apart from support-features.ts (which runs TF.js over
// it), so the package's public types reach no TF.js types.

/**
 * One annotated support patch, at the extractors' resolution
 * (docs/ARCHITECTURE.md#few-shot-adaptation: 256×256 typical).
 */
export interface SupportPatch {
  /** H × W × 3 RGB bytes, row-major. */
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** H × W: 0 background, 1 the new class, 255 unlabelled (ignored). */
  readonly mask: Uint8Array;
}

export const MASK_BACKGROUND = 0;
export const MASK_CLASS = 1;
export const MASK_IGNORED = 255;

export interface SupportCounts {
  readonly patches: number;
  readonly pixels: number;
  readonly positive: number;
  readonly negative: number;
  readonly ignored: number;
}

/** Refuses a support set that cannot define a classifier, naming the first problem found. */
export function checkSupport(support: readonly SupportPatch[]): SupportCounts {
  if (!Array.isArray(support) || support.length === 0)
    throw new AdaptError('empty-support', 'the support set is empty: annotate at least one patch');
  let positive = 0;
  let negative = 0;
  let ignored = 0;
  let pixels = 0;
  support.forEach((patch, k) => {
    const { width, height, rgb, mask } = patch ?? {};
    const where = `support patch ${k}`;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new AdaptError(
        'bad-patch',
        `${where} has size ${width}×${height}; width and height must be positive integers`,
      );
    }
    if (!(rgb instanceof Uint8Array) || rgb.length !== width * height * 3) {
      throw new AdaptError(
        'bad-patch',
        `${where} is ${width}×${height}, so its RGB needs ${width * height * 3} bytes, ` +
          `got ${rgb instanceof Uint8Array ? rgb.length : typeof rgb}`,
      );
    }
    if (!(mask instanceof Uint8Array) || mask.length !== width * height) {
      throw new AdaptError(
        'bad-patch',
        `${where} is ${width}×${height}, so its mask needs ${width * height} values, ` +
          `got ${mask instanceof Uint8Array ? mask.length : typeof mask}`,
      );
    }
    for (let i = 0; i < mask.length; i++) {
      const m = mask[i];
      if (m === MASK_CLASS) positive++;
      else if (m === MASK_BACKGROUND) negative++;
      else if (m === MASK_IGNORED) ignored++;
      else
        throw new AdaptError(
          'bad-patch',
          `${where} mask value ${m} at pixel ${i}: masks hold 0 (background), 1 (class) or 255 (unlabelled)`,
        );
    }
    pixels += width * height;
  });
  if (positive === 0)
    throw new AdaptError(
      'no-positive',
      `no support pixel is marked as the class (mask value 1) in ${support.length} patch(es)`,
    );
  if (negative === 0)
    throw new AdaptError(
      'no-negative',
      `no support pixel is marked as background (mask value 0) in ${support.length} patch(es)`,
    );
  return { patches: support.length, pixels, positive, negative, ignored };
}
