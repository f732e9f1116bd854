import type OpenSeadragon from 'openseadragon';
import type { AdaptProgress, AdaptReport } from '../core/adaptation/adapt.js';
import { cellContours } from '../core/cells/cell-contours.js';
import { cellsToGeoJson, type CellFeatureCollection } from '../core/cells/geojson-export.js';
import { checkHeadExtractors, parseHead, serializeHead, type Head, type HeadJson } from '../core/adaptation/head.js';
import { gridToLevel0, level0ToGrid, type InferenceGrid } from '../core/inference/inference-grid.js';
import { maskPlacement } from '../core/cells/mask-placement.js';
import type { Rect } from '../core/inference/patch-grid.js';
import type { SlideDescription } from '../core/slide/pixel-source.js';
import type { ExtractorSource } from '../worker/protocol.js';
import { planRegion } from '../core/inference/region-plan.js';
import { importSupportSet, supportSetToText } from '../core/support-set/support-set-file.js';
import { createSupportSet, type SupportSetStore } from '../core/support-set/support-set.js';
import type { BackendName } from '../core/msd/tf-backend.js';
import { encodePng } from '../core/cells/png-encode.js';
import type { ViewPlan } from '../core/inference/view-plan.js';
import { createContourLayer, type ContourLayer } from './layers/contour-layer.js';
import { parseColor } from './layers/css-color.js';
import { DEFAULT_EXTRACTORS_URL } from './assets.js';
import { createLivePrediction, type LivePrediction } from './live-prediction.js';
import { createMaskLayer, type MaskLayer } from './layers/mask-layer.js';
import { createRegionRun, type RegionRun } from './region-run.js';
import { createResultTiles, type ResultTile } from './result-tiles.js';
import { createSupportLayer, type SupportLayer } from './support/support-layer.js';
import { autosaveSupportSet, restoreSupportSet, type Autosave, type TextStore } from './support/support-set-storage.js';
import { createSupportTools, type SupportTools } from './support/support-tools.js';
import { WorkerPool, type PoolSlide, type WorkerStatus } from './pool/worker-pool.js';

/**
 * attachFewShot: few-shot segmentation on an OpenSeadragon viewer, without any UI of its own
 * (the `<fewshot-segmenter>` panel is one UI over it; a host page can build another). It owns
 * the worker pool, the support set with its tools and autosave, the overlays, live prediction,
 * region runs and exports, and reports through DOM events on the handle:
 *
 * - `progress`  detail {task: 'adapt' | 'region', …}  while adapting or running a region
 * - `adapted`   detail {head, report, seconds}
 * - `prediction-tile` detail {key, level0, width, height, probabilities, cells}
 * - `budget`    detail ViewPlan: what live mode computes now and what it left out
 * - `change`    detail {} — anything the panel shows changed (state, counts, settings)
 * - `error`     detail {error, task}
 */

export interface FewShotOptions {
  /** What the workers open to read pixels themselves: a TIFF/SVS/OME-TIFF by URL or File. */
  readonly slide: SlideDescription;
  /** Extractor bundle: a manifest URL or the user's files; default the shipped one. */
  readonly extractors?: ExtractorSource;
  readonly workerUrl?: URL | string;
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
  /** Where the support set is saved; false: not saved. Default IndexedDB (localStorage as fallback). */
  readonly storage?: TextStore | false;
}

export type FewShotState = 'idle' | 'adapting' | 'predicting';

export interface AdaptOutcome {
  readonly head: Head;
  readonly report: AdaptReport;
  /** Wall time of the whole adaptation, seconds. */
  readonly seconds: number;
}

export interface FewShot extends EventTarget {
  readonly viewer: OpenSeadragon.Viewer;
  readonly pool: WorkerPool;
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  readonly support: SupportSetStore;
  readonly tools: SupportTools;
  readonly maskLayer: MaskLayer;
  readonly contourLayer: ContourLayer;
  readonly supportLayer: SupportLayer;
  readonly autosave: Autosave | undefined;
  readonly workers: readonly WorkerStatus[];
  readonly extractors: readonly { readonly name: string; readonly depth: number }[];
  readonly head: Head | undefined;
  readonly lastAdapt: AdaptOutcome | undefined;
  readonly state: FewShotState;
  readonly live: boolean;
  readonly className: string;
  readonly color: string;
  /** What the last live plan computed and left out. */
  readonly plan: ViewPlan | undefined;
  /** Fits a head to the support set (in a worker); rejects with a clear message when it cannot. */
  adapt(options?: { readonly signal?: AbortSignal }): Promise<AdaptOutcome>;
  setLive(on: boolean): void;
  /** The visible region now, within the budget (what live mode does on each view). */
  predictView(): void;
  /** A rectangle (level-0 pixels), the whole slide, or its tissue, as a pausable run. */
  predictRegion(region: Rect | 'slide' | 'tissue', options?: { readonly signal?: AbortSignal }): Promise<RegionRun>;
  setThreshold(threshold: number): void;
  setColor(color: string): void;
  /** Loads a head (JSON text or parsed); refused with a message when it does not fit the extractors. */
  loadHead(json: unknown): Promise<Head>;
  saveHead(): HeadJson;
  /** Cells of every finished tile in the region (level-0 rectangle; default all) as QuPath GeoJSON. */
  exportGeoJson(region?: Rect): CellFeatureCollection;
  /** The thresholded mask of the region (default: all finished tiles) as PNG, at the inference resolution. */
  exportMaskPng(region?: Rect): Promise<Blob>;
  exportSupportSet(): string;
  /** Replaces the support set by a file's (one undo step); a malformed file is refused and changes nothing. */
  importSupportSet(text: string): number;
  /** Cells and their area (µm² when the scale is known, else level-0 px²) in the view now. */
  cellsInView(): { cells: number; area: number; unit: 'µm²' | 'px²' };
  destroy(): void;
}

export async function attachFewShot(viewer: OpenSeadragon.Viewer, options: FewShotOptions): Promise<FewShot> {
  const pool = await WorkerPool.create({
    workers: options.workers,
    workerUrl: options.workerUrl,
    backends: options.backends,
    allowSoftwareGpu: options.allowSoftwareGpu,
    wasmPaths: options.wasmPaths,
  });
  try {
    const loaded = await pool.setExtractors(options.extractors ?? { kind: 'url', url: DEFAULT_EXTRACTORS_URL.href });
    const slide = await pool.openSlide(options.slide);
    const grid = pool.inferenceGrid(slide, options.slideMpp ? { slideMpp: options.slideMpp } : {});
    const level0 = slide.info.levels[0];
    const identity = { name: slide.info.name, width: level0.width, height: level0.height, ...(slide.info.mpp ? { mpp: slide.info.mpp.x } : {}) };
    const restoreOptions = { slide: identity, extractorMpp: loaded.mpp, scale: grid.scaleX };
    const restored =
      options.storage === false
        ? { store: createSupportSet(restoreOptions), problem: null }
        : await restoreSupportSet({ ...restoreOptions, ...(options.storage ? { storage: options.storage } : {}) });
    return createFewShot(viewer, pool, slide, grid, loaded.extractors, restored.store, options, restored.problem);
  } catch (err) {
    pool.close();
    throw err;
  }
}

function createFewShot(
  viewer: OpenSeadragon.Viewer,
  pool: WorkerPool,
  slide: PoolSlide,
  grid: InferenceGrid,
  extractors: readonly { name: string; depth: number }[],
  support: SupportSetStore,
  options: FewShotOptions,
  restoreProblem: unknown,
): FewShot {
  const events = new EventTarget();
  const emit = (type: string, detail: unknown) => events.dispatchEvent(new CustomEvent(type, { detail }));
  const changed = () => emit('change', {});
  const fail = (error: unknown, task: string) => emit('error', { error, task });

  let color = options.color ?? '#00e676';
  const className = options.className ?? 'New class';
  let head: Head | undefined;
  let headKey: string | undefined;
  let lastAdapt: AdaptOutcome | undefined;
  let state: FewShotState = 'idle';
  let threshold = 0.5;
  let plan: ViewPlan | undefined;
  const results = createResultTiles();

  const tools = createSupportTools(viewer, support);
  const maskLayer = createMaskLayer(viewer, { color, threshold, mode: 'mask' });
  const contourLayer = createContourLayer(viewer, { color: '#ffeb3b' });
  const supportLayer = createSupportLayer(viewer, support, tools, { color });
  const autosave = options.storage === false ? undefined : autosaveSupportSet(support, { ...(options.storage ? { storage: options.storage } : {}), onError: (e) => fail(e, 'autosave') });
  if (restoreProblem) queueMicrotask(() => fail(restoreProblem, 'restore'));

  const traced = (tile: ResultTile) =>
    cellContours(tile.probabilities, tile.tile.width, tile.tile.height, { threshold }).map((c) => ({ rings: c.rings, area: c.area * grid.scaleX * grid.scaleY }));

  // Contours follow the threshold from the stored probabilities (no network runs again), a few
  // tiles per task so that dragging the threshold slider never blocks the page; a newer
  // threshold abandons an older pass.
  let retracePass = 0;
  const retraceContours = () => {
    const pass = ++retracePass;
    const pending = [...results.values()];
    const step = () => {
      if (pass !== retracePass) return;
      const until = performance.now() + 8;
      while (pending.length > 0 && performance.now() < until) {
        const tile = pending.shift()!;
        if (results.get(tile.key) === tile) contourLayer.addTile({ key: tile.key, level0: tile.level0, tile: tile.tile, cells: traced(tile) });
      }
      if (pending.length > 0) setTimeout(step, 0);
      else changed();
    };
    step();
  };

  const show = (tile: ResultTile) => {
    results.add(tile);
    maskLayer.addTile({ key: tile.key, level0: tile.level0, tile: tile.tile, probabilities: tile.probabilities });
    const cells = traced(tile);
    contourLayer.addTile({ key: tile.key, level0: tile.level0, tile: tile.tile, cells });
    emit('prediction-tile', { key: tile.key, level0: tile.level0, width: tile.tile.width, height: tile.tile.height, probabilities: tile.probabilities, cells: cells.length });
    changed();
  };

  const live: LivePrediction = createLivePrediction({
    viewer,
    pool,
    slide: () => (headKey ? { slide, grid } : undefined),
    budgetMegapixels: () => options.budgetMegapixels ?? 4,
    done: () => results.keys,
    onTile: (tile, result) => show({ ...tile, probabilities: result.probabilities }),
    onPlan: (p) => {
      plan = p;
      emit('budget', p);
      changed();
    },
    onError: (e) => fail(e, 'predict'),
  });

  const setHeadEverywhere = async (next: Head) => {
    headKey = await pool.setHead({ W: next.W, b: next.b });
    head = next;
    threshold = next.threshold;
    maskLayer.setStyle({ threshold });
    results.clear();
    maskLayer.clear();
    contourLayer.clear();
    changed();
    live.refresh();
  };

  /** The finished tiles over a level-0 region (default: all of them) as one map. */
  const mosaicOf = (region?: Rect) => {
    const rect = region ? level0ToGrid(grid, region) : results.bounds();
    if (region && !rect) throw new RangeError('the region does not overlap the slide');
    return rect && results.mosaic(rect);
  };

  const api = {
    viewer,
    pool,
    slide,
    grid,
    support,
    tools,
    maskLayer,
    contourLayer,
    supportLayer,
    autosave,
    get workers() {
      return pool.workers;
    },
    extractors,
    get head() {
      return head;
    },
    get lastAdapt() {
      return lastAdapt;
    },
    get state() {
      return state;
    },
    get live() {
      return live.enabled;
    },
    className,
    get color() {
      return color;
    },
    get plan() {
      return plan;
    },

    async adapt(adaptOptions: { readonly signal?: AbortSignal } = {}) {
      if (state === 'adapting') throw new Error('an adaptation is already running');
      const patches = support.state().patches;
      if (patches.length === 0) throw new Error('the support set is empty: place at least one support patch (tool "place") and paint the new class in it');
      const painted = patches.filter((p) => p.mask.some((v) => v === 1)).length;
      if (painted === 0) throw new Error('no support patch has any pixel of the new class painted: paint the cells with the brush first');
      state = 'adapting';
      changed();
      const started = performance.now();
      try {
        const result = await pool.adapt(
          {
            slide,
            grid,
            patches: patches.map((p) => ({ x: Math.round(p.x / grid.scaleX), y: Math.round(p.y / grid.scaleY), size: support.patchSize, mask: p.mask.slice() })),
            metadata: { className, color, shots: patches.length, slide: slide.info.name },
          },
          { signal: adaptOptions.signal, onProgress: (progress: AdaptProgress) => emit('progress', { task: 'adapt', ...progress }) },
        );
        const next = parseHead(result.head);
        lastAdapt = { head: next, report: result.report, seconds: (performance.now() - started) / 1000 };
        state = 'idle';
        await setHeadEverywhere(next);
        emit('adapted', lastAdapt);
        return lastAdapt;
      } catch (err) {
        state = 'idle';
        changed();
        throw err;
      }
    },
    setLive(on: boolean) {
      live.setEnabled(on);
      changed();
    },
    predictView() {
      if (!headKey) throw new Error('adapt (or load a head) before predicting');
      const wasLive = live.enabled;
      live.setEnabled(true);
      live.refresh();
      if (!wasLive) live.setEnabled(false);
    },
    async predictRegion(region: Rect | 'slide' | 'tissue', runOptions: { readonly signal?: AbortSignal } = {}) {
      if (!headKey) throw new Error('adapt (or load a head) before predicting');
      const tissue = region === 'tissue' ? await pool.tissueMask(slide, { signal: runOptions.signal }) : undefined;
      const tiles = planRegion({ grid, ...(typeof region === 'object' ? { region } : {}), ...(tissue ? { tissue } : {}) });
      const run = createRegionRun(pool, { slide, grid, tiles, completed: results.keys, signal: runOptions.signal });
      run.on('tile', (t) => {
        if (!t.cached || !results.keys.has(t.key)) show({ key: t.key, tile: t.tile, level0: t.level0, megapixels: t.megapixels, probabilities: t.probabilities });
      });
      run.on('progress', (p) => emit('progress', { task: 'region', ...p }));
      run.on('failure', (f) => fail(f.error, 'region'));
      return run;
    },
    setThreshold(next: number) {
      if (!(next > 0 && next < 1)) throw new RangeError(`threshold ${next} must be strictly between 0 and 1`);
      threshold = next;
      maskLayer.setStyle({ threshold });
      retraceContours();
      changed();
    },
    setColor(next: string) {
      parseColor(next);
      color = next;
      maskLayer.setStyle({ color });
      supportLayer.setColor(color);
      changed();
    },
    async loadHead(json: unknown) {
      const next = parseHead(typeof json === 'string' ? json : JSON.stringify(json));
      checkHeadExtractors(next.metadata.extractors, extractors);
      await setHeadEverywhere(next);
      return next;
    },
    saveHead() {
      if (!head) throw new Error('there is no head yet: adapt first');
      return serializeHead({ ...head, threshold });
    },
    exportGeoJson(region?: Rect) {
      const mosaic = mosaicOf(region);
      const rgb = parseColor(color);
      if (!mosaic) return { type: 'FeatureCollection', features: [] } as CellFeatureCollection;
      const cells = cellContours(mosaic.probabilities, mosaic.rect.width, mosaic.rect.height, { threshold });
      const origin = gridToLevel0(grid, mosaic.rect);
      return cellsToGeoJson(cells, {
        placement: maskPlacement(origin.x, origin.y, grid.scaleX, grid.scaleY),
        classification: { name: className, color: [rgb[0], rgb[1], rgb[2]] },
        ...(grid.mppSource !== 'assumed' ? { mpp: grid.slideMpp } : {}),
      });
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
    cellsInView() {
      const { cells, area } = contourLayer.inView();
      const mpp = grid.mppSource !== 'assumed' ? grid.slideMpp : undefined;
      return mpp ? { cells, area: area * mpp.x * mpp.y, unit: 'µm²' as const } : { cells, area, unit: 'px²' as const };
    },
    destroy() {
      live.destroy();
      tools.destroy();
      supportLayer.destroy();
      maskLayer.destroy();
      contourLayer.destroy();
      void autosave?.flush().catch(() => undefined);
      autosave?.dispose();
      pool.close();
    },
  };
  // Descriptors, not Object.assign: assign would freeze every getter (state, head, live…) at its value now.
  return Object.defineProperties(events, Object.getOwnPropertyDescriptors(api)) as EventTarget & typeof api;
}
