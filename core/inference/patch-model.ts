/**
 * A per-patch model: RGB bytes (width × height × 3, row-major, 0..255) in, one probability per
 * pixel out (row-major). The inference engine only sees this, so it does not depend on how
 * the probabilities are made (a head over extractor features, an extractor's own output, a test
 * function).
 */
export type PatchModel = (
  rgb: Uint8Array,
  width: number,
  height: number,
  signal?: AbortSignal,
) => Promise<Float32Array>;

/**
 * A patch model that also gives each pixel's uncertainty (core/inference/uncertainty.ts) from
 * the head's ensemble, computed with the probabilities from the same feature maps.
 */
export type UncertainPatchModel = (
  rgb: Uint8Array,
  width: number,
  height: number,
  signal?: AbortSignal,
) => Promise<{ readonly probabilities: Float32Array; readonly uncertainty: Float32Array }>;
