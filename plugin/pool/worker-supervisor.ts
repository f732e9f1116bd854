import type { BackendName } from '../../core/msd/backend-name.js';
import type { GpuAdapterSummary } from '../../core/msd/gpu-adapter.js';
import type { HeadEngine } from '../../core/inference/head-engine.js';
import type { SharedSlide } from '../slide/shared-slide.js';
import type { ExtractorSource, HeadWeights, SlideInfo, WorkerLike } from '../../worker/protocol.js';
import { WorkerSlot, type BackendOptions } from './worker-slot.js';

export interface WorkerStatus {
  readonly index: number;
  readonly backend?: BackendName;
  /** Why backends tried before `backend` did not start. */
  readonly failures: readonly string[];
  /** The WebGPU adapter the worker sees, real or software (absent where there is none). */
  readonly gpu?: GpuAdapterSummary;
  /** What runs the forward of the head set last: 'msd-webgpu' on webgpu, 'msd-simd' on wasm. */
  readonly headEngine?: HeadEngine;
  /** How many times this slot's worker has been replaced. */
  readonly restarts: number;
}

/** What the supervisor tells its pool. */
export interface SupervisorHost {
  /** A worker started its backend, or died and was replaced: `statuses` changed. */
  changed(): void;
  /** A worker is configured and idle: it can take a job. */
  ready(): void;
  /** A worker died (it was killed, crashed or sent garbage); its replacement is starting. */
  died(slot: WorkerSlot, why: string): void;
  /** A replacement could not start and no worker is left running. */
  noneLeft(why: string): void;
}

/**
 * Keeps N workers running and configured alike: each is told the same backend options, open
 * slides, extractors and head, in that order. The configuration is kept here so that when a
 * worker dies, the one started in its place is told all of it again before it takes work.
 */
export class WorkerSupervisor {
  private readonly slots: WorkerSlot[] = [];
  private readonly restarts: number[] = [];
  /** What every worker has been told, by the pool's slide key; each worker links to a slide itself. */
  readonly slides = new Map<number, SharedSlide>();
  private extractors?: { readonly key: string; readonly source: ExtractorSource };
  private head?: { readonly key: string; readonly head: HeadWeights };
  /** The configuration of each worker still starting, settled once it is ready or failed. */
  private readonly configured = new Map<WorkerSlot, Promise<void>>();
  private closed = false;

  constructor(
    private readonly createWorker: (index: number) => WorkerLike,
    private readonly backendOptions: BackendOptions,
    private readonly host: SupervisorHost,
  ) {}

  /** Starts workers 0…n−1; resolves once every one is configured. */
  startAll(n: number): Promise<void> {
    return Promise.all(Array.from({ length: n }, (_, i) => this.start(i))).then(() => undefined);
  }

  get size(): number {
    return this.slots.length;
  }

  slot(index: number): WorkerSlot {
    return this.slots[index];
  }

  /** The workers not dead (configured or still starting), by index. */
  live(): WorkerSlot[] {
    return this.slots.filter((s) => !s.dead);
  }

  get statuses(): readonly WorkerStatus[] {
    return this.slots.map((s) => ({
      index: s.index,
      backend: s.backend,
      failures: s.failures,
      ...(s.gpu ? { gpu: s.gpu } : {}),
      ...(s.headEngine ? { headEngine: s.headEngine } : {}),
      restarts: this.restarts[s.index],
    }));
  }

  /** Opens a slide in every worker; resolves with the first one's description of it. */
  async openSlide(key: number, slide: SharedSlide): Promise<SlideInfo> {
    this.slides.set(key, slide);
    try {
      const infos = await Promise.all(this.slots.map((s) => s.openSlide(key, slide)));
      return infos[0];
    } catch (err) {
      this.slides.delete(key);
      throw err;
    }
  }

  /** Loads extractors into every live worker (their head goes: it was fitted on the old ones). */
  async loadExtractors(
    key: string,
    source: ExtractorSource,
  ): Promise<{
    extractors: readonly { name: string; depth: number }[];
    mpp: number;
    warnings?: readonly string[];
  }> {
    this.extractors = { key, source };
    this.head = undefined;
    // Only configured workers are told here: one still starting takes the newest configuration
    // itself, in order (start), as a set-head sent before its extractors would be refused.
    let targets = this.live().filter((s) => s.ready);
    if (targets.length === 0) {
      // Every worker is being replaced: ask the first that comes up (it loads these itself first).
      await Promise.any(this.live().map((s) => this.configured.get(s))).catch(() => {
        throw new Error('no worker is running to load the extractors');
      });
      targets = this.live().filter((s) => s.ready);
    }
    const answers = await Promise.all(targets.map((s) => s.loadExtractors(key, source)));
    if (answers.length === 0) throw new Error('no worker loaded the extractors');
    const { extractors, mpp, warnings } = answers[0];
    return { extractors, mpp, ...(warnings ? { warnings } : {}) };
  }

  /** Sets the head in every configured worker (one still starting sets the newest head itself). */
  async setHead(key: string, head: HeadWeights): Promise<void> {
    this.head = { key, head };
    await Promise.all(
      this.live()
        .filter((s) => s.ready)
        .map((s) => s.setHead(key, head)),
    );
  }

  /**
   * Ends one worker as a crash would: it is replaced and configured again. (A Worker terminated
   * from outside fires no event, so the supervisor has to be told.)
   */
  terminate(index: number): void {
    this.onDeath(this.slots[index], `worker ${index} was terminated`);
  }

  /** Ends the workers and lets go of the slides. */
  close(why: string): void {
    this.closed = true;
    for (const s of this.slots) s.kill(why);
    for (const slide of this.slides.values()) slide.release();
    this.slides.clear();
  }

  private start(index: number): Promise<void> {
    const slot = new WorkerSlot(index, this.createWorker(index), (s, why) => this.onDeath(s, why));
    this.slots[index] = slot;
    this.restarts[index] ??= 0;
    const configured = this.configure(slot);
    this.configured.set(slot, configured);
    configured.then(
      () => this.configured.delete(slot),
      () => this.configured.delete(slot),
    );
    return configured;
  }

  private async configure(slot: WorkerSlot): Promise<void> {
    await slot.startBackend(this.backendOptions);
    this.host.changed();
    // Configuration messages are handled in order by the worker, so they can all be sent now.
    await Promise.all([...this.slides].map(([key, slide]) => slot.openSlide(key, slide)));
    // Extractors or a head set while this worker was being configured are not sent to it
    // (loadExtractors, setHead): it takes the newest of each before it counts as ready.
    let extractors: typeof this.extractors;
    let head: typeof this.head;
    do {
      if (this.extractors !== extractors) {
        extractors = this.extractors;
        if (extractors) await slot.loadExtractors(extractors.key, extractors.source);
        head = undefined;
      }
      if (this.head !== head) {
        head = this.head;
        if (head) await slot.setHead(head.key, head.head);
      }
    } while (this.extractors !== extractors || this.head !== head);
    slot.ready = true;
    this.host.ready();
  }

  private onDeath(slot: WorkerSlot, why: string): void {
    if (slot.dead || this.slots[slot.index] !== slot) return;
    slot.kill(why);
    if (this.closed) return;
    this.restarts[slot.index]++;
    this.host.died(slot, why);
    this.start(slot.index).catch((err) => {
      // Closing the pool kills a replacement still being configured: nothing went wrong.
      if (this.closed) return;
      // A replacement that cannot even start leaves the pool smaller; with no workers left,
      // nothing could ever run the queue.
      console.error(`worker ${slot.index} could not be replaced:`, err);
      if (this.live().every((s) => !s.ready)) this.host.noneLeft(`no worker could start (${String(err)})`);
    });
    // The replacement is in the slot now (starting): its status has no backend yet.
    this.host.changed();
  }
}
