import { cellInstances } from './cell-instances.js';
import type { Rect } from '../math/rect.js';

/**
 * The cells of a probability map at one threshold in the form a worker sends them to the page:
 * each cell's rings (cell-instances.ts's instances, touching nuclei split, simplified at the
 * default tolerance) and its area, both in the map's pixels. Tracing is the page's heaviest
 * per-tile work (`npm run bench:contours`: ~64 ms per 512² tile on a loaded 2-core machine, one
 * long task per tile arriving), so the worker that computes a tile traces it too, and a threshold
 * change is traced in a worker.
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

/**
 * A map that is one output tile with margins of its neighbours (NaN where not computed): the
 * tile's cells are those cell-instances.ts gives it, whole across its seams.
 */
export interface TraceWindow {
  /** The tile inside the map (map pixels). */
  readonly owned: Rect;
  /** Sides of the map that are not the slide's edge. */
  readonly openEdges: {
    readonly left: boolean;
    readonly top: boolean;
    readonly right: boolean;
    readonly bottom: boolean;
  };
}

/** The cells of `probabilities` (width × height, row-major) at `threshold`, as TracedContours. */
export function traceContours(
  probabilities: Float32Array,
  width: number,
  height: number,
  threshold: number,
  seams?: TraceWindow,
): TracedContours {
  const { cells } = cellInstances(probabilities, width, height, { threshold, ...(seams ?? {}) });
  return { threshold, cells: cells.map((c) => ({ rings: c.rings, area: c.area })) };
}

/** The buffers to transfer with them (each once: rings that shared one would make postMessage throw). */
export function contoursTransfer(contours: TracedContours): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const cell of contours.cells) for (const ring of cell.rings) buffers.add(ring.buffer as ArrayBuffer);
  return [...buffers];
}
