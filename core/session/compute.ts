import type { InferenceGrid } from '../inference/inference-grid.js';
import type { Rect } from '../inference/patch-grid.js';
import type { SlideInfo } from '../slide/pixel-source.js';

/**
 * What a session asks of the compute behind it (plugin/pool/worker-pool.ts's WorkerPool: workers
 * in a browser, in-thread workers in Node): the shapes of its requests and answers, and the
 * error it gives when its own state refuses a request.
 */

export interface PoolSlide {
  readonly key: number;
  readonly info: SlideInfo;
}

/** Where a tile's pixels are: a slide level as it is, or an inference grid (the extractors' scale). */
export type TileTarget =
  | { readonly level: number; readonly inference?: undefined }
  | { readonly inference: InferenceGrid; readonly level?: undefined };

export type TileRequest = TileTarget & {
  readonly slide: PoolSlide;
  /** In the level's pixels, or in the inference grid's. */
  readonly tile: Rect;
  /** Lower runs sooner. Default 0. A job shared by several callers runs at the most urgent. */
  readonly priority?: number;
  /**
   * The viewport version the job belongs to; default the current one. `null`: no viewport's
   * (a region run), so newViewport never drops it.
   */
  readonly version?: number | null;
  /** Aborting drops this caller only; the job goes on while another caller still wants it. */
  readonly signal?: AbortSignal;
};

export interface TileResult {
  /** tile.width × tile.height probabilities, row-major. Shared with the cache: do not modify. */
  readonly probabilities: Float32Array;
  /** Patch evaluations it took (0 when it came from the cache). */
  readonly patches: number;
  readonly cached: boolean;
  /** Index of the worker that computed it. */
  readonly worker?: number;
}

/**
 * The pool refused a request because of its own state (closed, no model, slide not open), not
 * because of the tile: a caller walking many tiles should stop rather than try the next.
 */
export class PoolStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolStateError';
  }
}
