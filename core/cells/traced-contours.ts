import { cellContours } from './cell-contours.js';

/**
 * The cells of a probability map at one threshold in the form a worker sends them to the page:
 * each cell's rings (cell-contours.ts's, simplified at its default tolerance) and its area, both
 * in the map's pixels. Tracing is the page's heaviest per-tile work (`npm run bench:contours`:
 * ~64 ms per 512² tile on a loaded 2-core machine, one long task per tile arriving), so the
 * worker that computes a tile traces it too, and a threshold change is traced in a worker.
 */
export interface TracedCell {
  readonly rings: readonly Float64Array[];
  readonly area: number;
}

export interface TracedContours {
  /** The threshold they were traced at: a pixel is cell when p > threshold. */
  readonly threshold: number;
  readonly cells: readonly TracedCell[];
}

/** cellContours of `probabilities` (width × height, row-major) at `threshold`, as TracedContours. */
export function traceContours(
  probabilities: Float32Array,
  width: number,
  height: number,
  threshold: number,
): TracedContours {
  const cells = cellContours(probabilities, width, height, { threshold }).map((c) => ({
    rings: c.rings,
    area: c.area,
  }));
  return { threshold, cells };
}

/** The buffers to transfer with them (each once: rings that shared one would make postMessage throw). */
export function contoursTransfer(contours: TracedContours): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const cell of contours.cells) for (const ring of cell.rings) buffers.add(ring.buffer as ArrayBuffer);
  return [...buffers];
}
