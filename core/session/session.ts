import type { AdaptProgress, AdaptReport } from '../adaptation/adapt.js';
import {
  checkHeadExtractors,
  parseHead,
  serializeHead,
  type Head,
  type HeadEnsemble,
  type HeadJson,
} from '../adaptation/head.js';
import { cellContours } from '../cells/cell-contours.js';
import type { TracedContours } from '../cells/traced-contours.js';
import { cellsToGeoJsonReport, type CellFeatureCollection } from '../cells/geojson-export.js';
import { maskPlacement } from '../cells/mask-placement.js';
import { gzip } from '../cells/gzip.js';
import { encodePng } from '../cells/png-encode.js';
import { withEvents } from '../events/event-handle.js';
import { Emitter, type TypedEventTarget } from '../events/typed-events.js';
import { gridToLevel0, level0ToGrid, type InferenceGrid } from '../inference/inference-grid.js';
import type { RankedWindow } from '../active/rank-windows.js';
import { proposeWindows, type ViewProposalOptions } from '../active/view-proposals.js';
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
import type { Compute, PoolSlide } from './compute.js';
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
  /** The threshold changed (not when a head brings its own). */
  threshold: number;
  /** The colour changed. */
  color: string;
  /** The tiling changed: earlier results are dropped (other numbers for the same tiles), region runs stop. */
  tiling: Tiling;
  /** Anything a view of the session shows changed (state, head, results, settings). */
  change: Readonly<Record<string, never>>;
  /** A tile of a region run failed (the run goes on). */
  error: { readonly error: unknown; readonly task: 'region' };
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
  /** A rectangle (level-0 pixels), the whole slide, or its tissue, as a pausable run; its tiles join the results. */
  predictRegion(region: Rect | 'slide' | 'tissue', options?: { readonly signal?: AbortSignal }): Promise<RegionRun>;
  /**
   * A tile computed for the current head elsewhere (live prediction of the view) joins the results.
   * `contours`: its cells as the worker traced them (TileRequest's `contours`), used when traced at
   * the current threshold; otherwise they are traced here, on the caller's thread.
   */
  addResult(tile: ResultTile, contours?: TracedContours): void;
  /** A result tile's cells at the current threshold, traced on the caller's thread. */
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
  /** The same as gzip (a `.geojson.gz`, which QuPath opens as it opens `.geojson`). */
  exportGeoJsonGz(region?: Rect, options?: GeoJsonOptions): Promise<Blob>;
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

export function createSession(options: SessionOptions): Session {
  const { compute, slide, grid, extractors, support } = options;
  const className = options.className ?? 'New class';
  const parseColor = options.parseColor ?? parseHexColor;
  let color = options.color ?? '#00e676';
  parseColor(color);
  let head: Head | undefined;
  let headKey: string | undefined;
  let lastAdapt: AdaptOutcome | undefined;
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

  /** Areas from map pixels to level-0 pixels². */
  const toTileCells = (found: readonly { rings: readonly Float64Array[]; area: number }[]): TileCell[] =>
    found.map((c) => ({ rings: c.rings, area: c.area * grid.scaleX * grid.scaleY }));

  const cells = (tile: ResultTile): TileCell[] =>
    toTileCells(cellContours(tile.probabilities, tile.tile.width, tile.tile.height, { threshold }));

  const addResult = (tile: ResultTile, contours?: TracedContours) => {
    results.add(tile);
    // The worker's tracing is the same cellContours call; one traced at an older threshold (the
    // slider moved while the tile computed) is traced again here.
    const found = contours && contours.threshold === threshold ? toTileCells(contours.cells) : cells(tile);
    events.emit('tile', { tile, cells: found });
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
    results.clear();
    events.emit('head', next);
  };

  const proposePatches = (region?: Rect, options: PatchProposalOptions = {}): PatchProposal[] => {
    const area = region ? level0ToGrid(grid, region) : results.bounds();
    if (!area) return [];
    const size = support.patchSize;
    const placed = support.patches.map((p) => ({
      x: Math.round(p.x / grid.scaleX),
      y: Math.round(p.y / grid.scaleY),
      width: size,
      height: size,
    }));
    // The ensemble's uncertainty where the workers computed it (uncertainty on), else H₂(p).
    const uncertainty = (t: ResultTile) => t.uncertainty && Float32Array.from(t.uncertainty, (v) => v / 255);
    return proposeWindows({ tiles: results.values(), area, placed, size, uncertainty, ...options }).map((r) => ({
      ...r,
      level0: gridToLevel0(grid, { x: r.window.x, y: r.window.y, width: size, height: size }),
    }));
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
      const traced = await compute.traceContours({
        probabilities: tile.probabilities,
        width: tile.tile.width,
        height: tile.tile.height,
        threshold: traceOptions.threshold ?? threshold,
        signal: traceOptions.signal,
      });
      return toTileCells(traced.cells);
    },

    setThreshold(next: number) {
      if (!(next > 0 && next < 1)) throw new RangeError(`threshold ${next} must be strictly between 0 and 1`);
      threshold = next;
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
      results.clear();
      events.emit('tiling', next);
      changed();
    },

    async loadHead(json: unknown) {
      const next = parseHead(json);
      checkHeadExtractors(next.metadata.extractors, extractors);
      cancelEnsemble();
      ensemble = next.ensemble;
      await install(next, uncertaintyOn ? ensemble?.members : undefined);
      changed();
      return next;
    },

    saveHead() {
      if (!head) throw new Error('there is no head yet: adapt first');
      return serializeHead({ ...head, threshold, ...(ensemble ? { ensemble } : {}) });
    },

    exportGeoJson(region?: Rect, exportOptions: GeoJsonOptions = {}) {
      const mosaic = mosaicOf(region);
      const rgb = parseColor(color);
      if (!mosaic) return { type: 'FeatureCollection', features: [] } as CellFeatureCollection;
      const found = cellContours(mosaic.probabilities, mosaic.rect.width, mosaic.rect.height, { threshold });
      const origin = gridToLevel0(grid, mosaic.rect);
      const decimals = exportOptions.decimals ?? 2;
      const { collection, droppedCells, droppedHoles } = cellsToGeoJsonReport(found, {
        placement: maskPlacement(origin.x, origin.y, grid.scaleX, grid.scaleY),
        classification: { name: className, color: [rgb[0], rgb[1], rgb[2]] },
        ...(grid.mppSource !== 'assumed' ? { mpp: grid.slideMpp } : {}),
        decimals,
      });
      if (droppedCells || droppedHoles) {
        const message = exportWarningMessage(droppedCells, droppedHoles, decimals);
        events.emit('warning', { kind: 'export', droppedCells, droppedHoles, decimals, message });
      }
      return collection;
    },

    async exportGeoJsonGz(region?: Rect, exportOptions?: GeoJsonOptions) {
      const bytes = await gzip(JSON.stringify(this.exportGeoJson(region, exportOptions)));
      return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/gzip' });
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
