import type { AdaptProgress, AdaptReport } from '../adaptation/adapt.js';
import { serializeClassHeads, type ClassHead, type ClassHeadsJson } from '../adaptation/class-heads.js';
import { adaptClasses, type ClassAdaptAnswer } from './class-adapt.js';
import { classProbabilities } from './class-probabilities.js';
import { classCellRows, classCellsToGeoJson, composeClasses, measureClassCells } from '../cells/class-composition.js';
import {
  checkHeadExtractors,
  parseHead,
  serializeHead,
  type Head,
  type HeadEnsemble,
  type HeadJson,
} from '../adaptation/head.js';
import { cellsToCsv, type CellRow } from '../cells/cell-csv.js';
import { cellInstances } from '../cells/cell-instances.js';
import { measureCells, measurementRecord, type CellMeasures } from '../cells/cell-measurements.js';
import { traceContours, type TracedCell, type TracedContours, type TraceWindow } from '../cells/traced-contours.js';
import { cellsToGeoJsonReport, type CellFeatureCollection } from '../cells/geojson-export.js';
import { maskPlacement, toLevel0 } from '../cells/mask-placement.js';
import { gzip } from '../cells/gzip.js';
import { encodePng } from '../cells/png-encode.js';
import { withEvents } from '../events/event-handle.js';
import { Emitter, type TypedEventTarget } from '../events/typed-events.js';
import { gridToLevel0, level0ToGrid, type InferenceGrid } from '../inference/inference-grid.js';
import type { RankedWindow } from '../active/rank-windows.js';
import { proposeWindows, viewCandidates, type ViewProposalOptions } from '../active/view-proposals.js';
import { DESCRIPTOR_STEP, type DescriptorRegion } from '../active/region-descriptors.js';
import type { Rect } from '../math/rect.js';
import { planRegion } from '../inference/region-plan.js';
import { checkTiling, DEFAULT_TILING, type Tiling } from '../inference/tiling.js';
import { importSupportSet, supportSetToText } from '../support-set/support-set-file.js';
import { gridPatches, supportProblem } from '../support-set/support-patches.js';
import {
  importQuPathAnnotations,
  type QuPathImportOptions,
  type QuPathImportReport,
} from '../support-set/qupath-import.js';
import type { SupportSetStore } from '../support-set/support-set.js';
import { PoolStateError, type Compute, type PoolSlide } from './compute.js';
import { readGridRgb } from './grid-rgb.js';
import { createPatchPrefill, type PrefillOutcome } from './patch-prefill.js';
import { parseHexColor, type Rgba } from './hex-color.js';
import { createRegionRun, type RegionRun, type RunProgress } from './region-run.js';
import { createResultTiles, type ResultTile, type ResultTiles } from './result-tiles.js';
import type { EnsembleOptions, EnsembleProgress } from '../adaptation/ensemble-options.js';
import { uncertaintyBytes } from '../inference/uncertainty.js';
import { isAbortError } from '../slide/slide-error.js';

/**
 * A few-shot session: what the user builds on one slide with one set of extractors — the
 * support set, the head fitted to it (or loaded), the threshold, the finished result tiles of
 * that head — and what is asked of it: adapt, predict a region, export cells, the mask and the
 * support set, save and load the head. It has no DOM and no viewer (Annotorious v3's
 * createBaseAnnotator, with attachFewShot as its createOSDAnnotator): plugin/attach-fewshot.ts
 * draws its results over OpenSeadragon and feeds it the tiles live prediction computes for the
 * view; in Node it runs as it is, on the real worker pool over in-thread workers.
 *
 * It reports through typed events (core/events/typed-events.ts). Results change only by way of
 * events, so whatever shows them (overlays, a panel, a test) follows by listening.
 */

/** A loaded extractor: its class name and its depth (features it gives the head). */
export interface ExtractorInfo {
  readonly name: string;
  readonly depth: number;
}

export interface SessionOptions {
  readonly compute: Compute;
  readonly slide: PoolSlide;
  /** The slide at the extractors' scale (the compute's inferenceGrid): where patches and tiles live. */
  readonly grid: InferenceGrid;
  /** The extractors loaded in the compute, in order: a loaded head must be fitted on these. */
  readonly extractors: readonly ExtractorInfo[];
  readonly support: SupportSetStore;
  /** Name of the new class (QuPath classification); default 'New class'. */
  readonly className?: string;
  /** Its colour; default '#00e676'. */
  readonly color?: string;
  /** Colour → RGBA bytes, throwing on what is not a colour; default hex colours only (parseHexColor). */
  readonly parseColor?: (color: string) => Rgba;
  /** How tiles are computed (core/inference/tiling.ts); default 'whole'. */
  readonly tiling?: Tiling;
  /** Whether a newly placed patch is pre-filled from the head's prediction (patch-prefill.ts); default true. */
  readonly prefill?: boolean;
  /**
   * The head's ensemble, fitted after each adapt as a follow-up (core/adaptation/head-ensemble.ts):
   * its options (default ENSEMBLE_DEFAULTS), or false for none. Needs a compute with fitEnsemble.
   */
  readonly ensemble?: Partial<EnsembleOptions> | false;
  /** Whether tiles are computed with the ensemble's uncertainty (setUncertainty); default false. */
  readonly uncertainty?: boolean;
}

/** How an ensemble follow-up ended ('ensemble' event). */
export type EnsembleOutcome =
  | { readonly outcome: 'fitted'; readonly ensemble: HeadEnsemble; readonly seconds: number }
  /** Another adapt, a loaded head or cancelEnsemble() came first. */
  | { readonly outcome: 'cancelled' }
  /** The head keeps working without one: its uncertainty comes from its probability alone. */
  | { readonly outcome: 'failed'; readonly error: unknown };

/**
 * 'adapting' while adapt() runs; 'idle' otherwise. ('predicting' is never entered: live
 * prediction and region runs go on beside either state, each with its own state.)
 */
export type SessionState = 'idle' | 'adapting' | 'predicting';

export interface AdaptOutcome {
  readonly head: Head;
  readonly report: AdaptReport;
  /** Wall time of the whole adaptation (reading, fitting, installing the head), seconds. */
  readonly seconds: number;
}

/** Adaptation's progress (its phase, step and loss), or a region run's (tiles, MP/s, ETA). */
export type SessionProgress =
  ({ readonly task: 'adapt' } & AdaptProgress) | ({ readonly task: 'region' } & RunProgress);

/** A cell of a result tile at the current threshold: rings in tile pixels, area in level-0 pixels². */
export interface TileCell {
  readonly rings: readonly Float64Array[];
  readonly area: number;
}

export interface SessionTile {
  readonly tile: ResultTile;
  /** Its cells at the threshold now. */
  readonly cells: readonly TileCell[];
}

/** A tile's cells traced again with its neighbours' margins (SEAM_MARGIN), at `threshold`. */
export interface SessionTileCells extends SessionTile {
  readonly threshold: number;
}

/**
 * Inference-grid pixels of the neighbouring tiles' probabilities that a tile's cells are traced
 * with (core/cells/cell-instances.ts): a cell reaching up to this far past the tile's seam comes
 * out whole, as one cell of one tile. 64 px is 16 µm at the shipped extractors' 0.25 µm/px, more
 * than a nucleus; a 512² tile's window is then at most 640², 1.56× its pixels.
 */
export const SEAM_MARGIN = 64;
/**
 * Seam windows built and sent to the workers per page task: one is a (256 + 2·64)² mosaic of up
 * to 9 tiles; a task of 4 held 30 ms of CPU samples (91 ms wall) at a load of 19 on 2 cores.
 */
const SEAMS_PER_TASK = 4;

/** `session.addEventListener('adapted', (e) => e.detail.head)`: the `detail` of each event. */
export type SessionEvents = {
  /** While adapting and while a region run goes. */
  progress: SessionProgress;
  /** Adaptation finished and its head is installed in every worker: what predicts now is it. */
  adapted: AdaptOutcome;
  /** A head (adapted or loaded) is in every worker; earlier results are dropped, the threshold is the head's. */
  head: Head;
  /** A finished tile joined the results (from live prediction or a region run). */
  tile: SessionTile;
  /**
   * A tile's cells changed because a neighbour joined the results: traced again (in a worker)
   * with the neighbours' margins, so cells crossing the seam between them are whole, each drawn
   * by one of the two tiles. What showed the tile's cells replaces them.
   */
  cells: SessionTileCells;
  /** The threshold changed (not when a head brings its own). */
  threshold: number;
  /** The colour changed. */
  color: string;
  /** The tiling changed: earlier results are dropped (other numbers for the same tiles), region runs stop. */
  tiling: Tiling;
  /** Anything a view of the session shows changed (state, head, results, settings). */
  change: Readonly<Record<string, never>>;
  /** A tile of a region run failed (the run goes on), or tracing a tile's cells again across its seams did. */
  error: { readonly error: unknown; readonly task: 'region' | 'seams' };
  /** A newly placed patch's pre-fill ended: painted from the prediction, dropped (and why), or failed. */
  prefill: PrefillOutcome;
  /** Something was done, but not all of it: a GeoJSON export left out cells or holes (emitted before it returns). */
  warning: SessionWarning;
  /** A member of the head's ensemble was fitted (its own event: 'progress' keeps the types hosts switch on). */
  'ensemble-progress': EnsembleProgress;
  /** The follow-up fit of the head's ensemble ended ('fitted': `ensemble` is set, and saved with the head). */
  ensemble: EnsembleOutcome;
};

/**
 * A GeoJSON export that left out cells (or holes) which became invalid when rounded to its
 * `decimals` (core/cells/rounded-polygon.ts): too small to draw at that precision. `message`
 * says it for a user.
 */
export interface ExportWarning {
  readonly kind: 'export';
  readonly droppedCells: number;
  readonly droppedHoles: number;
  readonly decimals: number;
  readonly message: string;
}

export type SessionWarning = ExportWarning;

/** Options of a GeoJSON export. */
export interface GeoJsonOptions {
  /** Decimal places of the coordinates (level-0 pixels); default 2, as QuPath writes them. */
  readonly decimals?: number;
}

/** A row of cellTable: the CSV's row and the cell's outline, for a view to show it. */
/** A composed class map over a region (Session's classOverlay), as plugin/layers/mask-layer.ts draws it. */
export interface ClassOverlay {
  readonly key: string;
  readonly level0: Rect;
  readonly tile: { readonly width: number; readonly height: number };
  readonly probabilities: Float32Array;
  readonly labels: Uint8Array;
  readonly colors: readonly string[];
}

export interface CellTableRow extends CellRow {
  /** The outer ring, flat [x0, y0, …] in level-0 pixels. */
  readonly outline: Float64Array;
}

/** "3 cells too small to export at this precision (2 decimals) were left out", holes likewise. */
function exportWarningMessage(droppedCells: number, droppedHoles: number, decimals: number): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const what = [
    ...(droppedCells ? [count(droppedCells, 'cell')] : []),
    ...(droppedHoles ? [count(droppedHoles, 'hole')] : []),
  ].join(' and ');
  const precision = `at this precision (${count(decimals, 'decimal')})`;
  return `${what} too small to export ${precision} ${droppedCells + droppedHoles === 1 ? 'was' : 'were'} left out`;
}

/** The finished tiles of the current head, to read. */
export type SessionResults = Pick<ResultTiles, 'size' | 'keys' | 'get' | 'values' | 'bounds' | 'mosaic'>;

export interface Session extends TypedEventTarget<SessionEvents> {
  readonly compute: Compute;
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  readonly support: SupportSetStore;
  readonly extractors: readonly ExtractorInfo[];
  readonly className: string;
  readonly color: string;
  readonly head: Head | undefined;
  /** The compute's key of the installed head: set once a head is in every worker, and nothing predicts before. */
  readonly headKey: string | undefined;
  readonly lastAdapt: AdaptOutcome | undefined;
  readonly state: SessionState;
  readonly threshold: number;
  /** How its tiles are computed: what live prediction and region runs ask the compute for. */
  readonly tiling: Tiling;
  readonly results: SessionResults;
  /**
   * Whether a patch placed while a head is installed is painted from the head's prediction at
   * the threshold, as one undo step (core/session/patch-prefill.ts); 'prefill' says how it ended.
   */
  readonly prefill: boolean;
  /** The patch whose pre-fill is being computed, or null. */
  readonly prefillPending: string | null;
  /** Off drops a pending fill. */
  setPrefill(on: boolean): void;
  /**
   * The head's ensemble (core/adaptation/head-ensemble.ts): loaded with it, or fitted after adapt;
   * saved with it. Undefined until then, and for a head without one.
   */
  readonly ensemble: HeadEnsemble | undefined;
  /** Whether the head's ensemble is being fitted (after adapt; 'ensemble' says how it ended). */
  readonly ensemblePending: boolean;
  /** Stops the ensemble's fit, if one runs: the head stays as it is. */
  cancelEnsemble(): void;
  /**
   * Whether the workers compute each tile's uncertainty from the ensemble (once there is one). Off
   * by default: with the members a whole tile took 30 % longer (bench:ensemble), and installing
   * them (now, or when the ensemble arrives) drops the results, which are computed again with it
   * ('head' is emitted again).
   */
  readonly uncertainty: boolean;
  /** Resolves once the workers have the ensemble (at once when there is none yet, or when off). */
  setUncertainty(on: boolean): Promise<void>;
  /**
   * A result tile's uncertainty, round(255·u) per pixel (core/inference/uncertainty.ts): from the
   * head's ensemble when the worker computed it, else from the binary entropy of its probabilities.
   */
  uncertaintyOf(tile: ResultTile): Uint8Array;
  /**
   * Fits a head to the support set (in a worker) and installs it in every worker; resolves, and
   * sets `lastAdapt`, `state` and emits 'adapted', only then. Rejects with a clear message when
   * the support set cannot be adapted on.
   */
  adapt(options?: { readonly signal?: AbortSignal }): Promise<AdaptOutcome>;
  /**
   * With several classes in the support set (core/support-set/support-classes.ts): one head per
   * class, one-vs-rest, fitted side by side in the workers (class-adapt.ts), kept as `classHeads`
   * (saveClassHeads). They do not predict: the workers take one head (adapt, loadHead); `adapt`
   * refuses a support set of several classes and says so.
   */
  adaptClasses(options?: { readonly signal?: AbortSignal }): Promise<ClassAdaptAnswer>;
  /** The heads the last adaptClasses fitted, in class order; undefined before. */
  readonly classHeads: readonly ClassHead[] | undefined;
  /**
   * The class heads' composition over a level-0 region (default the whole slide) as one mask-layer
   * tile: each pixel's class (composeClasses) in `labels`, its probability, the classes' colours.
   * Each class's map is predicted with its head as the exports' are.
   */
  classOverlay(region?: Rect, options?: { readonly signal?: AbortSignal }): Promise<ClassOverlay | undefined>;
  /** The class heads as the class-heads file (core/adaptation/class-heads.ts). */
  saveClassHeads(): ClassHeadsJson;
  /** A rectangle (level-0 pixels), the whole slide, or its tissue, as a pausable run; its tiles join the results. */
  predictRegion(region: Rect | 'slide' | 'tissue', options?: { readonly signal?: AbortSignal }): Promise<RegionRun>;
  /**
   * A tile computed for the current head elsewhere (live prediction of the view) joins the results.
   * `contours`: its cells as the worker traced them (TileRequest's `contours`), used when traced at
   * the current threshold; otherwise they are traced here, on the caller's thread.
   */
  addResult(tile: ResultTile, contours?: TracedContours): void;
  /**
   * A result tile's cells at the current threshold, traced on the caller's thread with its
   * neighbours' margins (SEAM_MARGIN): touching nuclei split, cells crossing a seam whole in
   * one of the two tiles. Rings in tile pixels, which such a cell leaves.
   */
  cells(tile: ResultTile): TileCell[];
  /**
   * The same cells traced in a worker (the compute's traceContours), off the caller's thread: what
   * a threshold change re-traces with. `threshold` (default the current one) says which.
   */
  traceCells(
    tile: ResultTile,
    options?: { readonly threshold?: number; readonly signal?: AbortSignal },
  ): Promise<TileCell[]>;
  /** Strictly between 0 and 1. */
  setThreshold(threshold: number): void;
  setColor(color: string): void;
  /**
   * 'whole' or 'patches' (core/inference/tiling.ts). As a head change does, it drops the results
   * (computed the other way), and region runs still computing them end 'interrupted'.
   */
  setTiling(tiling: Tiling): void;
  /** Loads a head (JSON text or parsed); refused with a message when it does not fit the extractors. */
  loadHead(json: unknown): Promise<Head>;
  /** The head with the current threshold (and its ensemble, if any), as the JSON a user saves. */
  saveHead(): HeadJson;
  /**
   * Cells of every finished tile in the region (level-0 rectangle; default all) as QuPath GeoJSON.
   * Cells or holes that rounding to `decimals` made invalid are left out, and a 'warning' event
   * (ExportWarning) counts them before this returns.
   */
  exportGeoJson(region?: Rect, options?: GeoJsonOptions): CellFeatureCollection;
  /**
   * exportGeoJson with every measurement of cellTable in each feature's: also the stain ODs, which
   * need the slide's pixels (read through the compute when it can). After an adaptClasses of
   * several classes (until the next adapt or loadHead), this, exportGeoJsonGz, cellTable and
   * exportCellsCsv are of every class: each class's map predicted with its head over the region
   * (default the whole slide; the workers' head is swapped meanwhile, so live tiles wait), composed
   * (core/cells/class-composition.ts), each feature and row of its class. exportGeoJson stays the head's.
   */
  exportMeasuredGeoJson(
    region?: Rect,
    options?: GeoJsonOptions & { readonly signal?: AbortSignal },
  ): Promise<CellFeatureCollection>;
  /** exportMeasuredGeoJson as gzip (a `.geojson.gz`, which QuPath opens as it opens `.geojson`). */
  exportGeoJsonGz(region?: Rect, options?: GeoJsonOptions & { readonly signal?: AbortSignal }): Promise<Blob>;
  /**
   * The cells of every finished tile in the region (default all), one row each: id, class and
   * measurements (core/cells/cell-measurements.ts: area, perimeter, circularity, eccentricity,
   * solidity, centroid, mean probability, and mean haematoxylin and eosin OD when the compute can
   * read the slide's pixels), in µm where the slide's scale is known.
   */
  cellTable(region?: Rect, options?: { readonly signal?: AbortSignal }): Promise<CellTableRow[]>;
  /** cellTable as CSV (core/cells/cell-csv.ts). */
  exportCellsCsv(region?: Rect, options?: { readonly signal?: AbortSignal }): Promise<string>;
  /** The thresholded mask of the region (default: all finished tiles) as PNG, at the inference resolution. */
  exportMaskPng(region?: Rect): Promise<Blob>;
  exportSupportSet(): string;
  /** Replaces the support set by a file's (one undo step); a malformed file is refused and changes nothing. */
  importSupportSet(text: string): number;
  /**
   * Paints the support patches from a QuPath GeoJSON file's objects (its text, its parsed JSON, or
   * parseQuPathGeoJson's result), as one undo step: inside `className`'s polygons class, inside
   * the other classes' background (core/support-set/qupath-import.ts). A malformed file or an
   * unknown class is refused with a QuPathImportError and changes nothing.
   */
  importQuPathAnnotations(input: unknown, options: QuPathImportOptions): QuPathImportReport;
  /**
   * Where to annotate next (issue 14; core/active/view-proposals.ts): 256² windows of the finished
   * tiles inside the level-0 region (default: all of them), best first, none mostly on a placed
   * patch, each with its level-0 corner for support.addPatch. `uncertainty` is the uncertainty
   * layer's map of a tile (binary entropy of p without one).
   */
  proposePatches(region?: Rect, options?: PatchProposalOptions): PatchProposal[];
  /**
   * proposePatches once the features' descriptors of its candidate windows and of the placed
   * patches are known (computed by the compute, one forward per finished tile and per patch,
   * and kept: they do not depend on the head): the ranking with its diversity term, as the
   * selection simulation ranks. proposePatches uses what is known already.
   */
  describeProposals(
    region?: Rect,
    options?: PatchProposalOptions & { readonly signal?: AbortSignal },
  ): Promise<PatchProposal[]>;
}

export interface PatchProposalOptions {
  readonly uncertainty?: ViewProposalOptions['uncertainty'];
  readonly descriptor?: ViewProposalOptions['descriptor'];
  readonly limit?: number;
}

/** A proposed window: its ranking (inference-grid x, y) and its rectangle in level-0 pixels. */
export interface PatchProposal extends RankedWindow {
  readonly level0: Rect;
}

/** Why adapt() refuses a support set of several classes. */
export const SEVERAL_CLASSES_MESSAGE =
  'the support set has several classes: adaptClasses fits a head per class; the live overlay predicts one class';

export function createSession(options: SessionOptions): Session {
  const { compute, slide, grid, extractors, support } = options;
  const className = options.className ?? 'New class';
  const parseColor = options.parseColor ?? parseHexColor;
  let color = options.color ?? '#00e676';
  parseColor(color);
  let head: Head | undefined;
  let headKey: string | undefined;
  let lastAdapt: AdaptOutcome | undefined;
  let classHeads: readonly ClassHead[] | undefined;
  let state: SessionState = 'idle';
  let threshold = 0.5;
  /** The ensemble follow-up running, if any. */
  let ensembleRun: AbortController | undefined;
  /** The head's ensemble, and whether the workers' head has its members. */
  let ensemble: HeadEnsemble | undefined;
  let membersInstalled = false;
  let uncertaintyOn = options.uncertainty ?? false;
  let tiling = checkTiling(options.tiling ?? DEFAULT_TILING);
  // Aborted when the tiling changes: the region runs computing the old one stop.
  let tilingRuns = new AbortController();
  const results = createResultTiles();
  const events = new Emitter<SessionEvents>();
  const changed = () => events.emit('change', {});
  const prefill = createPatchPrefill({
    compute,
    slide,
    grid,
    support,
    headKey: () => headKey,
    threshold: () => threshold,
    tiling: () => tiling,
    enabled: options.prefill,
    onOutcome: (outcome) => events.emit('prefill', outcome),
    onPending: changed,
  });

  /** Areas from map pixels to level-0 pixels², rings moved by (dx, dy) map pixels (window to tile). */
  const toTileCells = (found: readonly TracedCell[], dx = 0, dy = 0): TileCell[] =>
    found.map((c) => ({
      rings: dx === 0 && dy === 0 ? c.rings : c.rings.map((ring) => ring.map((v, i) => v + (i % 2 === 0 ? dx : dy))),
      area: c.area * grid.scaleX * grid.scaleY,
    }));

  /** The tile and SEAM_MARGIN of its neighbours' probabilities around it (NaN where none is computed). */
  const seamWindow = (tile: ResultTile) => {
    const t = tile.tile;
    const x0 = Math.max(0, t.x - SEAM_MARGIN);
    const y0 = Math.max(0, t.y - SEAM_MARGIN);
    const x1 = Math.min(grid.width, t.x + t.width + SEAM_MARGIN);
    const y1 = Math.min(grid.height, t.y + t.height + SEAM_MARGIN);
    const width = x1 - x0;
    const probabilities = results.mosaic({ x: x0, y: y0, width, height: y1 - y0 }, NaN)!.probabilities;
    // The tile's own numbers, whether or not it is among the results.
    for (let y = 0; y < t.height; y++)
      probabilities.set(tile.probabilities.subarray(y * t.width, (y + 1) * t.width), (t.y - y0 + y) * width + t.x - x0);
    const seams: TraceWindow = {
      owned: { x: t.x - x0, y: t.y - y0, width: t.width, height: t.height },
      openEdges: { left: x0 > 0, top: y0 > 0, right: x1 < grid.width, bottom: y1 < grid.height },
    };
    return { probabilities, width, height: y1 - y0, window: seams, dx: x0 - t.x, dy: y0 - t.y };
  };

  const cells = (tile: ResultTile): TileCell[] => {
    const w = seamWindow(tile);
    return toTileCells(traceContours(w.probabilities, w.width, w.height, threshold, w.window).cells, w.dx, w.dy);
  };

  const traceInWorker = async (tile: ResultTile, at: number, signal?: AbortSignal) => {
    const { dx, dy, ...map } = seamWindow(tile);
    // The window is made for this request: moved to the worker, not copied.
    const traced = await compute.traceContours({ ...map, threshold: at, signal, transfer: true });
    return toTileCells(traced.cells, dx, dy);
  };

  // Tiles whose cells are being traced again across a seam, each with its request's controller.
  const reseaming = new Map<string, AbortController>();
  const stopReseaming = () => {
    for (const c of reseaming.values()) c.abort(new DOMException('the results changed', 'AbortError'));
    reseaming.clear();
    seamsDue.clear();
  };
  // Tiles to trace again across their seams, gathered over the tiles that arrive in one task (a
  // block's tiles come together) and then traced SEAMS_PER_TASK per task: traced at each arrival,
  // a tile and its neighbours were traced again per neighbour arriving (23 windows for the 8 tiles
  // of a 4×2 block instead of 8), all in the task that delivered the block (bench:view's trace of
  // three full-HD fills: tasks of 260–960 ms, 3.5 s in all, building, copying and aborting windows).
  const seamsDue = new Map<string, ResultTile>();
  let seamsScheduled = false;
  const traceDueSeams = () => {
    seamsScheduled = false;
    let n = 0;
    for (const [key, tile] of seamsDue) {
      if (n++ === SEAMS_PER_TASK) {
        seamsScheduled = true;
        setTimeout(traceDueSeams, 0);
        return;
      }
      seamsDue.delete(key);
      if (results.get(key) === tile) reseam(tile);
    }
  };
  const dueForSeams = (tile: ResultTile) => {
    seamsDue.set(tile.key, tile);
    if (seamsScheduled) return;
    seamsScheduled = true;
    setTimeout(traceDueSeams, 0);
  };
  const reseam = (tile: ResultTile) => {
    reseaming.get(tile.key)?.abort(new DOMException('traced again', 'AbortError'));
    const controller = new AbortController();
    reseaming.set(tile.key, controller);
    const at = threshold;
    traceInWorker(tile, at, controller.signal).then(
      (found) => {
        if (reseaming.get(tile.key) === controller) reseaming.delete(tile.key);
        if (controller.signal.aborted || results.get(tile.key) !== tile || at !== threshold) return;
        events.emit('cells', { tile, cells: found, threshold: at });
      },
      (error: unknown) => {
        if (reseaming.get(tile.key) === controller) reseaming.delete(tile.key);
        // Stopped (results dropped, a newer trace) or a pool shutting down: nothing to tell.
        if (controller.signal.aborted || error instanceof PoolStateError) return;
        events.emit('error', { error, task: 'seams' });
      },
    );
  };

  /** The results whose windows reach into `tile` (its neighbours within SEAM_MARGIN), without it. */
  const neighbours = (tile: ResultTile): ResultTile[] => {
    const t = tile.tile;
    const out: ResultTile[] = [];
    for (const other of results.values()) {
      const o = other.tile;
      if (other.key === tile.key) continue;
      if (
        o.x < t.x + t.width + SEAM_MARGIN &&
        t.x < o.x + o.width + SEAM_MARGIN &&
        o.y < t.y + t.height + SEAM_MARGIN &&
        t.y < o.y + o.height + SEAM_MARGIN
      )
        out.push(other);
    }
    return out;
  };

  const addResult = (tile: ResultTile, contours?: TracedContours) => {
    results.add(tile);
    const around = neighbours(tile);
    // The worker traced the tile alone (every seam unknown); with neighbours known, it and they
    // are traced again across their seams in the workers ('cells'), never on the page's thread.
    // One traced at an older threshold (the slider moved while it computed) is traced here.
    const traced = contours !== undefined && contours.threshold === threshold;
    events.emit('tile', { tile, cells: traced ? toTileCells(contours.cells) : cells(tile) });
    if (traced && around.length > 0) dueForSeams(tile);
    for (const other of around) dueForSeams(other);
    changed();
  };

  /** What the session's region runs and live prediction ask with each tile. */
  const contourRequest = () => ({ threshold });

  /** Resolves once every worker has the head: only then is it the session's. */
  const install = async (next: Head, members?: HeadEnsemble['members']) => {
    const key = await compute.setHead({ W: next.W, b: next.b, ...(members ? { members } : {}) });
    membersInstalled = members !== undefined;
    prefill.drop('model');
    head = next;
    headKey = key;
    threshold = next.threshold;
    stopReseaming();
    results.clear();
    events.emit('head', next);
  };

  /** Window descriptors known so far (core/active/region-descriptors.ts), by inference-grid rectangle. */
  const descriptors = new Map<string, Float32Array>();
  const rectKey = (r: Rect) => `${r.x},${r.y},${r.width},${r.height}`;
  const proposalInputs = (region: Rect | undefined) => {
    const area = region ? level0ToGrid(grid, region) : results.bounds();
    const size = support.patchSize;
    const placed = support.patches.map((p) => ({
      x: Math.round(p.x / grid.scaleX),
      y: Math.round(p.y / grid.scaleY),
      width: size,
      height: size,
    }));
    return { area, placed, size };
  };

  // The ensemble's uncertainty where the workers computed it (uncertainty on), else H₂(p).
  const tileUncertainty = (t: ResultTile) => t.uncertainty && Float32Array.from(t.uncertainty, (v) => v / 255);

  const proposePatches = (region?: Rect, options: PatchProposalOptions = {}): PatchProposal[] => {
    const { area, placed, size } = proposalInputs(region);
    if (!area) return [];
    const descriptor = (w: Rect) => descriptors.get(rectKey(w));
    return proposeWindows({
      tiles: results.values(),
      area,
      placed,
      size,
      descriptor,
      uncertainty: tileUncertainty,
      ...options,
    }).map((r) => ({
      ...r,
      level0: gridToLevel0(grid, { x: r.window.x, y: r.window.y, width: size, height: size }),
    }));
  };

  const describeProposals = async (
    region?: Rect,
    options: PatchProposalOptions & { readonly signal?: AbortSignal } = {},
  ): Promise<PatchProposal[]> => {
    const { area, placed, size } = proposalInputs(region);
    if (!area) return [];
    const { signal, ...rest } = options;
    const byTile = new Map<string, DescriptorRegion & { windows: Rect[] }>();
    for (const c of viewCandidates({
      tiles: results.values(),
      area,
      placed,
      size,
      uncertainty: rest.uncertainty ?? tileUncertainty,
    })) {
      const w = { x: c.window.x, y: c.window.y, width: size, height: size };
      if (descriptors.has(rectKey(w))) continue;
      const k = rectKey(c.tile);
      if (!byTile.has(k)) byTile.set(k, { region: c.tile, windows: [] });
      byTile.get(k)!.windows.push(w);
    }
    // A placed patch is its own region, its corner brought down to the descriptors' sample grid.
    const regions: DescriptorRegion[] = [...byTile.values()];
    for (const p of placed) {
      if (descriptors.has(rectKey(p))) continue;
      const dx = p.x % DESCRIPTOR_STEP;
      const dy = p.y % DESCRIPTOR_STEP;
      regions.push({ region: { x: p.x - dx, y: p.y - dy, width: p.width + dx, height: p.height + dy }, windows: [p] });
    }
    if (regions.length > 0) {
      const computed = await compute.windowDescriptors({ slide, grid, regions, signal });
      regions.forEach((r, i) => r.windows.forEach((w, j) => descriptors.set(rectKey(w), computed[i][j])));
    }
    signal?.throwIfAborted();
    return proposePatches(region, rest);
  };

  /** The current head again, with its ensemble's members: the tiles from now on carry its uncertainty. */
  const installMembers = async () => {
    const base = head;
    if (!base || !ensemble || membersInstalled || !uncertaintyOn) return;
    const members = ensemble.members;
    const key = await compute.setHead({ W: base.W, b: base.b, members });
    // Another head came meanwhile: it is what the workers have now.
    if (head !== base || ensemble?.members !== members) return;
    membersInstalled = true;
    prefill.drop('model');
    headKey = key;
    results.clear();
    events.emit('head', base);
    changed();
  };

  const cancelEnsemble = () => {
    ensembleRun?.abort(new DOMException('the ensemble was cancelled', 'AbortError'));
    ensembleRun = undefined;
  };

  /**
   * After an adapt: the head's ensemble fitted by the worker that fitted the head, and, when
   * uncertainty is on, installed with it. Not awaited by adapt.
   */
  const fitEnsemble = async (base: Head) => {
    const ensembleOptions = options.ensemble;
    if (ensembleOptions === false || !compute.fitEnsemble) return;
    cancelEnsemble();
    const controller = new AbortController();
    ensembleRun = controller;
    changed();
    const started = performance.now();
    let outcome: EnsembleOutcome;
    try {
      const fitted = await compute.fitEnsemble(base, ensembleOptions ?? {}, {
        signal: controller.signal,
        onProgress: (progress) => events.emit('ensemble-progress', progress),
      });
      controller.signal.throwIfAborted();
      if (head !== base) throw new DOMException('another head came first', 'AbortError');
      ensemble = fitted;
      outcome = { outcome: 'fitted', ensemble: fitted, seconds: (performance.now() - started) / 1000 };
    } catch (error) {
      outcome =
        isAbortError(error) || controller.signal.aborted ? { outcome: 'cancelled' } : { outcome: 'failed', error };
    }
    if (ensembleRun === controller) ensembleRun = undefined;
    events.emit('ensemble', outcome);
    changed();
    if (outcome.outcome === 'fitted') await installMembers();
  };

  /** The finished tiles over a level-0 region (default: all of them) as one map. */
  const mosaicOf = (region?: Rect) => {
    const rect = region ? level0ToGrid(grid, region) : results.bounds();
    if (region && !rect) throw new RangeError('the region does not overlap the slide');
    return rect && results.mosaic(rect);
  };

  /** A mosaic's cells as instances, where it lies on the slide, and the slide's µm/px when known. */
  const measuredRegion = (mosaic: { rect: Rect; probabilities: Float32Array }, at = threshold) => {
    const instances = cellInstances(mosaic.probabilities, mosaic.rect.width, mosaic.rect.height, { threshold: at });
    const origin = gridToLevel0(grid, mosaic.rect);
    return {
      instances,
      placement: maskPlacement(origin.x, origin.y, grid.scaleX, grid.scaleY),
      mpp: grid.mppSource !== 'assumed' ? grid.slideMpp : undefined,
    };
  };

  /** The region's cells measured, the stain ODs too when the compute can read the slide's pixels. */
  const measuredCells = async (region: Rect | undefined, signal: AbortSignal | undefined) => {
    const mosaic = mosaicOf(region);
    if (!mosaic) return undefined;
    const at = threshold;
    const rgb = compute.readRegion
      ? await readGridRgb(compute.readRegion.bind(compute), slide, grid, mosaic.rect, signal)
      : undefined;
    const measured = measuredRegion(mosaic, at);
    const { instances, placement, mpp } = measured;
    return {
      ...measured,
      measures: measureCells(instances, { placement, mpp, probabilities: mosaic.probabilities, rgb }),
    };
  };

  /** Whether the exports are of the class heads (several classes: adaptClasses was the last fit). */
  const ofClasses = () => classHeads !== undefined && classHeads.length > 1;

  /**
   * Every class's cells over the region (default the whole slide), measured: each class's map
   * computed with its head (class-probabilities.ts), composed, cut per class (class-composition.ts).
   * The workers get the session's own head back afterwards.
   */
  const predictClasses = async (region: Rect | undefined, signal: AbortSignal | undefined) => {
    const heads = classHeads!;
    const area = region ?? { x: 0, y: 0, width: grid.width * grid.scaleX, height: grid.height * grid.scaleY };
    let maps;
    try {
      maps = await classProbabilities(compute, {
        slide,
        grid,
        heads: heads.map((c) => c.head),
        region: area,
        tiling,
        signal,
      });
    } finally {
      if (head)
        await compute.setHead({ W: head.W, b: head.b, ...(membersInstalled ? { members: ensemble!.members } : {}) });
    }
    return maps;
  };

  const measuredClassCells = async (region: Rect | undefined, signal: AbortSignal | undefined) => {
    const heads = classHeads!;
    const maps = await predictClasses(region, signal);
    if (!maps) return undefined;
    const { rect, probabilities } = maps;
    const rgb = compute.readRegion
      ? await readGridRgb(compute.readRegion.bind(compute), slide, grid, rect, signal)
      : undefined;
    const origin = gridToLevel0(grid, rect);
    const placement = maskPlacement(origin.x, origin.y, grid.scaleX, grid.scaleY);
    const mpp = grid.mppSource !== 'assumed' ? grid.slideMpp : undefined;
    const classes = heads.map((c, k) => {
      const [r, g, b] = parseColor(c.color);
      return { name: c.name, color: [r, g, b] as const, threshold: c.head.threshold, probabilities: probabilities[k] };
    });
    const cells = measureClassCells(classes, rect.width, rect.height, { placement, mpp, rgb });
    return { cells, placement, mpp };
  };

  const classTable = async (region: Rect | undefined, signal: AbortSignal | undefined): Promise<CellTableRow[]> => {
    const measured = await measuredClassCells(region, signal);
    if (!measured) return [];
    const { cells, placement, mpp } = measured;
    const outlines = cells.flatMap((c) => c.instances.cells.map((cell) => toLevel0(placement, cell.rings[0])));
    return classCellRows(cells, mpp !== undefined).map((row, k) => ({ ...row, outline: outlines[k] }));
  };

  const cellTable = async (
    region?: Rect,
    tableOptions: { readonly signal?: AbortSignal } = {},
  ): Promise<CellTableRow[]> => {
    if (ofClasses()) return classTable(region, tableOptions.signal);
    const measured = await measuredCells(region, tableOptions.signal);
    if (!measured) return [];
    const { instances, placement, mpp, measures } = measured;
    return measures.map((m, k) => ({
      id: String(k + 1),
      className,
      measurements: measurementRecord(m, mpp !== undefined),
      outline: toLevel0(placement, instances.cells[k].rings[0]),
    }));
  };

  const warnDropped = (droppedCells: number, droppedHoles: number, decimals: number) => {
    if (droppedCells || droppedHoles) {
      const message = exportWarningMessage(droppedCells, droppedHoles, decimals);
      events.emit('warning', { kind: 'export', droppedCells, droppedHoles, decimals, message });
    }
  };

  /** The GeoJSON of measured cells, warning when rounding left some out. */
  const geoJsonOf = (
    { instances, placement, mpp, measures }: ReturnType<typeof measuredRegion> & { measures: CellMeasures[] },
    decimals: number,
  ): CellFeatureCollection => {
    const rgb = parseColor(color);
    const { collection, droppedCells, droppedHoles } = cellsToGeoJsonReport(instances.cells, {
      placement,
      classification: { name: className, color: [rgb[0], rgb[1], rgb[2]] },
      mpp,
      measures,
      decimals,
    });
    warnDropped(droppedCells, droppedHoles, decimals);
    return collection;
  };

  /** Every class's cells as one GeoJSON (each feature its class's classification), warning as geoJsonOf. */
  const classGeoJson = async (region: Rect | undefined, decimals: number, signal: AbortSignal | undefined) => {
    const measured = await measuredClassCells(region, signal);
    if (!measured) return noCells();
    const { cells, placement, mpp } = measured;
    const { collection, droppedCells, droppedHoles } = classCellsToGeoJson(cells, { placement, mpp, decimals });
    warnDropped(droppedCells, droppedHoles, decimals);
    return collection;
  };
  const noCells = (): CellFeatureCollection => ({ type: 'FeatureCollection', features: [] }) as CellFeatureCollection;

  return withEvents(events, {
    compute,
    slide,
    grid,
    support,
    extractors,
    className,
    get color() {
      return color;
    },
    get head() {
      return head;
    },
    get headKey() {
      return headKey;
    },
    get lastAdapt() {
      return lastAdapt;
    },
    get state() {
      return state;
    },
    get threshold() {
      return threshold;
    },
    get tiling() {
      return tiling;
    },
    results,
    proposePatches,
    describeProposals,
    get prefill() {
      return prefill.enabled;
    },
    get prefillPending() {
      return prefill.pending;
    },
    setPrefill(on: boolean) {
      if (on === prefill.enabled) return;
      prefill.setEnabled(on);
      changed();
    },
    get ensemble() {
      return ensemble;
    },
    get ensemblePending() {
      return ensembleRun !== undefined;
    },
    cancelEnsemble,
    get uncertainty() {
      return uncertaintyOn;
    },
    async setUncertainty(on: boolean) {
      if (on === uncertaintyOn) return;
      uncertaintyOn = on;
      changed();
      await installMembers();
    },
    uncertaintyOf: (tile: ResultTile) => uncertaintyBytes(tile.probabilities, tile.uncertainty),

    async adapt(adaptOptions: { readonly signal?: AbortSignal } = {}) {
      if (state === 'adapting') throw new Error('an adaptation is already running');
      const set = support.state();
      const problem = supportProblem(set);
      if (problem) throw new Error(problem);
      if (support.classes.length > 1) throw new Error(SEVERAL_CLASSES_MESSAGE);
      const patches = gridPatches(set, grid);
      cancelEnsemble();
      state = 'adapting';
      changed();
      const started = performance.now();
      try {
        const result = await compute.adapt(
          { slide, grid, patches, metadata: { className, color, shots: patches.length, slide: slide.info.name } },
          {
            signal: adaptOptions.signal,
            onProgress: (progress) => events.emit('progress', { task: 'adapt', ...progress }),
          },
        );
        const next = parseHead(result.head);
        ensemble = undefined;
        // The exports are this head's from now on, not an earlier adaptClasses'.
        classHeads = undefined;
        // The outcome is published only with the head in every worker: whoever waits for it
        // (lastAdapt, state, 'adapted') may predict at once.
        await install(next);
        lastAdapt = { head: next, report: result.report, seconds: (performance.now() - started) / 1000 };
        state = 'idle';
        changed();
        // Started first, so that whoever hears 'adapted' finds the ensemble pending.
        void fitEnsemble(next);
        events.emit('adapted', lastAdapt);
        return lastAdapt;
      } catch (err) {
        state = 'idle';
        changed();
        throw err;
      }
    },

    async predictRegion(region: Rect | 'slide' | 'tissue', runOptions: { readonly signal?: AbortSignal } = {}) {
      if (!headKey) throw new Error('adapt (or load a head) before predicting');
      const tissue = region === 'tissue' ? await compute.tissueMask(slide, { signal: runOptions.signal }) : undefined;
      const tiles = planRegion({
        grid,
        ...(typeof region === 'object' ? { region } : {}),
        ...(tissue ? { tissue } : {}),
        // Two rows at a time: the pool's blocks of 'whole' tiles are 3×2 (core/inference/tile-block.ts).
        ...(tiling === 'whole' ? { bandRows: 2 } : {}),
      });
      const runTiling = tiling;
      const stale = tilingRuns.signal;
      // The run's tiles are dropped once the tiling changes, as the pool drops a replaced head's:
      // the run ends 'interrupted' and keeps no worker busy with numbers nobody shows.
      const predictor = {
        get size() {
          return compute.size;
        },
        blockTiles: (t?: Tiling) => compute.blockTiles?.(t) ?? 1,
        predictTile: (r: Parameters<Compute['predictTile']>[0]) =>
          compute.predictTile({
            ...r,
            signal: r.signal ? AbortSignal.any([r.signal, stale]) : stale,
            contours: contourRequest(),
          }),
      };
      const run = createRegionRun(predictor, {
        slide,
        grid,
        tiles,
        tiling: runTiling,
        completed: results.keys,
        signal: runOptions.signal,
      });
      run.addEventListener('tile', ({ detail: t }) => {
        // Delivered after the tiling changed (settled just before): not this session's results now.
        if (runTiling !== tiling) return;
        // A tile from the cache that live prediction already delivered is not shown twice.
        if (t.cached && results.keys.has(t.key)) return;
        addResult(
          {
            key: t.key,
            tile: t.tile,
            level0: t.level0,
            megapixels: t.megapixels,
            probabilities: t.probabilities,
            ...(t.uncertainty ? { uncertainty: t.uncertainty } : {}),
          },
          t.contours,
        );
      });
      run.addEventListener('progress', (e) => events.emit('progress', { task: 'region', ...e.detail }));
      run.addEventListener('failure', (e) => events.emit('error', { error: e.detail.error, task: 'region' }));
      return run;
    },

    addResult,
    cells,

    async traceCells(
      tile: ResultTile,
      traceOptions: { readonly threshold?: number; readonly signal?: AbortSignal } = {},
    ) {
      return traceInWorker(tile, traceOptions.threshold ?? threshold, traceOptions.signal);
    },

    setThreshold(next: number) {
      if (!(next > 0 && next < 1)) throw new RangeError(`threshold ${next} must be strictly between 0 and 1`);
      threshold = next;
      // Whoever shows the cells traces them again at the new threshold (traceCells).
      stopReseaming();
      events.emit('threshold', next);
      changed();
    },

    setColor(next: string) {
      parseColor(next);
      color = next;
      events.emit('color', next);
      changed();
    },

    setTiling(next: Tiling) {
      checkTiling(next);
      if (next === tiling) return;
      tiling = next;
      prefill.drop('model');
      tilingRuns.abort(new DOMException('the tiling changed', 'AbortError'));
      tilingRuns = new AbortController();
      stopReseaming();
      results.clear();
      events.emit('tiling', next);
      changed();
    },

    async loadHead(json: unknown) {
      const next = parseHead(json);
      checkHeadExtractors(next.metadata.extractors, extractors);
      cancelEnsemble();
      classHeads = undefined;
      ensemble = next.ensemble;
      await install(next, uncertaintyOn ? ensemble?.members : undefined);
      changed();
      return next;
    },

    async adaptClasses(adaptOptions: { readonly signal?: AbortSignal } = {}) {
      if (state === 'adapting') throw new Error('an adaptation is already running');
      const set = support.state();
      const problem = supportProblem(set);
      if (problem) throw new Error(problem);
      const patches = gridPatches(set, grid);
      state = 'adapting';
      changed();
      try {
        const answer = await adaptClasses(
          compute,
          {
            slide,
            grid,
            patches,
            classes: support.classes,
            metadata: { shots: patches.length, slide: slide.info.name },
          },
          {
            signal: adaptOptions.signal,
            onProgress: (_, progress) => events.emit('progress', { task: 'adapt', ...progress }),
          },
        );
        classHeads = answer.classes;
        return answer;
      } finally {
        state = 'idle';
        changed();
      }
    },

    get classHeads() {
      return classHeads;
    },

    async classOverlay(region?: Rect, overlayOptions: { readonly signal?: AbortSignal } = {}) {
      if (!classHeads) throw new Error('there are no class heads yet: adaptClasses first');
      const heads = classHeads;
      const maps = await predictClasses(region, overlayOptions.signal);
      if (!maps) return undefined;
      const { rect, probabilities } = maps;
      const labels = composeClasses(
        probabilities,
        heads.map((c) => c.head.threshold),
      );
      return {
        key: `classes:${rect.x},${rect.y},${rect.width},${rect.height}`,
        level0: gridToLevel0(grid, rect),
        tile: { width: rect.width, height: rect.height },
        probabilities: Float32Array.from(labels, (k, i) => (k === 0 ? 0 : probabilities[k - 1][i])),
        labels,
        colors: heads.map((c) => c.color),
      };
    },

    saveClassHeads() {
      if (!classHeads) throw new Error('there are no class heads yet: adaptClasses first');
      return serializeClassHeads(classHeads);
    },

    saveHead() {
      if (!head) throw new Error('there is no head yet: adapt first');
      return serializeHead({ ...head, threshold, ...(ensemble ? { ensemble } : {}) });
    },

    exportGeoJson(region?: Rect, exportOptions: GeoJsonOptions = {}) {
      const mosaic = mosaicOf(region);
      if (!mosaic) return noCells();
      const measured = measuredRegion(mosaic);
      const { instances, placement, mpp } = measured;
      const measures = measureCells(instances, { placement, mpp, probabilities: mosaic.probabilities });
      return geoJsonOf({ ...measured, measures }, exportOptions.decimals ?? 2);
    },

    async exportMeasuredGeoJson(region?: Rect, exportOptions: GeoJsonOptions & { signal?: AbortSignal } = {}) {
      if (ofClasses()) return classGeoJson(region, exportOptions.decimals ?? 2, exportOptions.signal);
      const measured = await measuredCells(region, exportOptions.signal);
      return measured ? geoJsonOf(measured, exportOptions.decimals ?? 2) : noCells();
    },

    async exportGeoJsonGz(region?: Rect, exportOptions?: GeoJsonOptions & { signal?: AbortSignal }) {
      const bytes = await gzip(JSON.stringify(await this.exportMeasuredGeoJson(region, exportOptions)));
      return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/gzip' });
    },

    cellTable,

    async exportCellsCsv(region?: Rect, csvOptions?: { readonly signal?: AbortSignal }) {
      return cellsToCsv(await cellTable(region, csvOptions));
    },

    async exportMaskPng(region?: Rect) {
      const mosaic = mosaicOf(region);
      if (!mosaic) throw new Error('nothing has been predicted yet');
      const mask = new Uint8Array(mosaic.probabilities.length);
      for (let i = 0; i < mask.length; i++) mask[i] = mosaic.probabilities[i] > threshold ? 255 : 0;
      const png = await encodePng(mask, mosaic.rect.width, mosaic.rect.height, 1);
      return new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' });
    },

    exportSupportSet() {
      return supportSetToText(support.state());
    },

    importSupportSet(text: string) {
      return importSupportSet(support, text);
    },

    importQuPathAnnotations(input: unknown, importOptions: QuPathImportOptions) {
      return importQuPathAnnotations(support, input, importOptions);
    },
  });
}
