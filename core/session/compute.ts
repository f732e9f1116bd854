import type { AdaptOptions, AdaptProgress, AdaptReport } from '../adaptation/adapt.js';
import type { HeadEnsemble, HeadJson } from '../adaptation/head.js';
import type { EnsembleOptions, EnsembleProgress } from '../adaptation/ensemble-options.js';
import type { InferenceGrid } from '../inference/inference-grid.js';
import type { Tiling } from '../inference/tiling.js';
import type { Rect } from '../math/rect.js';
import type { SlideInfo } from '../slide/pixel-source.js';
import type { TissueMask } from '../slide/tissue-mask.js';
import type { GridPatch } from '../support-set/support-patches.js';
import type { TracedContours, TraceWindow } from '../cells/traced-contours.js';
import type { DescriptorRegion } from '../active/region-descriptors.js';

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
  /**
   * How the tile is computed (core/inference/tiling.ts): one forward over it and its receptive-field
   * margin, or the paper's averaged patches. Default: the compute's own (the pool's `tiling` option).
   */
  readonly tiling?: Tiling;
  /** Lower runs sooner. Default 0. A job shared by several callers runs at the most urgent. */
  readonly priority?: number;
  /**
   * The viewport version the job belongs to; default the current one. `null`: no viewport's
   * (a region run), so newViewport never drops it.
   */
  readonly version?: number | null;
  /** Aborting drops this caller only; the job goes on while another caller still wants it. */
  readonly signal?: AbortSignal;
  /**
   * The worker also traces the tile's cells at this threshold (TileResult's `contours`). Of a job
   * shared by several callers, the first caller's; a tile from the cache comes with the cells its
   * job traced, if any (check their threshold).
   */
  readonly contours?: { readonly threshold: number };
};

export interface TileResult {
  /** tile.width × tile.height probabilities, row-major. Shared with the cache: do not modify. */
  readonly probabilities: Float32Array;
  /** Forwards of the model it took: patches evaluated, 1 for a whole tile, 0 when it came from the cache. */
  readonly patches: number;
  readonly cached: boolean;
  /** Index of the worker that computed it. */
  readonly worker?: number;
  /** Its cells, traced by that worker, when the request asked (check their threshold). */
  readonly contours?: TracedContours;
  /**
   * Each pixel's uncertainty as round(255·u) (core/inference/uncertainty.ts), when the head has an
   * ensemble and the tile was computed whole. Shared with the cache: do not modify.
   */
  readonly uncertainty?: Uint8Array;
}

/** A probability map to trace at a threshold (Compute's traceContours). */
export interface ContourRequest {
  /** width × height, row-major; copied to the worker unless `transfer`. */
  readonly probabilities: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly threshold: number;
  /** The map is a tile with margins of its neighbours: trace that tile's cells, whole across its seams. */
  readonly window?: TraceWindow;
  /**
   * The map's buffer is moved to the worker, not copied (the caller gives it up: a map made for the
   * request, as the session's seam windows): in a trace of three view fills, copying the seam windows
   * was 0.47 s of the page's tasks over 50 ms.
   */
  readonly transfer?: boolean;
  readonly signal?: AbortSignal;
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

/** The head's weights as the compute takes them (each worker gets them). */
export interface HeadWeights {
  readonly W: readonly number[];
  readonly b: number;
  /** Its ensemble's members (core/adaptation/head-ensemble.ts): tiles then carry uncertainty. */
  readonly members?: readonly { readonly W: readonly number[]; readonly b: number }[];
}

export interface AdaptRequest {
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  /** In inference-grid pixels (support-patches.ts's gridPatches): the compute reads their pixels itself. */
  readonly patches: readonly GridPatch[];
  readonly options?: Partial<Omit<AdaptOptions, 'metadata'>>;
  /** Stored in the head (class name, colour, shots…). */
  readonly metadata?: Record<string, unknown>;
}

export interface AdaptControl {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: AdaptProgress) => void;
}

export interface AdaptAnswer {
  readonly head: HeadJson;
  readonly report: AdaptReport;
}

/** Windows of a slide's inference grid to describe in feature space (core/active/region-descriptors.ts). */
export interface WindowDescriptorRequest {
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  /** In inference-grid pixels. */
  readonly regions: readonly DescriptorRegion[];
  readonly signal?: AbortSignal;
}

/**
 * The compute a session runs on. plugin/pool/worker-pool.ts's WorkerPool is one as it is (this
 * interface is written to its methods, and nothing here imports it): core stays free of the
 * workers, and a session is the same object in a page and in Node.
 */
export interface Compute {
  /** Workers: how many tiles are worth having with it at once. */
  readonly size: number;
  /**
   * The most 512² tiles one job of this tiling (default the compute's) computes in one forward:
   * the pool's blocks of adjacent queued 'whole' tiles (core/inference/tile-block.ts); absent or
   * 1: a tile per forward. A caller with many tiles keeps that many per worker with it so that
   * blocks can form.
   */
  blockTiles?(tiling?: Tiling): number;
  predictTile(request: TileRequest): Promise<TileResult>;
  /**
   * Starts a new viewport version: queued work of older viewports is dropped. `rejoin` asks for
   * the new view's tiles (with the new version) before that, so work the new view still wants
   * goes on.
   */
  newViewport(rejoin?: (version: number) => void): number;
  /** Fits a head to the patches in one worker. */
  adapt(request: AdaptRequest, control?: AdaptControl): Promise<AdaptAnswer>;
  /**
   * Fits the ensemble of the head the last adapt() answered, from what that fit kept
   * (core/adaptation/head-ensemble.ts). Optional: a compute without it gives heads no ensemble.
   */
  fitEnsemble?(
    head: { readonly W: readonly number[]; readonly b: number },
    options?: Partial<EnsembleOptions>,
    control?: { readonly signal?: AbortSignal; readonly onProgress?: (progress: EnsembleProgress) => void },
  ): Promise<HeadEnsemble>;
  /** Installs the head in every worker; resolves with its cache key once all have it. */
  setHead(head: HeadWeights): Promise<string>;
  tissueMask(slide: PoolSlide, options?: { readonly signal?: AbortSignal }): Promise<TissueMask>;
  /** The cells of a map at a threshold, traced in a worker (an idle one if any): off the page's thread. */
  traceContours(request: ContourRequest): Promise<TracedContours>;
  /**
   * RGB bytes of a rectangle of a slide level (the pool's readRegion), for the cells' stain
   * measurements; a compute without it exports cells without them.
   */
  readRegion?(slide: PoolSlide, level: number, rect: Rect, signal?: AbortSignal): Promise<Uint8Array>;
  /** Per region, its windows' mean features (C' floats each): the next-patch ranking's diversity. */
  windowDescriptors(request: WindowDescriptorRequest): Promise<Float32Array[][]>;
}
