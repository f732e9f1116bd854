import type OpenSeadragon from 'openseadragon';
import type { Head } from '../core/adaptation/head.js';
import { withEvents } from '../core/events/event-handle.js';
import { Emitter, type TypedEventTarget } from '../core/events/typed-events.js';
import type { InferenceGrid } from '../core/inference/inference-grid.js';
import type { Tiling } from '../core/inference/tiling.js';
import type { Rect } from '../core/math/rect.js';
import type { ViewPlan } from '../core/inference/view-plan.js';
import type { BackendName } from '../core/msd/backend-name.js';
import { bundleWarningNote } from '../core/msd/bundle-warnings.js';
import type { RegionRun } from '../core/session/region-run.js';
import type { ResultTile } from '../core/session/result-tiles.js';
import type { PrefillOutcome } from '../core/session/patch-prefill.js';
import {
  createSession,
  type AdaptOutcome,
  type ExportWarning,
  type ExtractorInfo,
  type GeoJsonOptions,
  type Session,
  type SessionProgress,
  type SessionState,
  type TileCell,
} from '../core/session/session.js';
import type { SlideDescription } from '../core/slide/pixel-source.js';
import type { QuPathImportOptions } from '../core/support-set/qupath-import.js';
import { createSupportSet, type SupportSetStore } from '../core/support-set/support-set.js';
import type { ExtractorSource } from '../worker/protocol.js';
import { defaultExtractorsSource, resolveAssets } from './assets.js';
import { createContourLayer, type ContourLayer } from './layers/contour-layer.js';
import { parseColor } from './layers/css-color.js';
import { createMaskLayer, type MaskLayer } from './layers/mask-layer.js';
import { createUncertaintyLayer, type UncertaintyLayer } from './layers/uncertainty-layer.js';
import type { EnsembleOptions } from '../core/adaptation/ensemble-options.js';
import { createLivePrediction, type LivePrediction } from './live-prediction.js';
import { WorkerPool, type PoolSlide, type WorkerStatus } from './pool/worker-pool.js';
import { createPatchSuggestion, type PatchSuggestion } from './support/patch-suggestion.js';
import { createSupportLayer, type SupportLayer } from './support/support-layer.js';
import { autosaveSupportSet, restoreSupportSet, type Autosave, type TextStore } from './support/support-set-storage.js';
import { createSupportTools, type SupportTools } from './support/support-tools.js';
import { DEFAULT_STAIN, type StainMethod } from '../core/stain/stain-stats.js';

export type { AdaptOutcome } from '../core/session/session.js';

/**
 * attachFewShot: few-shot segmentation on an OpenSeadragon viewer, without any UI of its own
 * (the `<fewshot-segmenter>` panel is one UI over it; a host page can build another). What a
 * session is — support set, head, threshold, results, adapt, region runs, exports — is
 * core/session/session.ts, which knows no viewer; this is its OpenSeadragon side: the worker
 * pool it runs on, the support tools, support layer and autosave, the mask and contour overlays
 * that draw the session's results, and live prediction of the view. It reports through typed
 * DOM events on the handle (FewShotEvents; README "Events").
 */

export interface FewShotOptions {
  /** What the workers open to read pixels themselves: a TIFF/SVS/OME-TIFF by URL or File. */
  readonly slide: SlideDescription;
  /** Extractor bundle: a manifest URL or the user's files; default the shipped one. */
  readonly extractors?: ExtractorSource;
  /**
   * Input stain normalisation to the bundle's training stain, the slide's own statistics estimated
   * once from a sample of its tissue (README "Stain normalisation"); default DEFAULT_STAIN. Overrides the
   * `stain` of `extractors`.
   */
  readonly stain?: StainMethod;
  /** The worker script; default the package's, which the host's bundler emitted (plugin/assets.ts). */
  readonly workerUrl?: URL | string;
  /**
   * Where the package's files are served instead, for a CDN or self-hosting: a folder laid out as
   * the package (`dist/worker.js`, `dist/*.wasm`, `models/default/…`), e.g.
   * `https://cdn.jsdelivr.net/npm/openseadragon-fewshot@0.1.0/`. Every asset is resolved against it.
   */
  readonly assetsBaseUrl?: URL | string;
  readonly workers?: number;
  readonly backends?: readonly BackendName[];
  readonly allowSoftwareGpu?: boolean;
  readonly wasmPaths?: string;
  /** The slide's µm per level-0 pixel when its file does not say (or says wrong). */
  readonly slideMpp?: number;
  /** Name and colour of the new class (QuPath classification, overlay colour). */
  readonly className?: string;
  readonly color?: string;
  /** Output megapixels live mode computes by itself per view; default 4. */
  readonly budgetMegapixels?: number;
  /**
   * How output tiles are computed: 'whole' (default; one forward over a tile and the extractors'
   * receptive-field margin) or 'patches' (the paper's 256², stride-64 patches averaged). setTiling changes it.
   */
  readonly tiling?: Tiling;
  /** Where the support set is saved; false: not saved. Default IndexedDB (localStorage as fallback). */
  readonly storage?: TextStore | false;
  /**
   * Whether a patch placed once a head exists is painted from its prediction at the threshold
   * (one undo step; core/session/patch-prefill.ts). Default true; setPrefill changes it.
   */
  readonly prefill?: boolean;
  /**
   * Whether the uncertainty layer is shown (plugin/layers/uncertainty-layer.ts; default false);
   * setUncertainty changes it.
   */
  readonly uncertainty?: boolean;
  /**
   * The head's ensemble, fitted after each adapt (core/adaptation/head-ensemble.ts): its options,
   * or false for none (uncertainty then comes from the head's probability alone).
   */
  readonly ensemble?: Partial<EnsembleOptions> | false;
}

export type FewShotState = SessionState;

/** A finished output tile, as drawn (from live prediction or a region run). */
export interface PredictionTile {
  readonly key: string;
  /** The level-0 rectangle it covers. */
  readonly level0: Rect;
  /** Its size in inference-grid pixels. */
  readonly width: number;
  readonly height: number;
  /** width × height probabilities, row-major (shared with the results: do not modify). */
  readonly probabilities: Float32Array;
  /** Cells traced in it at the threshold. */
  readonly cells: number;
}

/** What was being done when an error event came: live prediction, a region run, saving or restoring the support set. */
export type FewShotTask = 'predict' | 'region' | 'seams' | 'autosave' | 'restore';

export interface FewShotError {
  readonly error: unknown;
  readonly task: FewShotTask;
}

/**
 * What loading the extractor bundle could not check (an old bundle without checksum or probe, a
 * page without WebCrypto: models/FORMAT.md#integrity): it loaded and is used. `message` is the
 * line a user is shown; `details` what the loader said.
 */
export interface ExtractorsWarning {
  readonly kind: 'extractors';
  readonly message: string;
  readonly details: readonly string[];
}

/** Something done, but not all of it checked or written: the `detail` of a 'warning' event. */
export type FewShotWarning = ExtractorsWarning | ExportWarning;

/** `handle.addEventListener('adapted', (e) => e.detail.head)`: the `detail` of each event. */
export type FewShotEvents = {
  /** While adapting (`task: 'adapt'`: phase, step, loss); while a region runs (`task: 'region'`: tiles, MP/s, ETA). */
  progress: SessionProgress;
  /** Adaptation finished and its head is in every worker: live prediction and region runs use it from now on. */
  adapted: AdaptOutcome;
  'prediction-tile': PredictionTile;
  /** What live mode computes for the view now, and what its budget left out. */
  budget: ViewPlan;
  /** Anything a panel shows changed (state, counts, settings). */
  change: Readonly<Record<string, never>>;
  error: FewShotError;
  /** A newly placed patch's pre-fill ended: filled from the prediction, dropped (why), or failed. */
  prefill: PrefillOutcome;
  /**
   * The extractor bundle loaded unchecked (emitted in the task after attachFewShot resolves; also in
   * `warnings`), or a GeoJSON export left cells out (emitted before the export returns).
   */
  warning: FewShotWarning;
};

/** What the handle passes straight to its session (core/session/session.ts documents each). */
type SessionMethods = Pick<
  Session,
  | 'setColor'
  | 'loadHead'
  | 'saveHead'
  | 'exportGeoJson'
  | 'exportGeoJsonGz'
  | 'exportMeasuredGeoJson'
  | 'cellTable'
  | 'exportCellsCsv'
  | 'exportMaskPng'
  | 'exportSupportSet'
  | 'importSupportSet'
  | 'importQuPathAnnotations'
  | 'setPrefill'
>;

export interface FewShot extends TypedEventTarget<FewShotEvents>, SessionMethods {
  readonly viewer: OpenSeadragon.Viewer;
  readonly pool: WorkerPool;
  /** The DOM-free session this handle draws and drives. */
  readonly session: Session;
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  readonly support: SupportSetStore;
  readonly tools: SupportTools;
  readonly maskLayer: MaskLayer;
  /** The head's per-pixel uncertainty, over the mask (hidden unless `uncertainty`). */
  readonly uncertaintyLayer: UncertaintyLayer;
  readonly contourLayer: ContourLayer;
  readonly supportLayer: SupportLayer;
  /**
   * The next patch to annotate: `next()` shows the session's best window in the view as a dashed
   * box (again: skips to the next), `accept()` places it, pre-filled (plugin/support/patch-suggestion.ts).
   */
  readonly suggestion: PatchSuggestion;
  readonly autosave: Autosave | undefined;
  readonly workers: readonly WorkerStatus[];
  readonly extractors: readonly ExtractorInfo[];
  readonly head: Head | undefined;
  readonly lastAdapt: AdaptOutcome | undefined;
  readonly state: FewShotState;
  readonly live: boolean;
  readonly className: string;
  readonly color: string;
  readonly tiling: Tiling;
  /** The stain normalisation the extractors read the slide with: options.stain, else the source's, else the default. */
  readonly stain: StainMethod;
  /** What the last live plan computed and left out. */
  readonly plan: ViewPlan | undefined;
  /** Whether newly placed patches are pre-filled from the prediction (once a head exists). */
  readonly prefill: boolean;
  /** Whether the uncertainty layer is shown. */
  readonly uncertainty: boolean;
  /**
   * Shows or hides the uncertainty layer (core/inference/uncertainty.ts: from the head's ensemble
   * where the workers computed it, else from its probability alone). On, it has the workers compute
   * the ensemble's uncertainty with each tile (session.setUncertainty); resolves once they do.
   */
  setUncertainty(on: boolean): Promise<void>;
  /** Every 'warning' event so far, oldest first: the extractors' (from attaching) are there at once. */
  readonly warnings: readonly FewShotWarning[];
  /**
   * Fits a head to the support set (in a worker); rejects with a clear message when it cannot.
   * Resolves (and emits 'adapted') once the head is in every worker.
   */
  adapt(options?: { readonly signal?: AbortSignal }): Promise<AdaptOutcome>;
  setLive(on: boolean): void;
  /** The visible region now, within the budget (what live mode does on each view). */
  predictView(): void;
  /** A rectangle (level-0 pixels), the whole slide, or its tissue, as a pausable run. */
  predictRegion(region: Rect | 'slide' | 'tissue', options?: { readonly signal?: AbortSignal }): Promise<RegionRun>;
  /**
   * Re-colours the mask at once and re-traces the contours a few tiles per task; resolves when
   * the contours follow this threshold (or a newer one replaced it).
   */
  setThreshold(threshold: number): Promise<void>;
  /**
   * 'whole' or 'patches': drops the results computed the other way and their overlays, as a new
   * head does (region runs still going end 'interrupted'), and predicts the view again when live.
   */
  setTiling(tiling: Tiling): void;
  /** Cells and their area (µm² when the scale is known, else level-0 px²) in the view now. */
  cellsInView(): { cells: number; area: number; unit: 'µm²' | 'px²' };
  destroy(): void;
}

export async function attachFewShot(viewer: OpenSeadragon.Viewer, options: FewShotOptions): Promise<FewShot> {
  const pool = await WorkerPool.create({
    workers: options.workers,
    workerUrl: options.workerUrl,
    assetsBaseUrl: options.assetsBaseUrl,
    backends: options.backends,
    allowSoftwareGpu: options.allowSoftwareGpu,
    wasmPaths: options.wasmPaths,
  });
  try {
    const source = options.extractors ?? defaultExtractorsSource(resolveAssets(options));
    const stain = options.stain ?? source.stain ?? DEFAULT_STAIN;
    const loaded = await pool.setExtractors({ ...source, stain });
    const slide = await pool.openSlide(options.slide);
    const grid = pool.inferenceGrid(slide, options.slideMpp ? { slideMpp: options.slideMpp } : {});
    const level0 = slide.info.levels[0];
    const identity = {
      name: slide.info.name,
      width: level0.width,
      height: level0.height,
      ...(slide.info.mpp ? { mpp: slide.info.mpp.x } : {}),
    };
    const restoreOptions = { slide: identity, extractorMpp: loaded.mpp, scale: grid.scaleX };
    const restored =
      options.storage === false
        ? { store: createSupportSet(restoreOptions), problem: null }
        : await restoreSupportSet({ ...restoreOptions, ...(options.storage ? { storage: options.storage } : {}) });
    const session = createSession({
      compute: pool,
      slide,
      grid,
      extractors: loaded.extractors,
      support: restored.store,
      className: options.className,
      color: options.color,
      parseColor,
      tiling: options.tiling,
      prefill: options.prefill,
      ensemble: options.ensemble,
      uncertainty: options.uncertainty,
    });
    const note = bundleWarningNote(loaded.warnings);
    const extractorsWarning: ExtractorsWarning | undefined = note
      ? { kind: 'extractors', message: note, details: loaded.warnings ?? [] }
      : undefined;
    return createFewShot(viewer, pool, session, { ...options, stain }, restored.problem, extractorsWarning);
  } catch (err) {
    pool.close();
    throw err;
  }
}

function createFewShot(
  viewer: OpenSeadragon.Viewer,
  pool: WorkerPool,
  session: Session,
  options: FewShotOptions,
  restoreProblem: unknown,
  extractorsWarning: ExtractorsWarning | undefined,
): FewShot {
  const { slide, grid, support } = session;
  const events = new Emitter<FewShotEvents>();
  const changed = () => events.emit('change', {});
  const fail = (error: unknown, task: FewShotTask) => events.emit('error', { error, task });
  const warnings: FewShotWarning[] = [];
  const warn = (warning: FewShotWarning, emit = true) => {
    warnings.push(warning);
    if (emit) events.emit('warning', warning);
  };
  let plan: ViewPlan | undefined;

  const tools = createSupportTools(viewer, support);
  const maskLayer = createMaskLayer(viewer, { color: session.color, threshold: session.threshold, mode: 'mask' });
  // Above the mask, below contours and patches. Tiles join it only while it is shown.
  const uncertaintyLayer = createUncertaintyLayer(viewer, { visible: options.uncertainty === true });
  const showUncertainty = (tile: ResultTile) =>
    uncertaintyLayer.addTile({
      key: tile.key,
      level0: tile.level0,
      tile: tile.tile,
      uncertainty: session.uncertaintyOf(tile),
    });
  const contourLayer = createContourLayer(viewer, { color: '#ffeb3b' });
  const supportLayer = createSupportLayer(viewer, support, tools, { color: session.color });
  const suggestion = createPatchSuggestion(viewer, session);
  const autosave =
    options.storage === false
      ? undefined
      : autosaveSupportSet(support, {
          ...(options.storage ? { storage: options.storage } : {}),
          onError: (e) => fail(e, 'autosave'),
        });
  // Events about the start in a later task, so that a host that adds its listener right after
  // `await attachFewShot(…)` hears them (a microtask would run before that await returns).
  if (restoreProblem) setTimeout(() => fail(restoreProblem, 'restore'), 0);
  // In `warnings` at once, too.
  if (extractorsWarning) {
    warn(extractorsWarning, false);
    setTimeout(() => events.emit('warning', extractorsWarning), 0);
  }

  const drawContours = (tile: ResultTile, cells: readonly TileCell[] = session.cells(tile)) =>
    contourLayer.addTile({ key: tile.key, level0: tile.level0, tile: tile.tile, cells });

  // Contours follow the threshold from the stored probabilities (no network runs again), traced
  // in the workers (session.traceCells: tens of ms per tile, which on the page would block it),
  // a few tiles at a time so no worker's queue fills with a pass a newer threshold abandons.
  let retracePass = new AbortController();
  let retraced: Promise<void> = Promise.resolve();
  const retraceContours = async () => {
    retracePass.abort();
    const pass = (retracePass = new AbortController());
    const { signal } = pass;
    const threshold = session.threshold;
    const pending = [...session.results.values()];
    const lane = async () => {
      for (let tile = pending.shift(); tile && !signal.aborted; tile = pending.shift()) {
        let cells: TileCell[];
        try {
          cells = await session.traceCells(tile, { threshold, signal });
        } catch (err) {
          if (signal.aborted) return;
          throw err;
        }
        if (!signal.aborted && session.results.get(tile.key) === tile) drawContours(tile, cells);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, pool.size) }, lane));
    } catch (err) {
      fail(err, 'predict');
    }
    if (!signal.aborted) changed();
  };

  const live: LivePrediction = createLivePrediction({
    viewer,
    pool,
    slide: () => (session.headKey ? { slide, grid } : undefined),
    tiling: () => session.tiling,
    budgetMegapixels: () => options.budgetMegapixels ?? 4,
    done: () => session.results.keys,
    contours: () => ({ threshold: session.threshold }),
    onTile: (tile, result) =>
      session.addResult(
        {
          ...tile,
          probabilities: result.probabilities,
          ...(result.uncertainty ? { uncertainty: result.uncertainty } : {}),
        },
        result.contours,
      ),
    onPlan: (p) => {
      plan = p;
      events.emit('budget', p);
      changed();
    },
    onError: (e) => fail(e, 'predict'),
  });

  // The overlays draw what the session holds, following its events.
  session.addEventListener('tile', ({ detail: { tile, cells } }) => {
    maskLayer.addTile({ key: tile.key, level0: tile.level0, tile: tile.tile, probabilities: tile.probabilities });
    if (uncertaintyLayer.visible) showUncertainty(tile);
    drawContours(tile, cells);
    const { key, level0, probabilities } = tile;
    events.emit('prediction-tile', {
      key,
      level0,
      width: tile.tile.width,
      height: tile.tile.height,
      probabilities,
      cells: cells.length,
    });
  });
  // A neighbour arrived: the tile's cells traced again across the seam between them.
  session.addEventListener('cells', ({ detail: { tile, cells, threshold } }) => {
    if (session.results.get(tile.key) === tile && threshold === session.threshold) drawContours(tile, cells);
  });
  session.addEventListener('head', () => {
    maskLayer.setStyle({ threshold: session.threshold });
    maskLayer.clear();
    uncertaintyLayer.clear();
    contourLayer.clear();
    live.refresh();
  });
  session.addEventListener('tiling', () => {
    maskLayer.clear();
    uncertaintyLayer.clear();
    contourLayer.clear();
    live.refresh();
  });
  session.addEventListener('threshold', ({ detail: threshold }) => {
    maskLayer.setStyle({ threshold });
    retraced = retraceContours();
  });
  session.addEventListener('color', ({ detail: color }) => {
    maskLayer.setStyle({ color });
    supportLayer.setColor(color);
  });
  session.addEventListener('progress', (e) => events.emit('progress', e.detail));
  session.addEventListener('adapted', (e) => events.emit('adapted', e.detail));
  session.addEventListener('prefill', (e) => events.emit('prefill', e.detail));
  session.addEventListener('warning', (e) => warn(e.detail));
  session.addEventListener('change', changed);
  session.addEventListener('error', (e) => fail(e.detail.error, e.detail.task));

  return withEvents(events, {
    viewer,
    pool,
    session,
    slide,
    grid,
    support,
    tools,
    maskLayer,
    uncertaintyLayer,
    contourLayer,
    supportLayer,
    suggestion,
    autosave,
    get workers() {
      return pool.workers;
    },
    extractors: session.extractors,
    get head() {
      return session.head;
    },
    get lastAdapt() {
      return session.lastAdapt;
    },
    get state() {
      return session.state;
    },
    get live() {
      return live.enabled;
    },
    className: session.className,
    get color() {
      return session.color;
    },
    get tiling() {
      return session.tiling;
    },
    stain: options.stain ?? DEFAULT_STAIN,
    get plan() {
      return plan;
    },
    get prefill() {
      return session.prefill;
    },
    get warnings() {
      return [...warnings];
    },
    setPrefill: (on: boolean) => session.setPrefill(on),
    get uncertainty() {
      return uncertaintyLayer.visible;
    },
    setUncertainty(on: boolean) {
      if (on !== uncertaintyLayer.visible) {
        uncertaintyLayer.visible = on;
        // Hidden, it holds no tiles: shown, it takes the results there are.
        if (on) for (const tile of session.results.values()) showUncertainty(tile);
        else uncertaintyLayer.clear();
        changed();
      }
      // Off keeps the ensemble in the workers (a tile costs more with it): no results dropped twice.
      return on ? session.setUncertainty(true) : Promise.resolve();
    },
    adapt: (adaptOptions?: { readonly signal?: AbortSignal }) => session.adapt(adaptOptions),
    setLive(on: boolean) {
      live.setEnabled(on);
      changed();
    },
    predictView() {
      if (!session.headKey) throw new Error('adapt (or load a head) before predicting');
      live.predictOnce();
    },
    predictRegion: (region: Rect | 'slide' | 'tissue', runOptions?: { readonly signal?: AbortSignal }) =>
      session.predictRegion(region, runOptions),
    setThreshold(threshold: number) {
      session.setThreshold(threshold);
      return retraced;
    },
    setColor: (color: string) => session.setColor(color),
    setTiling: (tiling: Tiling) => session.setTiling(tiling),
    loadHead: (json: unknown) => session.loadHead(json),
    saveHead: () => session.saveHead(),
    exportGeoJson: (region?: Rect, exportOptions?: GeoJsonOptions) => session.exportGeoJson(region, exportOptions),
    exportGeoJsonGz: (region?: Rect, exportOptions?: GeoJsonOptions & { readonly signal?: AbortSignal }) =>
      session.exportGeoJsonGz(region, exportOptions),
    exportMeasuredGeoJson: (region?: Rect, exportOptions?: GeoJsonOptions & { readonly signal?: AbortSignal }) =>
      session.exportMeasuredGeoJson(region, exportOptions),
    cellTable: (region?: Rect, tableOptions?: { readonly signal?: AbortSignal }) =>
      session.cellTable(region, tableOptions),
    exportCellsCsv: (region?: Rect, csvOptions?: { readonly signal?: AbortSignal }) =>
      session.exportCellsCsv(region, csvOptions),
    exportMaskPng: (region?: Rect) => session.exportMaskPng(region),
    exportSupportSet: () => session.exportSupportSet(),
    importSupportSet: (text: string) => session.importSupportSet(text),
    importQuPathAnnotations: (input: unknown, importOptions: QuPathImportOptions) =>
      session.importQuPathAnnotations(input, importOptions),
    cellsInView() {
      const { cells, area } = contourLayer.inView();
      const mpp = grid.mppSource !== 'assumed' ? grid.slideMpp : undefined;
      if (!mpp) return { cells, area, unit: 'px²' as const };
      return { cells, area: area * mpp.x * mpp.y, unit: 'µm²' as const };
    },
    destroy() {
      live.destroy();
      tools.destroy();
      supportLayer.destroy();
      suggestion.destroy();
      maskLayer.destroy();
      uncertaintyLayer.destroy();
      contourLayer.destroy();
      void autosave?.flush().catch(() => undefined);
      autosave?.dispose();
      pool.close();
    },
  });
}
