import type { AdaptReport } from '../../core/adaptation/adapt.js';
import type { PatchFeatures } from '../../core/adaptation/support-row-features.js';
import { ByteLru } from '../../core/cache/byte-lru.js';
import { Emitter } from '../../core/events/typed-events.js';
import { inferenceGrid, type InferenceGrid, type InferenceGridOptions } from '../../core/inference/inference-grid.js';
import { ensembleKey, headKey, pixelsKey, tileCacheKey } from '../../core/inference/keys.js';
import { boundsOf, OUTPUT_TILE_SIZE } from '../../core/inference/patch-grid.js';
import { receptiveMarginOfDepths } from '../../core/inference/receptive-field.js';
import { partitionBlock } from '../../core/inference/block-partition.js';
import { blockReadPixels, growBlock, maxBlockTiles } from '../../core/inference/tile-block.js';
import { AdaptError } from '../../core/adaptation/adapt-error.js';
import type { HeadEnsemble } from '../../core/adaptation/head.js';
import type { EnsembleOptions, EnsembleProgress } from '../../core/adaptation/ensemble-options.js';
import type { GridOptions } from '../../core/inference/patch-grid.js';
import { checkTiling, DEFAULT_TILING, type Tiling } from '../../core/inference/tiling.js';
import type { Rect } from '../../core/math/rect.js';
import type { BackendName } from '../../core/msd/backend-name.js';
import {
  PoolStateError,
  type AdaptAnswer,
  type AdaptControl,
  type AdaptRequest,
  type ContourRequest,
  type PoolSlide,
  type TileRequest,
  type TileResult,
} from '../../core/session/compute.js';
import type { SlideDescription } from '../../core/slide/pixel-source.js';
import type { TissueMask } from '../../core/slide/tissue-mask.js';
import type { TracedContours } from '../../core/cells/traced-contours.js';
import type { WindowDescriptorRequest } from '../../core/session/compute.js';
import type { ExtractorSource, HeadWeights, WorkerLike } from '../../worker/protocol.js';
import { resolveAssets, startModuleWorker, workerAssets } from '../assets.js';
import { displayReads } from '../slide/display-reads.js';
import { shareSlide } from '../slide/shared-slide.js';
import { JobQueue, type TileJob } from './job-queue.js';
import { WorkerDied } from './worker-channel.js';
import type { WorkerSlot } from './worker-slot.js';
import { WorkerSupervisor, type WorkerStatus } from './worker-supervisor.js';

export {
  PoolStateError,
  type PoolSlide,
  type TileRequest,
  type TileResult,
  type TileTarget,
} from '../../core/session/compute.js';
export type { WorkerStatus } from './worker-supervisor.js';

/**
 * Runs inference tiles on N module workers, composed of: the supervisor (worker-supervisor.ts:
 * the workers, configured alike, replaced when one dies), the job queue (job-queue.ts: priority,
 * viewport versions, one job shared by the callers of a tile) and a cache of finished tiles (a
 * ByteLru keyed by everything a tile depends on, core/inference/keys.ts). Whatever a worker
 * computes is cached, even when its callers left meanwhile; it is delivered only to callers
 * still there.
 *
 * Events (core/events/typed-events.ts): `workers`, detail the WorkerStatus of every worker,
 * whenever one starts its backend, dies or is replaced; `job`, a JobEvent whenever a worker starts
 * a tile job and when that job ends (finished, aborted or failed).
 *
 * The display first: while the page's display waits for slide reads (display-reads.ts), a tile
 * job starts only while fewer than size − 1 workers are busy (none in a pool of one): the
 * display's worker has a core of its own, as if the pool were one smaller, until it caught up.
 */

export interface WorkerPoolOptions {
  /** Default: defaultWorkerCount(navigator.hardwareConcurrency): 2 on 2 cores, n − 1 on n > 2. */
  readonly workers?: number;
  /** The worker script; default the package's (plugin/assets.ts), under assetsBaseUrl if given. */
  readonly workerUrl?: URL | string;
  /**
   * Where the package's files are served when not where the host's bundler put them (a CDN, a copy
   * under the host's static files): a folder laid out as the package (`dist/…`, `models/…`).
   */
  readonly assetsBaseUrl?: URL | string;
  /**
   * Makes worker `index` (default: a module Web Worker from workerUrl, told where its WebAssembly
   * is); e.g. in-thread workers in Node, which are told nothing unless assetsBaseUrl or wasmPaths is given.
   */
  readonly createWorker?: (index: number) => WorkerLike;
  /** Backends to try in order (named ones may be software GPUs); default: the automatic choice. */
  readonly backends?: readonly BackendName[];
  readonly wasmPaths?: string;
  readonly allowSoftwareGpu?: boolean;
  /**
   * How tiles are computed when a request does not say (core/inference/tiling.ts): 'whole' (default:
   * one forward over the tile and its receptive-field margin) or 'patches' (the paper's).
   */
  readonly tiling?: Tiling;
  /** Patch size and stride of the 'patches' tiling (default: 256 and 64). */
  readonly grid?: GridOptions;
  /** Bytes of finished tiles kept; default 256 MiB. */
  readonly cacheBytes?: number;
  /** Bytes of patch probabilities each worker keeps for neighbouring tiles (default 64 MiB; 0 turns it off). */
  readonly patchMemoBytes?: number;
  /** A tile job or an adaptation whose worker died this many times is given up. Default 3. */
  readonly maxAttempts?: number;
  /**
   * Whether one worker's tile jobs wait while the display waits for slide reads (display-reads.ts).
   * Default true; false for a pool that serves no viewer (a batch run).
   */
  readonly displayFirst?: boolean;
  /**
   * Most megapixels one 'whole' forward reads: adjacent queued tiles run as one block of at most
   * this much with its margin (core/inference/tile-block.ts). Default 2.5: a 3×2 block of 512²
   * tiles (2.28 MP). The SIMD engine keeps the input and 25 feature maps of the read in float32
   * (112 bytes a pixel, ~280 MB at 2.5 MP) per worker. 0: every tile alone.
   */
  readonly blockMegapixels?: number;
}

/** See WorkerPoolOptions' blockMegapixels. */
export const DEFAULT_BLOCK_MEGAPIXELS = 2.5;

/** A tile job on a worker: `started` when handed to it, then one of the others when it ends. */
export interface JobEvent {
  readonly type: 'started' | 'finished' | 'aborted' | 'failed';
  /** The tile cache key (core/inference/keys.ts): the same for every caller of the tile. */
  readonly key: string;
  /** In the target's pixels (an inference grid's, or a level's). */
  readonly tile: Rect;
  readonly worker: number;
}

/** What the pool did, for benchmarks, tests and a status line. */
export interface PoolStats {
  /** Tile jobs handed to a worker (a re-run after a worker died counts again). */
  readonly jobs: number;
  /** Requests that joined a job already queued or running instead of starting one. */
  readonly shared: number;
  readonly cacheHits: number;
  /** Forwards that computed several adjacent tiles at once (each of their tiles counts in `jobs`). */
  readonly blocks: number;
}

export type WorkerPoolEvents = {
  readonly workers: readonly WorkerStatus[];
  readonly job: JobEvent;
};

const abortError = (why: string) => new DOMException(why, 'AbortError');

/**
 * The pool's size when none is given, from navigator.hardwareConcurrency (hardware threads; 2
 * when the browser does not say): every core on up to 2, one left for the page beyond. On 2
 * cores one worker left a core idle while tiles waited: the page's own work (overlay drawing,
 * serving slide bytes) is a small share of a core, and the display's reads come first anyway
 * (display-reads.ts), so the second worker costs the display nothing it needs; bench:view
 * `--workers 2,1` measures the two side by side (README, Interactive speed).
 */
export function defaultWorkerCount(hardwareConcurrency: number | undefined): number {
  const n = Number.isInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 2;
  return n <= 2 ? n : n - 1;
}

export class WorkerPool extends Emitter<WorkerPoolEvents> {
  private readonly options: WorkerPoolOptions;
  private readonly supervisor: WorkerSupervisor;
  private readonly queue = new JobQueue();
  /** The jobs each busy worker runs: one tile, or the tiles of a block. */
  private readonly running = new Map<WorkerSlot, readonly TileJob[]>();
  /** The worker that answered the last adaptation: it holds that head's ensemble basis. */
  private lastFitter: WorkerSlot | undefined;
  /** Workers working for an adaptation: they get no tile jobs until done. */
  private readonly reserved = new Set<WorkerSlot>();
  /** Contour traces sent to each worker and not yet answered. */
  private readonly tracing = new Map<WorkerSlot, number>();
  /** Finished tiles, with the cells their worker traced (a view that comes back to a tile needs them too). */
  private readonly cache: ByteLru<
    string,
    { probabilities: Float32Array; contours?: TracedContours; uncertainty?: Uint8Array }
  >;
  private counts = { jobs: 0, cacheHits: 0, blocks: 0 };
  /** `margin`: the loaded extractors' receptive-field margin (what a block reads around itself). */
  private extractors?: { readonly key: string; mpp?: number; margin?: number };
  private head?: string;
  private nextSlideKey = 1;
  private nextExtractorsKey = 1;
  private closed = false;
  /** Adaptations waiting for a worker to be ready (their fitter died and a replacement is starting). */
  private readonly readyWaiters = new Set<() => void>();
  /** Why no worker could be started again, once that happened. */
  private noWorkers?: string;
  /** Set while newViewport's rejoin runs: nothing starts before the old view's callers left. */
  private rejoining = false;
  /** The newest viewport version whose most urgent tile ran alone (blockOf: centre first). */
  private aloneView = -1;
  private readonly onDisplayIdle = () => this.pump();

  private constructor(options: WorkerPoolOptions) {
    super();
    this.options = options;
    this.cache = new ByteLru(
      options.cacheBytes ?? 256 * 2 ** 20,
      (t) => t.probabilities.byteLength + contourBytes(t) + (t.uncertainty?.byteLength ?? 0),
    );
    const assets = resolveAssets(options);
    const createWorker =
      options.createWorker ?? ((i: number) => startModuleWorker(assets.worker, `openseadragon-fewshot ${i}`));
    // Workers of the pool's own making are told the asset URLs the page resolved; in-thread ones
    // (Node) find their files themselves, unless told a place.
    const told = !options.createWorker || options.assetsBaseUrl !== undefined || options.wasmPaths !== undefined;
    const { backends, allowSoftwareGpu, patchMemoBytes } = options;
    this.supervisor = new WorkerSupervisor(
      createWorker,
      { ...(told ? { assets: workerAssets(assets) } : {}), backends, allowSoftwareGpu, patchMemoBytes },
      {
        changed: () => this.emit('workers', this.supervisor.statuses),
        ready: () => {
          this.pump();
          this.wakeReadyWaiters();
        },
        died: (slot, why) => this.lost(slot, why),
        noneLeft: (why) => {
          this.noWorkers = why;
          this.queue.dropWhere(() => true, why);
          this.wakeReadyWaiters();
        },
      },
    );
    if (options.displayFirst ?? true) displayReads.addEventListener('idle', this.onDisplayIdle);
  }

  /** Starts the workers and their backends; resolves once every one reported its backend. */
  static async create(options: WorkerPoolOptions = {}): Promise<WorkerPool> {
    const n = options.workers ?? defaultWorkerCount(globalThis.navigator?.hardwareConcurrency);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`workers must be a positive integer, got ${n}`);
    if (options.tiling !== undefined) checkTiling(options.tiling);
    const pool = new WorkerPool(options);
    try {
      await pool.supervisor.startAll(n);
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.supervisor.size;
  }

  get workers(): readonly WorkerStatus[] {
    return this.supervisor.statuses;
  }

  get stats(): PoolStats {
    const { jobs, cacheHits, blocks } = this.counts;
    return { jobs, shared: this.queue.shared, cacheHits, blocks };
  }

  /** µm per pixel the loaded extractors expect (undefined before setExtractors). */
  get extractorMpp(): number | undefined {
    return this.extractors?.mpp;
  }

  /**
   * The grid at the extractors' scale for a slide of this pool (inference-grid.ts): tiles of
   * it are what predictTile's `inference` takes. `slideMpp` states the slide's scale where the
   * file does not (or is wrong); otherwise an unknown scale is assumed equal to the extractors'
   * and the grid's `note` says so.
   */
  inferenceGrid(slide: PoolSlide, options: InferenceGridOptions = {}): InferenceGrid {
    const mpp = this.extractors?.mpp;
    if (mpp === undefined) throw new PoolStateError('set the extractors first: the grid is at their scale');
    return inferenceGrid(slide.info, mpp, options);
  }

  /** Where the slide has tissue, computed in a worker from a small overview (tissue-mask.ts). */
  async tissueMask(
    slide: PoolSlide,
    options: { maxSide?: number; minSaturation?: number; signal?: AbortSignal } = {},
  ): Promise<TissueMask> {
    const slot = this.supervisor.live().find((s) => s.hasSlide(slide.key));
    if (!slot) throw new PoolStateError(`slide ${slide.key} is not open in this pool`);
    return slot.tissueMask(slide.key, options);
  }

  /** The current viewport version. */
  get viewportVersion(): number {
    return this.queue.viewportVersion;
  }

  /**
   * Starts a new viewport: callers of older versions are dropped; a job left without callers is
   * taken out of the queue, or aborted if running. Returns the new version. What `rejoin` asks
   * for (with the new version) joins the jobs the old view had queued or running before they are
   * dropped: a tile still in view goes on where it was (job-queue.ts).
   */
  newViewport(rejoin?: (version: number) => void): number {
    if (!rejoin) return this.queue.newViewport();
    this.rejoining = true;
    try {
      return this.queue.newViewport(rejoin);
    } finally {
      this.rejoining = false;
      this.pump();
    }
  }

  /** Opens the slide in every worker; a URL slide's bytes are read once for all of them (shared-slide.ts). */
  async openSlide(slide: SlideDescription): Promise<PoolSlide> {
    const key = this.nextSlideKey++;
    const shared = await shareSlide(slide);
    if (this.closed) {
      shared.release();
      throw new PoolStateError('the worker pool is closed');
    }
    try {
      return { key, info: await this.supervisor.openSlide(key, shared) };
    } catch (err) {
      shared.release();
      throw err;
    }
  }

  /**
   * Loads extractors into every worker. `key` names the set for the tile cache (default: the
   * URL, or a new name per call). Queued jobs of other extractors are dropped (they would need
   * a head fitted on those). `warnings`: what loading could not check (a bundle without checksum
   * or probe, models/FORMAT.md#integrity).
   */
  async setExtractors(
    source: ExtractorSource,
    key?: string,
  ): Promise<{ extractors: readonly { name: string; depth: number }[]; mpp: number; warnings?: readonly string[] }> {
    const k =
      key ??
      (source.kind === 'url' ? `url:${source.url}` : `set-${this.nextExtractorsKey++}`) +
        (source.stain && source.stain !== 'none' ? `|stain:${source.stain}` : '');
    this.extractors = { key: k };
    this.head = undefined;
    this.queue.dropWhere((job) => job.extractorsKey !== k, 'the extractors changed');
    const loaded = await this.supervisor.loadExtractors(k, source);
    if (this.extractors.key === k) {
      this.extractors.mpp = loaded.mpp;
      this.extractors.margin = receptiveMarginOfDepths(loaded.extractors.map((e) => e.depth));
    }
    return loaded;
  }

  /** Sets the head in every worker; returns its cache key. Queued jobs of another head are dropped. */
  async setHead(head: HeadWeights): Promise<string> {
    if (!this.extractors) throw new Error('set the extractors before the head');
    const W = Array.from(head.W);
    const members = head.members?.map((m) => ({ W: Array.from(m.W), b: m.b }));
    // With an ensemble the tiles carry uncertainty: another key, so the cache does not answer with tiles without.
    const key = members?.length ? `${headKey(W, head.b)}+${ensembleKey(members)}` : headKey(W, head.b);
    this.head = key;
    this.queue.dropWhere((job) => job.headKey !== key, 'the head changed');
    await this.supervisor.setHead(key, { W, b: head.b, ...(members?.length ? { members } : {}) });
    return key;
  }

  /**
   * The most 512² tiles one job of `tiling` computes in one forward ('whole': blocks of at most
   * blockMegapixels; 'patches': 1): a caller with many tiles (a region run) keeps that many per
   * worker with the pool so that blocks can form.
   */
  blockTiles(tiling: Tiling = this.tiling): number {
    const margin = this.extractors?.margin;
    if (tiling !== 'whole' || margin === undefined) return 1;
    return maxBlockTiles(OUTPUT_TILE_SIZE, margin, this.blockReadPixels());
  }

  private blockReadPixels(): number {
    return (this.options.blockMegapixels ?? DEFAULT_BLOCK_MEGAPIXELS) * 1e6;
  }

  /**
   * Fits the ensemble of a head this pool just adapted (core/adaptation/head-ensemble.ts), in the
   * worker that fitted it, from what that fit kept: no feature is computed again. The worker gets
   * no tile jobs meanwhile. Rejects with AdaptError 'no-basis' when that worker is gone or has
   * fitted another head since (adapt again), with a PoolStateError when the pool adapted nothing.
   */
  async fitEnsemble(
    head: { readonly W: readonly number[]; readonly b: number },
    options: Partial<EnsembleOptions> = {},
    control: { readonly signal?: AbortSignal; readonly onProgress?: (progress: EnsembleProgress) => void } = {},
  ): Promise<HeadEnsemble> {
    if (this.closed) throw new PoolStateError('the worker pool is closed');
    const slot = this.lastFitter;
    if (!slot || !this.supervisor.live().includes(slot))
      throw new AdaptError('no-basis', 'the worker that fitted the head is gone: adapt again for its ensemble');
    this.reserved.add(slot);
    try {
      return await slot.fitEnsemble({ W: Array.from(head.W), b: head.b }, options, control.signal, control.onProgress);
    } finally {
      this.reserved.delete(slot);
      this.pump();
    }
  }

  /** How tiles are computed when a request does not say. */
  get tiling(): Tiling {
    return this.options.tiling ?? DEFAULT_TILING;
  }

  /**
   * The probabilities of one output tile, by the request's tiling (default the pool's): from the
   * cache, from the job already computing it, or from the next free worker.
   */
  predictTile(request: TileRequest): Promise<TileResult> {
    if (this.closed) return Promise.reject(new PoolStateError('the worker pool is closed'));
    const { extractors, head } = this;
    if (!extractors || !head)
      return Promise.reject(new PoolStateError('set the extractors and a head before predicting'));
    const slideKey = request.slide.key;
    if (!this.supervisor.slides.has(slideKey)) {
      return Promise.reject(new PoolStateError(`slide ${slideKey} is not open in this pool`));
    }
    const version = request.version === undefined ? this.queue.viewportVersion : request.version;
    if (request.signal?.aborted) return Promise.reject(abortError('the tile was aborted'));
    if (version !== null && version < this.queue.viewportVersion)
      return Promise.reject(abortError('the view moved on'));
    let tiling: Tiling;
    try {
      tiling = checkTiling(request.tiling ?? this.tiling);
    } catch (err) {
      return Promise.reject(err);
    }
    const { tile } = request;
    const target = request.inference ? { inference: request.inference } : { level: request.level };
    const key = tileCacheKey({
      slide: slideKey,
      target,
      tile,
      extractors: extractors.key,
      head,
      tiling,
      patchGrid: this.options.grid,
    });
    const hit = this.cache.get(key);
    if (hit) {
      this.counts.cacheHits++;
      return Promise.resolve({
        probabilities: hit.probabilities,
        patches: 0,
        cached: true,
        ...(hit.contours ? { contours: hit.contours } : {}),
        ...(hit.uncertainty ? { uncertainty: hit.uncertainty } : {}),
      });
    }
    const contourThreshold = request.contours?.threshold;
    const spec = () => ({
      slideKey,
      target,
      tile,
      extractorsKey: extractors.key,
      headKey: head,
      tiling,
      ...(contourThreshold !== undefined ? { contourThreshold } : {}),
    });
    const result = this.queue.join(key, spec, { priority: request.priority, version, signal: request.signal });
    this.pump();
    return result;
  }

  /**
   * Fits a head to support patches (adapt.ts) in one of the workers, which reads their pixels
   * from the slide itself at the inference grid's scale; x, y are grid pixels. The worker is
   * chosen idle if one is. The support features, the part that scales with the patches, are
   * spread over the idle workers ('support-features', each reading its share of the patches),
   * the fitter taking a share too; then the fitter gets them all (transferred) and fits. While
   * they work for the fit they get no tile jobs, and each helper is free again as soon as its
   * share is done: tiles keep going to the others. A helper that dies leaves its share to the
   * fitter.
   *
   * A fitter that dies (crash, out of memory, terminateWorker) does not lose the adaptation: it
   * runs again on another ready worker, or on the dead one's replacement once that is configured,
   * computing all features itself (those sent to the dead worker went with it), up to
   * `maxAttempts` deaths; then it rejects with a WorkerDied that says so. The request (patches,
   * masks) is only read, never transferred, so the caller's support set is untouched either way.
   */
  async adapt(request: AdaptRequest, control: AdaptControl = {}): Promise<AdaptAnswer> {
    if (this.closed) throw new PoolStateError('the worker pool is closed');
    if (!this.extractors) throw new PoolStateError('set the extractors before adapting');
    const extractorsKey = this.extractors.key;
    const ready = this.supervisor.live().filter((s) => s.ready);
    const idle = ready.filter((s) => !this.running.has(s) && !this.reserved.has(s));
    const slot = idle[0] ?? ready[0];
    if (!slot) throw new PoolStateError('no worker is running');
    if (!slot.hasSlide(request.slide.key))
      throw new PoolStateError(`slide ${request.slide.key} is not open in this pool`);
    const { slide, grid, patches, options, metadata } = request;
    const target = { inference: grid };
    const { signal, onProgress } = control;
    // Features by several workers only on the kernels engine (the TF.js one computes its own).
    const helpers =
      options?.engine === 'tfjs'
        ? [slot]
        : [slot, ...idle.filter((s) => s !== slot && s.hasSlide(slide.key))].slice(0, patches.length);
    this.reserved.add(slot);
    helpers.forEach((h) => this.reserved.add(h));
    /** The worker fitting: `slot`, or the one it went to after the earlier fitter died. */
    let fitter = slot;
    try {
      let features: (PatchFeatures | null)[] | undefined;
      let spread: { workers: number; features: number; lost: number } | undefined;
      if (helpers.length > 1) {
        const started = performance.now();
        features = patches.map(() => null);
        let done = 0;
        // Patch k to helper k mod n: shares differ by at most one patch.
        const shares = helpers.map((_, i) => patches.flatMap((_, k) => (k % helpers.length === i ? [k] : [])));
        const outcomes = await Promise.allSettled(
          helpers.map(async (helper, i) => {
            try {
              const share = shares[i];
              const computed = await helper.supportFeatures(
                { slideKey: slide.key, target, patches: share.map((k) => patches[k]), extractorsKey },
                signal,
              );
              share.forEach((k, j) => (features![k] = computed[j]));
              done += share.length;
              onProgress?.({ phase: 'features', done, total: patches.length });
            } finally {
              if (helper !== slot) {
                this.reserved.delete(helper);
                this.pump();
              }
            }
          }),
        );
        signal?.throwIfAborted();
        for (const o of outcomes) {
          // A dead helper's share is computed by the fitter (its patches keep null); any other
          // failure (a bad patch, the wrong extractors) is the adaptation's.
          if (o.status === 'rejected' && !(o.reason instanceof WorkerDied)) throw o.reason;
        }
        const lost = features.filter((f) => f === null).length;
        spread = { workers: helpers.length, features: performance.now() - started, lost };
      }
      const maxAttempts = this.options.maxAttempts ?? 3;
      let answer: AdaptAnswer;
      for (let attempt = 1; ; attempt++) {
        const fit = { slideKey: slide.key, target, patches, options, metadata, features };
        try {
          answer = await fitter.adapt(
            fit,
            signal,
            // The fitter reports features only for what it computes itself; counted above otherwise.
            spread ? (p) => p.phase !== 'features' && onProgress?.(p) : onProgress,
          );
          // It keeps what the head's ensemble is fitted from (fitEnsemble).
          this.lastFitter = fitter;
          break;
        } catch (err) {
          if (!(err instanceof WorkerDied) || signal?.aborted) throw err;
          if (attempt >= maxAttempts)
            throw new WorkerDied(`the adaptation was given up: its worker died ${attempt} times (${err.message})`);
          // The features were transferred to the worker that died: the next fitter computes them all.
          features = undefined;
          spread = undefined;
          this.reserved.delete(fitter);
          fitter = await this.readyWorker(slide.key, signal);
          this.reserved.add(fitter);
        }
      }
      if (!spread) return answer;
      const t = answer.report.timings;
      const report: AdaptReport = {
        ...answer.report,
        distributed: spread,
        timings: { ...t, features: t.features + spread.features, total: t.total + spread.features },
      };
      return { head: answer.head, report };
    } finally {
      helpers.forEach((h) => this.reserved.delete(h));
      this.reserved.delete(slot);
      this.reserved.delete(fitter);
      this.pump();
    }
  }

  /**
   * A configured live worker with the slide for an adaptation whose fitter died: an idle one if
   * any, else any ready one (its adapt queues behind its tile), else the first to become ready.
   */
  private async readyWorker(slideKey: number, signal: AbortSignal | undefined): Promise<WorkerSlot> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.closed) throw new PoolStateError('the worker pool is closed');
      if (this.noWorkers !== undefined) throw new PoolStateError(this.noWorkers);
      const ready = this.supervisor.live().filter((s) => s.ready && s.hasSlide(slideKey));
      const found = ready.find((s) => !this.running.has(s) && !this.reserved.has(s)) ?? ready[0];
      if (found) return found;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.readyWaiters.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.readyWaiters.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  private wakeReadyWaiters(): void {
    for (const wake of [...this.readyWaiters]) wake();
  }

  /** RGB bytes of a rectangle of a slide level, read by a worker (thumbnails, exports). */
  async readRegion(slide: PoolSlide, level: number, rect: Rect, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.closed) throw new PoolStateError('the worker pool is closed');
    const slot = this.supervisor.live().find((s) => s.ready && s.hasSlide(slide.key));
    if (!slot) throw new PoolStateError(`slide ${slide.key} is not open in any running worker`);
    return slot.readRegion(slide.key, level, rect, signal);
  }

  /**
   * The cells of a probability map at a threshold, traced in a worker: an idle one if any, else
   * the one with the fewest traces waiting (it answers once its current tile is done).
   */
  async traceContours(request: ContourRequest): Promise<TracedContours> {
    if (this.closed) throw new PoolStateError('the worker pool is closed');
    const { signal, transfer, ...map } = request;
    signal?.throwIfAborted();
    const ready = this.supervisor.live().filter((s) => s.ready);
    if (ready.length === 0) throw new PoolStateError('no worker is running');
    const load = (s: WorkerSlot) =>
      (this.running.has(s) || this.reserved.has(s) ? ready.length : 0) + (this.tracing.get(s) ?? 0);
    const slot = ready.reduce((best, s) => (load(s) < load(best) ? s : best));
    this.tracing.set(slot, (this.tracing.get(slot) ?? 0) + 1);
    try {
      return await slot.traceContours(map, signal, transfer);
    } finally {
      const left = this.tracing.get(slot)! - 1;
      if (left > 0) this.tracing.set(slot, left);
      else this.tracing.delete(slot);
    }
  }

  /**
   * Window descriptors for the next-patch ranking (core/active/region-descriptors.ts), the
   * regions shared out over the idle workers with the slide (all ready ones when none is idle,
   * where they queue behind the tile each computes).
   */
  async windowDescriptors(request: WindowDescriptorRequest): Promise<Float32Array[][]> {
    if (this.closed) throw new PoolStateError('the worker pool is closed');
    if (!this.extractors) throw new PoolStateError('set the extractors before describing windows');
    const { slide, grid, regions, signal } = request;
    signal?.throwIfAborted();
    const ready = this.supervisor.live().filter((s) => s.ready && s.hasSlide(slide.key));
    if (ready.length === 0) throw new PoolStateError(`slide ${slide.key} is not open in any running worker`);
    const idle = ready.filter((s) => !this.running.has(s) && !this.reserved.has(s));
    const helpers = (idle.length > 0 ? idle : ready).slice(0, Math.max(1, regions.length));
    const out: Float32Array[][] = regions.map(() => []);
    const extractorsKey = this.extractors.key;
    await Promise.all(
      helpers.map(async (helper, i) => {
        const share = regions.flatMap((_, k) => (k % helpers.length === i ? [k] : []));
        if (share.length === 0) return;
        const target = { inference: grid };
        const request = { slideKey: slide.key, target, regions: share.map((k) => regions[k]), extractorsKey };
        const computed = await helper.windowDescriptors(request, signal);
        share.forEach((k, j) => (out[k] = computed[j]));
      }),
    );
    return out;
  }

  /** TF.js memory of one worker (after the work queued there before it). */
  memory(index: number): Promise<{ numTensors: number; numBytes: number; backend: string }> {
    return this.supervisor.slot(index).memory();
  }

  /**
   * Ends one worker as a crash would: it is replaced, configured again, and its job re-queued.
   * (A Worker terminated from outside fires no event, so the pool has to be told.)
   */
  terminateWorker(index: number): void {
    this.supervisor.terminate(index);
  }

  close(): void {
    this.closed = true;
    displayReads.removeEventListener('idle', this.onDisplayIdle);
    this.queue.dropWhere(() => true, 'the worker pool was closed');
    this.supervisor.close('the worker pool was closed');
    this.wakeReadyWaiters();
  }

  /** A worker died: its job goes back in the queue, or is given up after maxAttempts deaths. */
  private lost(slot: WorkerSlot, why: string): void {
    const jobs = this.running.get(slot);
    this.running.delete(slot);
    const giveUp = (attempts: number) => new Error(`tile given up: its worker died ${attempts} times (${why})`);
    for (const job of jobs ?? []) this.queue.retry(job, this.options.maxAttempts ?? 3, giveUp);
  }

  /** Gives each idle worker the most urgent job it can run, with the tiles that join it in a block. */
  private pump(): void {
    if (this.rejoining || this.closed) return;
    const live = this.supervisor.live();
    // While the display waits for reads, one worker's core is the display's: the others go on.
    const displayWaits = (this.options.displayFirst ?? true) && displayReads.pending > 0;
    const limit = displayWaits ? live.length - 1 : Infinity;
    let busy = live.filter((s) => this.running.has(s) || this.reserved.has(s)).length;
    for (const slot of live) {
      if (busy >= limit) return;
      if (!slot.ready || this.running.has(slot) || this.reserved.has(slot)) continue;
      busy++;
      const job = this.queue.take();
      if (!job) return;
      void this.run(slot, this.blockOf(job, slot, live));
    }
  }

  /**
   * The seed and the queued tiles that join it in one forward: adjacent 'whole' tiles of the
   * same slide, pixels, model and contour threshold, and like the seed in view or not (a region
   * run's tiles never slow a view's), reading at most blockMegapixels. A view's tiles are cut
   * into strips for the shortest fill on all workers (core/inference/block-partition.ts: each
   * other worker counted with the pixels its running block reads); a region run's grow as
   * rectangles of their share of the tiles (core/inference/tile-block.ts). The first tile a new
   * view hands out runs alone: its centre tile as fast as one tile goes (first-tile latency:
   * 0.26 MP for a 256² tile, against 1.95 MP for half a full-HD view), the rest of the view in
   * blocks beside and after it.
   */
  private blockOf(seed: TileJob, slot: WorkerSlot, live: readonly WorkerSlot[]): TileJob[] {
    const margin = this.extractors?.margin;
    const { spec } = seed;
    if (spec.tiling !== 'whole' || margin === undefined) return [seed];
    const view = JobQueue.newestView(seed);
    if (view !== null && view > this.aloneView) {
      this.aloneView = view;
      return [seed];
    }
    const inView = view !== null;
    const pixels = pixelsKey(spec.target);
    const candidates = this.queue.waiting.filter(
      (j) =>
        j.spec.tiling === 'whole' &&
        j.spec.slideKey === spec.slideKey &&
        j.spec.extractorsKey === spec.extractorsKey &&
        j.spec.headKey === spec.headKey &&
        j.spec.contourThreshold === spec.contourThreshold &&
        (JobQueue.newestView(j) !== null) === inView &&
        pixelsKey(j.spec.target) === pixels,
    );
    if (candidates.length === 0) return [seed];
    const tiles = candidates.map((j) => j.spec.tile);
    const maxReadPixels = this.blockReadPixels();
    const workers = live.filter((s) => s.ready && !this.reserved.has(s));
    const joining = (
      inView
        ? partitionBlock(spec.tile, tiles, {
            maxReadPixels,
            margin,
            otherLoads: workers.filter((s) => s !== slot).map((s) => this.readPixelsOf(s, margin)),
          })
        : growBlock(spec.tile, tiles, {
            maxTiles: Math.ceil((candidates.length + 1) / Math.max(1, workers.length)),
            maxReadPixels,
            margin,
          })
    ).map((i) => candidates[i]);
    for (const j of joining) this.queue.takeJob(j);
    return [seed, ...joining];
  }

  /** What the job running on `slot` reads (its block with the margin), 0 when idle: its load. */
  private readPixelsOf(slot: WorkerSlot, margin: number): number {
    const jobs = this.running.get(slot);
    return jobs ? blockReadPixels(boundsOf(jobs.map((j) => j.spec.tile)), margin) : 0;
  }

  private async run(slot: WorkerSlot, jobs: readonly TileJob[]): Promise<void> {
    this.running.set(slot, jobs);
    this.counts.jobs += jobs.length;
    if (jobs.length > 1) this.counts.blocks++;
    const ended = new Map<TileJob, JobEvent['type']>();
    const event = (job: TileJob, type: JobEvent['type']) =>
      this.emit('job', { type, key: job.key, tile: job.spec.tile, worker: slot.index });
    jobs.forEach((job) => event(job, 'started'));
    // Each job's signal of this run (a job re-queued after its worker died gets a new one).
    const signals = new Map(jobs.map((job) => [job, job.controller!.signal]));
    const aborted = (job: TileJob) => signals.get(job)!.aborted;
    // A block's forward is aborted only once none of its tiles is wanted: the others' callers
    // still wait, and a tile whose callers left is computed with them and cached all the same.
    let signal = signals.get(jobs[0])!;
    if (jobs.length > 1) {
      const block = new AbortController();
      const left = () => jobs.every(aborted) && block.abort();
      for (const s of signals.values()) s.addEventListener('abort', left, { once: true });
      signal = block.signal;
    }
    try {
      const results =
        jobs.length === 1
          ? [await slot.predictTile(jobs[0].spec, this.options.grid, signal)]
          : (
              await slot.predictBlock(
                jobs.map((j) => j.spec),
                signal,
              )
            ).map((r) => ({ ...r, patches: 1 }));
      jobs.forEach((job, i) => {
        const r = results[i];
        ended.set(job, aborted(job) ? 'aborted' : 'finished');
        const extra = {
          ...(r.contours ? { contours: r.contours } : {}),
          ...(r.uncertainty ? { uncertainty: r.uncertainty } : {}),
        };
        this.cache.set(job.key, { probabilities: r.probabilities, ...extra });
        // Work whose callers all left may still finish first: it is cached but never delivered.
        if (!aborted(job))
          this.queue.resolve(job, {
            probabilities: r.probabilities,
            patches: r.patches,
            cached: false,
            worker: slot.index,
            ...extra,
          });
      });
    } catch (err) {
      for (const job of jobs) {
        if (aborted(job)) ended.set(job, 'aborted');
        // A dead worker's jobs were re-queued by `lost`; an abort was already answered to its callers.
        else if (!(err instanceof WorkerDied)) this.queue.reject(job, err);
      }
    } finally {
      if (this.running.get(slot) === jobs) this.running.delete(slot);
      jobs.forEach((job) => event(job, ended.get(job) ?? 'failed'));
      this.pump();
    }
  }
}

/** Bytes of a cached tile's traced rings. */
function contourBytes(tile: { contours?: TracedContours }): number {
  let bytes = 0;
  for (const cell of tile.contours?.cells ?? []) for (const ring of cell.rings) bytes += ring.byteLength;
  return bytes;
}
