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
