import type { AdaptOptions, AdaptProgress, AdaptReport } from '../../core/adaptation/adapt.js';
import type { PatchFeatures } from '../../core/adaptation/support-row-features.js';
import type { HeadEnsemble, HeadJson } from '../../core/adaptation/head.js';
import type { EnsembleOptions, EnsembleProgress } from '../../core/adaptation/ensemble-options.js';
import type { GridOptions } from '../../core/inference/patch-grid.js';
import type { Tiling } from '../../core/inference/tiling.js';
import type { Rect } from '../../core/math/rect.js';
import type { BackendName } from '../../core/msd/backend-name.js';
import type { GpuAdapterSummary } from '../../core/msd/gpu-adapter.js';
import type { HeadEngine } from '../../core/inference/head-engine.js';
import type { WasmPaths } from '../../core/msd/wasm-paths.js';
import type { TileTarget } from '../../core/session/compute.js';
import type { GridPatch } from '../../core/support-set/support-patches.js';
import type { TissueMask } from '../../core/slide/tissue-mask.js';
import type { TracedContours, TraceWindow } from '../../core/cells/traced-contours.js';
import type { DescriptorRegion } from '../../core/active/region-descriptors.js';
import type {
  ExtractorSource,
  HeadWeights,
  SlideInfo,
  WorkerAssets,
  WorkerLike,
  WorkerResponse,
} from '../../worker/protocol.js';
import type { SharedSlide, SlideLink } from '../slide/shared-slide.js';
import { WorkerChannel, WorkerDied, type RequestBody } from './worker-channel.js';

/** What a worker's backend is started with (the pool's options). */
export interface BackendOptions {
  /** Told to the worker first (set-assets): where its WebAssembly is. */
  readonly assets?: WorkerAssets;
  readonly backends?: readonly BackendName[];
  readonly wasmPaths?: WasmPaths;
  readonly allowSoftwareGpu?: boolean;
  readonly patchMemoBytes?: number;
}

/** One tile for a worker: the slide by the pool's key, its pixels, and the model it was queued for. */
export interface TileJobSpec {
  readonly slideKey: number;
  readonly target: TileTarget;
  readonly tile: Rect;
  readonly extractorsKey: string;
  readonly headKey: string;
  readonly tiling: Tiling;
  /** The worker also traces the tile's cells at this threshold. */
  readonly contourThreshold?: number;
}

export interface AdaptRequest {
  readonly slideKey: number;
  readonly target: TileTarget;
  readonly patches: readonly GridPatch[];
  readonly options?: Partial<Omit<AdaptOptions, 'metadata'>>;
  readonly metadata?: Record<string, unknown>;
  /** Features of some patches computed by other workers (null: this worker computes them); transferred. */
  readonly features?: readonly (PatchFeatures | null)[];
}

/** Some support patches whose features a worker computes for an adaptation elsewhere. */
export interface SupportFeaturesRequest {
  readonly slideKey: number;
  readonly target: TileTarget;
  readonly patches: AdaptRequest['patches'];
  readonly extractorsKey: string;
}

/** The buffers of precomputed features, to transfer rather than copy. */
function featureBuffers(features: readonly (PatchFeatures | null)[] | undefined): ArrayBuffer[] {
  return (features ?? []).flatMap((f) =>
    f ? [f.positive.buffer as ArrayBuffer, f.negative.buffer as ArrayBuffer] : [],
  );
}

/** The answer of type T, or an error naming the request: a worker answering otherwise is a bug. */
function expect<T extends WorkerResponse['type']>(
  r: WorkerResponse,
  type: T,
  request: string,
): Extract<WorkerResponse, { type: T }> {
  if (r.type !== type) throw new Error(`unexpected answer '${r.type}' to ${request}`);
  return r as Extract<WorkerResponse, { type: T }>;
}

/**
 * One worker and what the pool has told it: its channel, its backend, the ids it gave the pool's
 * slides. Its methods are the protocol's requests, typed. It dies once (crash, unreadable message
 * or kill); the pool's supervisor then puts a new slot in its place.
 */
export class WorkerSlot {
  private readonly channel: WorkerChannel;
  /** The worker's id of each pool slide open in it, by the pool's slide key. */
  private readonly slideIds = new Map<number, number>();
  /** The links its slides were opened over, closed when it dies (a dead worker's port would keep serving nothing). */
  private readonly links = new Set<SlideLink>();
  /** Configured as the pool's other workers: it may take tile jobs. */
  ready = false;
  backend?: BackendName;
  /** Why backends tried before `backend` did not start. */
  failures: readonly string[] = [];
  /** The WebGPU adapter the worker sees (real or software), if any. */
  gpu?: GpuAdapterSummary;
  /** What runs the forward of the head set last (the fused kernels on webgpu). */
  headEngine?: HeadEngine;

  constructor(
    readonly index: number,
    worker: WorkerLike,
    onDeath: (slot: WorkerSlot, why: string) => void,
  ) {
    this.channel = new WorkerChannel(worker);
    worker.onerror = (event) => {
      event.preventDefault();
      onDeath(this, `worker ${index} failed: ${event.message || 'it could not be loaded'}`);
    };
    worker.onmessageerror = () => onDeath(this, `worker ${index} sent a message that could not be read`);
  }

  get dead(): boolean {
    return this.channel.closed;
  }

  /** Terminates the worker; its pending and later calls reject with WorkerDied, and its slides' links close. */
  kill(why: string): void {
    this.channel.close(new WorkerDied(why));
    for (const link of this.links) link.close();
    this.links.clear();
  }

  hasSlide(slideKey: number): boolean {
    return this.slideIds.has(slideKey);
  }

  async startBackend({ assets, ...options }: BackendOptions): Promise<void> {
    if (assets) expect(await this.call({ type: 'set-assets', assets }), 'assets-set', 'set-assets');
    const r = expect(await this.call({ type: 'init-backend', ...options }), 'backend', 'init-backend');
    this.backend = r.backend;
    this.failures = r.failures;
    this.gpu = r.gpu;
  }

  /** Opens the slide over a link of its own (a URL slide's byte port), which ends when this worker does. */
  async openSlide(slideKey: number, shared: SharedSlide): Promise<SlideInfo> {
    const link = shared.link();
    this.links.add(link);
    try {
      const opened = await this.channel.call({ type: 'open', slide: link.slide }, undefined, undefined, link.transfer);
      const r = expect(opened, 'opened', 'open');
      this.slideIds.set(slideKey, r.info.slideId);
      return r.info;
    } catch (err) {
      link.close();
      this.links.delete(link);
      throw err;
    }
  }

  async loadExtractors(
    key: string,
    source: ExtractorSource,
  ): Promise<Extract<WorkerResponse, { type: 'extractors-loaded' }>> {
    return expect(await this.call({ type: 'load-extractors', key, source }), 'extractors-loaded', 'load-extractors');
  }

  async setHead(key: string, head: HeadWeights): Promise<void> {
    this.headEngine = expect(await this.call({ type: 'set-head', key, head }), 'head-set', 'set-head').engine;
  }

  /** `grid`: the patch grid of a 'patches' job. */
  async predictTile(
    job: TileJobSpec,
    grid: GridOptions | undefined,
    signal: AbortSignal,
  ): Promise<{ probabilities: Float32Array; patches: number; contours?: TracedContours; uncertainty?: Uint8Array }> {
    const { target, tile, extractorsKey, headKey, contourThreshold } = job;
    const base = {
      type: 'predict-tile',
      slideId: this.slideId(job.slideKey),
      target,
      tile,
      extractorsKey,
      headKey,
      ...(contourThreshold !== undefined ? { contours: { threshold: contourThreshold } } : {}),
    } as const;
    // The patch grid means something only to patches.
    const body =
      job.tiling === 'patches' ? { ...base, tiling: 'patches' as const, grid } : { ...base, tiling: 'whole' as const };
    const r = expect(await this.call(body, signal), 'probabilities', 'predict-tile');
    return {
      probabilities: r.probabilities,
      patches: r.patches,
      ...(r.contours ? { contours: r.contours } : {}),
      ...(r.uncertainty ? { uncertainty: r.uncertainty } : {}),
    };
  }

  /**
   * Several adjacent 'whole' tiles of one slide, target and model in one forward (a block,
   * core/inference/tile-block.ts): `jobs` share everything but the tile. One answer per job, in order.
   */
  async predictBlock(
    jobs: readonly TileJobSpec[],
    signal: AbortSignal,
  ): Promise<{ probabilities: Float32Array; contours?: TracedContours; uncertainty?: Uint8Array }[]> {
    const [{ slideKey, target, extractorsKey, headKey, contourThreshold }] = jobs;
    const body = {
      type: 'predict-block',
      slideId: this.slideId(slideKey),
      target,
      tiles: jobs.map((j) => j.tile),
      extractorsKey,
      headKey,
      ...(contourThreshold !== undefined ? { contours: { threshold: contourThreshold } } : {}),
    } as const;
    const r = expect(await this.call(body, signal), 'block-probabilities', 'predict-block');
    return r.tiles.map((t) => ({
      probabilities: t.probabilities,
      ...(t.contours ? { contours: t.contours } : {}),
      ...(t.uncertainty ? { uncertainty: t.uncertainty } : {}),
    }));
  }

  /** The cells of a probability map at a threshold, traced in this worker (the map copied, or moved: `transfer`). */
  async traceContours(
    request: { probabilities: Float32Array; width: number; height: number; threshold: number; window?: TraceWindow },
    signal?: AbortSignal,
    transfer = false,
  ): Promise<TracedContours> {
    const moved = transfer ? [request.probabilities.buffer as ArrayBuffer] : [];
    return expect(
      await this.call({ type: 'trace-contours', ...request }, signal, undefined, moved),
      'contours',
      'trace-contours',
    ).contours;
  }

  async adapt(
    request: AdaptRequest,
    signal?: AbortSignal,
    onProgress?: (progress: AdaptProgress) => void,
  ): Promise<{ head: HeadJson; report: AdaptReport }> {
    const { slideKey, ...rest } = request;
    const body = { type: 'adapt', slideId: this.slideId(slideKey), ...rest } as const;
    const r = expect(
      await this.call(body, signal, onProgress as ((p: unknown) => void) | undefined, featureBuffers(request.features)),
      'adapted',
      'adapt',
    );
    return { head: r.head, report: r.report };
  }

  /** The ensemble of the head this worker adapted last (head-ensemble.ts), from the basis it kept. */
  async fitEnsemble(
    head: { W: readonly number[]; b: number },
    options: Partial<EnsembleOptions> | undefined,
    signal?: AbortSignal,
    onProgress?: (progress: EnsembleProgress) => void,
  ): Promise<HeadEnsemble> {
    const body = { type: 'fit-ensemble', head, ...(options ? { options } : {}) } as const;
    const r = expect(
      await this.call(body, signal, onProgress as ((p: unknown) => void) | undefined),
      'ensemble',
      'fit-ensemble',
    );
    return r.ensemble;
  }

  /** The support features of some patches, computed in this worker for an adaptation in another. */
  async supportFeatures(request: SupportFeaturesRequest, signal?: AbortSignal): Promise<readonly PatchFeatures[]> {
    const { slideKey, ...rest } = request;
    const body = { type: 'support-features', slideId: this.slideId(slideKey), ...rest } as const;
    return expect(await this.call(body, signal), 'support-features', 'support-features').features;
  }

  /** Window descriptors of some regions (core/active/region-descriptors.ts), computed in this worker. */
  async windowDescriptors(
    request: { slideKey: number; target: TileTarget; regions: readonly DescriptorRegion[]; extractorsKey: string },
    signal?: AbortSignal,
  ): Promise<readonly Float32Array[][]> {
    const { slideKey, ...rest } = request;
    const body = { type: 'window-descriptors', slideId: this.slideId(slideKey), ...rest } as const;
    return expect(await this.call(body, signal), 'window-descriptors', 'window-descriptors').descriptors;
  }

  async readRegion(slideKey: number, level: number, rect: Rect, signal?: AbortSignal): Promise<Uint8Array> {
    const r = expect(
      await this.call({ type: 'read', slideId: this.slideId(slideKey), level, ...rect }, signal),
      'pixels',
      'read',
    );
    return r.pixels;
  }

  async tissueMask(
    slideKey: number,
    options: { maxSide?: number; minSaturation?: number; signal?: AbortSignal },
  ): Promise<TissueMask> {
    const { maxSide, minSaturation, signal } = options;
    const body = { type: 'tissue-mask', slideId: this.slideId(slideKey), maxSide, minSaturation } as const;
    return expect(await this.call(body, signal), 'tissue-mask', 'tissue-mask').mask;
  }

  /** TF.js memory of this worker (after the work queued there before it). */
  async memory(): Promise<{ numTensors: number; numBytes: number; backend: string }> {
    const r = expect(await this.call({ type: 'memory' }), 'memory', 'memory');
    return { numTensors: r.numTensors, numBytes: r.numBytes, backend: r.backend };
  }

  private slideId(slideKey: number): number {
    const id = this.slideIds.get(slideKey);
    if (id === undefined) throw new Error(`slide ${slideKey} is not open in worker ${this.index}`);
    return id;
  }

  /** A dead worker's channel rejects every call with the WorkerDied it was closed with. */
  private call(
    body: RequestBody,
    signal?: AbortSignal,
    onProgress?: (progress: unknown) => void,
    transfer?: Transferable[],
  ): Promise<WorkerResponse> {
    return this.channel.call(body, signal, onProgress, transfer);
  }
}
