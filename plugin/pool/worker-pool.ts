import type { AdaptOptions, AdaptProgress, AdaptReport } from '../../core/adaptation/adapt.js';
import type { HeadJson } from '../../core/adaptation/head.js';
import { inferenceGrid, type InferenceGrid, type InferenceGridOptions } from '../../core/inference/inference-grid.js';
import type { GridOptions, Rect } from '../../core/inference/patch-grid.js';
import type { SlideDescription } from '../../core/slide/pixel-source.js';
import type { ExtractorSource, HeadWeights, SlideInfo, WorkerLike, WorkerResponse } from '../../worker/protocol.js';
import type { BackendName } from '../../core/msd/tf-backend.js';
import type { TissueMask } from '../../core/slide/tissue-mask.js';
import { DEFAULT_WORKER_URL } from '../assets.js';
import { PoolStateError, type PoolSlide, type TileRequest, type TileResult } from '../../core/session/compute.js';

export { PoolStateError, type PoolSlide, type TileRequest, type TileResult, type TileTarget } from '../../core/session/compute.js';
import { WorkerChannel, WorkerDied, type RequestBody } from './worker-channel.js';

/**
 * Runs inference tiles on N module workers. Each worker holds the same configuration (backend,
 * open slides, extractors, head), replayed onto a replacement when one dies. Jobs wait in one
 * priority queue (lowest number first: the caller passes e.g. the distance from the view's
 * centre) tagged with a viewport version; starting a new viewport drops older queued jobs and
 * aborts running ones, and their results are never delivered. Finished tiles are cached by
 * slide, level (or inference grid), rectangle, extractor set, head and patch grid. Callers asking
 * for a tile that is already queued or running share that one job (a view and a region run often
 * want the same tile); the job is dropped only when every caller has gone.
 */

export interface WorkerPoolOptions {
  /** Default: navigator.hardwareConcurrency − 1 (one core left for the page), at least 1. */
  readonly workers?: number;
  readonly workerUrl?: URL | string;
  /** Makes worker `index` (default: a module Web Worker from workerUrl); e.g. in-thread workers in Node. */
  readonly createWorker?: (index: number) => WorkerLike;
  /** Backends to try in order (named ones may be software GPUs); default: the automatic choice. */
  readonly backends?: readonly BackendName[];
  readonly wasmPaths?: string;
  readonly allowSoftwareGpu?: boolean;
  /** Patch size and stride (default: 256 and 64). */
  readonly grid?: GridOptions;
  /** Bytes of finished tiles kept; default 256 MiB. */
  readonly cacheBytes?: number;
  /** Bytes of patch probabilities each worker keeps for neighbouring tiles (default 64 MiB; 0 turns it off). */
  readonly patchMemoBytes?: number;
  /** A job whose worker died this many times is given up. Default 3. */
  readonly maxAttempts?: number;
}

/** What the pool did, for benchmarks, tests and a status line. */
export interface PoolStats {
  /** Tile jobs handed to a worker (a re-run after a worker died counts again). */
  readonly jobs: number;
  /** Requests that joined a job already queued or running instead of starting one. */
  readonly shared: number;
  readonly cacheHits: number;
}

export interface WorkerStatus {
  readonly index: number;
  readonly backend?: BackendName;
  /** Why backends tried before `backend` did not start. */
  readonly failures: readonly string[];
  /** How many times this slot's worker has been replaced. */
  readonly restarts: number;
}

const abortError = (why: string) => new DOMException(why, 'AbortError');

/** FNV-1a over a string: a short, stable cache key for a head. */
function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** One caller of a job. */
interface Waiter {
  readonly priority: number;
  readonly version: number | null;
  resolve(r: TileResult): void;
  reject(e: unknown): void;
}

interface Job {
  readonly seq: number;
  readonly slideKey: number;
  readonly level: number;
  readonly tile: Rect;
  readonly scaled?: { readonly width: number; readonly height: number };
  readonly cacheKey: string;
  readonly extractorsKey: string;
  readonly headKey: string;
  readonly waiters: Set<Waiter>;
  attempts: number;
  slot?: Slot;
  controller?: AbortController;
}

/** The most urgent priority among a job's callers. */
function priorityOf(job: Job): number {
  let p = Infinity;
  for (const w of job.waiters) p = Math.min(p, w.priority);
  return p;
}

/** One worker and what the pool has told it. */
class Slot {
  readonly worker: WorkerLike;
  private readonly channel: WorkerChannel;
  readonly slideIds = new Map<number, number>();
  ready = false;
  job?: Job;
  backend?: BackendName;
  failures: readonly string[] = [];

  constructor(readonly index: number, worker: WorkerLike, onDeath: (slot: Slot, why: string) => void) {
    this.worker = worker;
    this.channel = new WorkerChannel(this.worker);
    this.worker.onerror = (event) => {
      event.preventDefault();
      onDeath(this, `worker ${index} failed: ${event.message || 'it could not be loaded'}`);
    };
    this.worker.onmessageerror = () => onDeath(this, `worker ${index} sent a message that could not be read`);
  }

  get dead(): boolean {
    return this.channel.closed;
  }

  call(body: RequestBody, signal?: AbortSignal, onProgress?: (progress: unknown) => void): Promise<WorkerResponse> {
    if (this.dead) return Promise.reject(new WorkerDied(`worker ${this.index} is gone`));
    return this.channel.call(body, signal, onProgress);
  }

  kill(why: string): void {
    this.channel.close(new WorkerDied(why));
  }
}

export class WorkerPool {
  private readonly options: WorkerPoolOptions;
  private readonly url: URL | string;
  private readonly slots: Slot[] = [];
  private readonly restarts: number[] = [];
  private readonly queue: Job[] = [];
  /** Queued and running jobs that still have callers, by cache key: where a new caller joins. */
  private readonly inflight = new Map<string, Job>();
  private counts = { jobs: 0, shared: 0, cacheHits: 0 };
  private readonly cache = new Map<string, { probabilities: Float32Array; patches: number }>();
  private cacheUsed = 0;
  private readonly slides = new Map<number, SlideDescription>();
  private extractors?: { key: string; source: ExtractorSource; mpp?: number };
  private head?: { key: string; head: HeadWeights };
  private nextSlideKey = 1;
  private nextExtractorsKey = 1;
  private seq = 0;
  private version = 0;
  private closed = false;

  private constructor(options: WorkerPoolOptions) {
    this.options = options;
    this.url = options.workerUrl ?? DEFAULT_WORKER_URL;
  }

  /** Starts the workers and their backends; resolves once every one reported its backend. */
  static async create(options: WorkerPoolOptions = {}): Promise<WorkerPool> {
    const n = options.workers ?? Math.max(1, (globalThis.navigator?.hardwareConcurrency ?? 2) - 1);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`workers must be a positive integer, got ${n}`);
    const pool = new WorkerPool(options);
    try {
      await Promise.all(Array.from({ length: n }, (_, i) => pool.start(i)));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  get workers(): readonly WorkerStatus[] {
    return this.slots.map((s) => ({ index: s.index, backend: s.backend, failures: s.failures, restarts: this.restarts[s.index] }));
  }

  get stats(): PoolStats {
    return { ...this.counts };
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
  async tissueMask(slide: PoolSlide, options: { maxSide?: number; minSaturation?: number; signal?: AbortSignal } = {}): Promise<TissueMask> {
    const slot = this.liveSlots().find((s) => s.slideIds.has(slide.key));
    const slideId = slot?.slideIds.get(slide.key);
    if (!slot || slideId === undefined) throw new PoolStateError(`slide ${slide.key} is not open in this pool`);
    const r = await slot.call({ type: 'tissue-mask', slideId, maxSide: options.maxSide, minSaturation: options.minSaturation }, options.signal);
    if (r.type !== 'tissue-mask') throw new Error(`unexpected answer '${r.type}' to tissue-mask`);
    return r.mask;
  }

  /** The current viewport version. */
  get viewportVersion(): number {
    return this.version;
  }

  /**
   * Starts a new viewport: callers of older versions are dropped; a job left without callers is
   * taken out of the queue, or aborted if running. Returns the new version.
   */
  newViewport(): number {
    this.version++;
    for (const job of [...this.inflight.values()]) {
      for (const w of [...job.waiters]) if (w.version !== null && w.version < this.version) this.leave(job, w, abortError('the view moved on'));
    }
    return this.version;
  }

  async openSlide(slide: SlideDescription): Promise<PoolSlide> {
    const key = this.nextSlideKey++;
    this.slides.set(key, slide);
    try {
      const infos = await Promise.all(this.slots.map((s) => this.openOn(s, key, slide)));
      return { key, info: infos[0] };
    } catch (err) {
      this.slides.delete(key);
      throw err;
    }
  }

  /**
   * Loads extractors into every worker. `key` names the set for the tile cache (default: the
   * URL, or a new name per call). Queued jobs of other extractors are dropped (they would need
   * a head fitted on those).
   */
  async setExtractors(source: ExtractorSource, key?: string): Promise<{ extractors: readonly { name: string; depth: number }[]; mpp: number }> {
    const k = key ?? (source.kind === 'url' ? `url:${source.url}` : `set-${this.nextExtractorsKey++}`);
    this.extractors = { key: k, source };
    this.head = undefined;
    this.dropWhere((job) => job.extractorsKey !== k, 'the extractors changed');
    const answers = await Promise.all(this.liveSlots().map((s) => this.loadOn(s)));
    const first = answers.find((a) => a !== undefined);
    if (!first || first.type !== 'extractors-loaded') throw new Error('no worker loaded the extractors');
    if (this.extractors.key === k) this.extractors.mpp = first.mpp;
    return { extractors: first.extractors, mpp: first.mpp };
  }

  /** Sets the head in every worker; returns its cache key. Queued jobs of another head are dropped. */
  async setHead(head: HeadWeights): Promise<string> {
    if (!this.extractors) throw new Error('set the extractors before the head');
    const W = Array.from(head.W);
    const key = `${W.length}:${hashString(JSON.stringify([W, head.b]))}`;
    this.head = { key, head: { W, b: head.b } };
    this.dropWhere((job) => job.headKey !== key, 'the head changed');
    await Promise.all(this.liveSlots().map((s) => this.headOn(s)));
    return key;
  }

  /**
   * The averaged probabilities of one output tile: from the cache, from the job already computing
   * it, or from the next free worker.
   */
  predictTile(request: TileRequest): Promise<TileResult> {
    if (this.closed) return Promise.reject(new PoolStateError('the worker pool is closed'));
    if (!this.extractors || !this.head) return Promise.reject(new PoolStateError('set the extractors and a head before predicting'));
    if (!this.slides.has(request.slide.key)) return Promise.reject(new PoolStateError(`slide ${request.slide.key} is not open in this pool`));
    const version = request.version === undefined ? this.version : request.version;
    if (request.signal?.aborted) return Promise.reject(abortError('the tile was aborted'));
    if (version !== null && version < this.version) return Promise.reject(abortError('the view moved on'));
    const { tile, inference } = request;
    const level = inference ? inference.level : request.level;
    const scaled = inference ? { width: inference.width, height: inference.height } : undefined;
    const grid = this.options.grid ?? {};
    const cacheKey = [request.slide.key, level, scaled ? `${scaled.width}x${scaled.height}` : '', tile.x, tile.y, tile.width, tile.height, this.extractors.key, this.head.key, grid.patchSize ?? '', grid.stride ?? ''].join('|');
    const hit = this.cache.get(cacheKey);
    if (hit) {
      // Refresh its place in the LRU order.
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, hit);
      this.counts.cacheHits++;
      return Promise.resolve({ probabilities: hit.probabilities, patches: 0, cached: true });
    }
    return new Promise<TileResult>((resolve, reject) => {
      let job = this.inflight.get(cacheKey);
      if (job) this.counts.shared++;
      else {
        job = {
          seq: this.seq++,
          slideKey: request.slide.key,
          level,
          tile,
          scaled,
          cacheKey,
          extractorsKey: this.extractors!.key,
          headKey: this.head!.key,
          waiters: new Set(),
          attempts: 0,
        };
        this.inflight.set(cacheKey, job);
        this.queue.push(job);
      }
      const { signal } = request;
      const onAbort = () => this.leave(job, waiter, abortError('the tile was aborted'));
      const waiter: Waiter = {
        priority: request.priority ?? 0,
        version,
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      job.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pump();
    });
  }

  /**
   * Fits a head to support patches (adapt.ts) in one of the workers, which reads their pixels
   * from the slide itself at the inference grid's scale; x, y are grid pixels. The worker is
   * chosen idle if one is, and its tile jobs wait until the fit is done.
   */
  async adapt(
    request: {
      readonly slide: PoolSlide;
      readonly grid: InferenceGrid;
      readonly patches: readonly { readonly x: number; readonly y: number; readonly size: number; readonly mask: Uint8Array }[];
      readonly options?: Partial<Omit<AdaptOptions, 'metadata'>>;
      readonly metadata?: Record<string, unknown>;
    },
    control: { readonly signal?: AbortSignal; readonly onProgress?: (progress: AdaptProgress) => void } = {},
  ): Promise<{ head: HeadJson; report: AdaptReport }> {
    if (this.closed) throw new PoolStateError('the worker pool is closed');
    if (!this.extractors) throw new PoolStateError('set the extractors before adapting');
    const live = this.liveSlots().filter((s) => s.ready);
    const slot = live.find((s) => !s.job) ?? live[0];
    if (!slot) throw new PoolStateError('no worker is running');
    const slideId = slot.slideIds.get(request.slide.key);
    if (slideId === undefined) throw new PoolStateError(`slide ${request.slide.key} is not open in this pool`);
    const { grid } = request;
    const r = await slot.call(
      { type: 'adapt', slideId, level: grid.level, scaled: { width: grid.width, height: grid.height }, patches: request.patches, options: request.options, metadata: request.metadata },
      control.signal,
      control.onProgress as ((p: unknown) => void) | undefined,
    );
    if (r.type !== 'adapted') throw new Error(`unexpected answer '${r.type}' to adapt`);
    return { head: r.head, report: r.report };
  }

  /** RGB bytes of a rectangle of a slide level, read by a worker (thumbnails, exports). */
  async readRegion(slide: PoolSlide, level: number, rect: Rect, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.closed) throw new PoolStateError('the worker pool is closed');
    const slot = this.liveSlots().find((s) => s.ready && s.slideIds.has(slide.key));
    if (!slot) throw new PoolStateError(`slide ${slide.key} is not open in any running worker`);
    const r = await slot.call({ type: 'read', slideId: slot.slideIds.get(slide.key)!, level, ...rect }, signal);
    if (r.type !== 'pixels') throw new Error(`unexpected answer '${r.type}' to read`);
    return r.pixels;
  }

  /** TF.js memory of one worker (after the work queued there before it). */
  async memory(index: number): Promise<{ numTensors: number; numBytes: number; backend: string }> {
    const r = await this.slots[index].call({ type: 'memory' });
    if (r.type !== 'memory') throw new Error(`unexpected answer '${r.type}' to memory`);
    return { numTensors: r.numTensors, numBytes: r.numBytes, backend: r.backend };
  }

  /**
   * Ends one worker as a crash would: it is replaced, configured again, and its job re-queued.
   * (A Worker terminated from outside fires no event, so the pool has to be told.)
   */
  terminateWorker(index: number): void {
    this.onDeath(this.slots[index], `worker ${index} was terminated`);
  }

  close(): void {
    this.closed = true;
    this.dropWhere(() => true, 'the worker pool was closed');
    for (const s of this.slots) s.kill('the worker pool was closed');
  }

  private liveSlots(): Slot[] {
    return this.slots.filter((s) => !s.dead);
  }

  /** Rejects every caller of the jobs matching `predicate` and retires those jobs. */
  private dropWhere(predicate: (job: Job) => boolean, why: string): void {
    for (const job of [...this.inflight.values()]) if (predicate(job)) this.settle(job, (w) => w.reject(abortError(why)));
  }

  /** One caller leaves a job; the last one to leave retires it. */
  private leave(job: Job, waiter: Waiter, reason: unknown): void {
    if (!job.waiters.delete(waiter)) return;
    waiter.reject(reason);
    if (job.waiters.size === 0) this.retire(job);
  }

  /** Ends a job for all its callers at once. */
  private settle(job: Job, each: (w: Waiter) => void): void {
    const waiters = [...job.waiters];
    job.waiters.clear();
    this.retire(job);
    for (const w of waiters) each(w);
  }

  /** Takes a job out of the queue and the in-flight map; a running one is aborted in its worker (its slot frees when the worker answers). */
  private retire(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.inflight.get(job.cacheKey) === job) this.inflight.delete(job.cacheKey);
    job.controller?.abort();
  }

  private async start(index: number): Promise<void> {
    const worker = this.options.createWorker?.(index) ?? new Worker(this.url, { type: 'module', name: `openseadragon-fewshot ${index}` });
    const slot = new Slot(index, worker, (s, why) => this.onDeath(s, why));
    this.slots[index] = slot;
    this.restarts[index] ??= 0;
    const answer = await slot.call({
      type: 'init-backend',
      backends: this.options.backends,
      wasmPaths: this.options.wasmPaths,
      allowSoftwareGpu: this.options.allowSoftwareGpu,
      patchMemoBytes: this.options.patchMemoBytes,
    });
    if (answer.type !== 'backend') throw new Error(`unexpected answer '${answer.type}' to init-backend`);
    slot.backend = answer.backend;
    slot.failures = answer.failures;
    // Configuration messages are handled in order by the worker, so they can all be sent now.
    await Promise.all([...this.slides].map(([key, slide]) => this.openOn(slot, key, slide)));
    await this.loadOn(slot);
    await this.headOn(slot);
    slot.ready = true;
    this.pump();
  }

  private async openOn(slot: Slot, key: number, slide: SlideDescription): Promise<SlideInfo> {
    const r = await slot.call({ type: 'open', slide });
    if (r.type !== 'opened') throw new Error(`unexpected answer '${r.type}' to open`);
    slot.slideIds.set(key, r.info.slideId);
    return r.info;
  }

  private async loadOn(slot: Slot): Promise<WorkerResponse | undefined> {
    if (!this.extractors) return undefined;
    const { key, source } = this.extractors;
    return slot.call({ type: 'load-extractors', key, source });
  }

  private async headOn(slot: Slot): Promise<void> {
    if (!this.head) return;
    await slot.call({ type: 'set-head', key: this.head.key, head: this.head.head });
  }

  private onDeath(slot: Slot, why: string): void {
    if (slot.dead || this.slots[slot.index] !== slot) return;
    const job = slot.job;
    slot.job = undefined;
    slot.kill(why);
    if (this.closed) return;
    this.restarts[slot.index]++;
    if (job && job.waiters.size > 0) {
      job.slot = undefined;
      job.controller = undefined;
      const attempts = ++job.attempts;
      if (attempts >= (this.options.maxAttempts ?? 3)) this.settle(job, (w) => w.reject(new Error(`tile given up: its worker died ${attempts} times (${why})`)));
      else this.queue.push(job);
    }
    this.start(slot.index).catch((err) => {
      // A replacement that cannot even start leaves the pool smaller; with no workers left,
      // nothing could ever run the queue.
      console.error(`worker ${slot.index} could not be replaced:`, err);
      if (this.liveSlots().every((s) => !s.ready)) this.dropWhere(() => true, `no worker could start (${String(err)})`);
    });
  }

  /** Gives each idle worker the most urgent job it can run. */
  private pump(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.dead || slot.job) continue;
      const job = this.takeNext();
      if (!job) return;
      this.run(slot, job);
    }
  }

  private takeNext(): Job | undefined {
    let best = -1;
    let bestPriority = Infinity;
    for (let i = 0; i < this.queue.length; i++) {
      const j = this.queue[i], p = priorityOf(j);
      if (best < 0 || p < bestPriority || (p === bestPriority && j.seq < this.queue[best].seq)) {
        best = i;
        bestPriority = p;
      }
    }
    return best < 0 ? undefined : this.queue.splice(best, 1)[0];
  }

  private async run(slot: Slot, job: Job): Promise<void> {
    slot.job = job;
    job.slot = slot;
    const controller = new AbortController();
    job.controller = controller;
    this.counts.jobs++;
    try {
      const slideId = slot.slideIds.get(job.slideKey);
      if (slideId === undefined) throw new Error(`slide ${job.slideKey} is not open in worker ${slot.index}`);
      const r = await slot.call(
        { type: 'predict-tile', slideId, level: job.level, tile: job.tile, scaled: job.scaled, extractorsKey: job.extractorsKey, headKey: job.headKey, grid: this.options.grid },
        controller.signal,
      );
      if (r.type !== 'probabilities') throw new Error(`unexpected answer '${r.type}' to predict-tile`);
      this.remember(job.cacheKey, r.probabilities, r.patches);
      // Work whose callers all left may still finish first: it is cached but never delivered.
      if (!controller.signal.aborted) this.settle(job, (w) => w.resolve({ probabilities: r.probabilities, patches: r.patches, cached: false, worker: slot.index }));
    } catch (err) {
      // A dead worker's job was re-queued by onDeath; an abort was already answered to its callers.
      if (!(err instanceof WorkerDied) && !controller.signal.aborted) this.settle(job, (w) => w.reject(err));
    } finally {
      if (slot.job === job) slot.job = undefined;
      this.pump();
    }
  }

  private remember(key: string, probabilities: Float32Array, patches: number): void {
    const budget = this.options.cacheBytes ?? 256 * 2 ** 20;
    if (probabilities.byteLength > budget) return;
    const old = this.cache.get(key);
    if (old) {
      this.cache.delete(key);
      this.cacheUsed -= old.probabilities.byteLength;
    }
    this.cache.set(key, { probabilities, patches });
    this.cacheUsed += probabilities.byteLength;
    for (const [k, v] of this.cache) {
      if (this.cacheUsed <= budget) break;
      this.cache.delete(k);
      this.cacheUsed -= v.probabilities.byteLength;
    }
  }
}
