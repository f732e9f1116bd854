import type { TileResult } from '../../core/session/compute.js';
import type { TileJobSpec } from './worker-slot.js';

/**
 * The pool's tile jobs, before and while they run: one priority queue (lowest number first: a
 * view passes e.g. the distance from its centre) whose callers are tagged with a viewport version,
 * and the sharing of a job by every caller of one tile (a view and a region run often want the
 * same tile). A caller leaving (abort, or its viewport superseded) drops only itself; the last
 * one to leave retires the job: out of the queue, or aborted in its worker.
 */

const abortError = (why: string) => new DOMException(why, 'AbortError');

/** One caller of a job. */
interface Waiter {
  readonly priority: number;
  /** Its viewport version; null: no viewport's (a region run), never superseded. */
  readonly version: number | null;
  resolve(r: TileResult): void;
  reject(e: unknown): void;
}

/** A tile asked for by one or more callers: it runs once for all of them. */
export interface TileJob {
  /** The tile cache key: what makes two requests the same job. */
  readonly key: string;
  readonly spec: TileJobSpec;
  /** Order of arrival: ties of priority run first come, first served. */
  readonly seq: number;
  readonly waiters: Set<Waiter>;
  /** Times it was running on a worker that died. */
  attempts: number;
  /** Set while it runs: aborted when its last caller leaves. */
  controller?: AbortController;
}

export interface Caller {
  readonly priority?: number;
  readonly version: number | null;
  readonly signal?: AbortSignal;
}

/** The most urgent priority among a job's callers. */
function priorityOf(job: TileJob): number {
  let p = Infinity;
  for (const w of job.waiters) p = Math.min(p, w.priority);
  return p;
}

export class JobQueue {
  private readonly queued: TileJob[] = [];
  /** Queued and running jobs that still have callers, by key: where a new caller joins. */
  private readonly jobs = new Map<string, TileJob>();
  private seq = 0;
  private version = 0;
  /** Callers that joined a job already queued or running instead of starting one. */
  shared = 0;

  /** The current viewport version. */
  get viewportVersion(): number {
    return this.version;
  }

  /**
   * Starts a new viewport: callers of older versions are dropped; a job left without callers is
   * taken out of the queue, or aborted if running. Returns the new version. `rejoin` is called
   * with the new version before the old callers leave: what it asks for joins the jobs still
   * queued or running for the old view, so a tile that stays in view keeps its place or its
   * worker (with the new caller's priority) instead of being aborted and started again.
   */
  newViewport(rejoin?: (version: number) => void): number {
    this.version++;
    rejoin?.(this.version);
    for (const job of [...this.jobs.values()]) {
      for (const w of [...job.waiters]) {
        if (w.version !== null && w.version < this.version) this.leave(job, w, abortError('the view moved on'));
      }
    }
    return this.version;
  }

  /** Adds a caller to the job of `key`, queued (made from `spec`) unless one is queued or running. */
  join(key: string, spec: () => TileJobSpec, caller: Caller): Promise<TileResult> {
    return new Promise<TileResult>((resolve, reject) => {
      let job = this.jobs.get(key);
      if (job) this.shared++;
      else {
        job = { key, spec: spec(), seq: this.seq++, waiters: new Set(), attempts: 0 };
        this.jobs.set(key, job);
        this.queued.push(job);
      }
      const { signal } = caller;
      const onAbort = () => this.leave(job, waiter, abortError('the tile was aborted'));
      const waiter: Waiter = {
        priority: caller.priority ?? 0,
        version: caller.version,
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
    });
  }

  /** Takes the most urgent queued job out of the queue to run it (callers may still join it). */
  take(): TileJob | undefined {
    let best = -1;
    let bestPriority = Infinity;
    for (let i = 0; i < this.queued.length; i++) {
      const j = this.queued[i],
        p = priorityOf(j);
      if (best < 0 || p < bestPriority || (p === bestPriority && j.seq < this.queued[best].seq)) {
        best = i;
        bestPriority = p;
      }
    }
    if (best < 0) return undefined;
    const job = this.queued[best];
    this.takeJob(job);
    return job;
  }

  /** The jobs waiting for a worker (to pick a block's other tiles from: tile-block.ts). */
  get waiting(): readonly TileJob[] {
    return this.queued;
  }

  /** Takes this queued job out of the queue to run it (with `take`'s, in one block). */
  takeJob(job: TileJob): void {
    const i = this.queued.indexOf(job);
    if (i < 0) throw new Error(`job ${job.key} is not queued`);
    this.queued.splice(i, 1);
    job.controller = new AbortController();
  }

  /** The newest viewport version among the job's callers; null when only region runs (no view) want it. */
  static newestView(job: TileJob): number | null {
    let newest: number | null = null;
    for (const w of job.waiters) if (w.version !== null && (newest === null || w.version > newest)) newest = w.version;
    return newest;
  }

  /**
   * Puts back a running job whose worker died, unless its callers all left. At its
   * `maxAttempts`-th death it is given up: its callers get `giveUp(attempts)` instead.
   */
  retry(job: TileJob, maxAttempts: number, giveUp: (attempts: number) => Error): void {
    if (job.waiters.size === 0) return;
    job.controller = undefined;
    const attempts = ++job.attempts;
    if (attempts >= maxAttempts) this.reject(job, giveUp(attempts));
    else this.queued.push(job);
  }

  /** Delivers a result to every caller of the job. */
  resolve(job: TileJob, result: TileResult): void {
    for (const w of this.settle(job)) w.resolve(result);
  }

  reject(job: TileJob, error: unknown): void {
    for (const w of this.settle(job)) w.reject(error);
  }

  /** Rejects every caller of the jobs whose spec matches with an AbortError, and retires those jobs. */
  dropWhere(predicate: (spec: TileJobSpec) => boolean, why: string): void {
    for (const job of [...this.jobs.values()]) if (predicate(job.spec)) this.reject(job, abortError(why));
  }

  /** One caller leaves a job; the last one to leave retires it. */
  private leave(job: TileJob, waiter: Waiter, reason: unknown): void {
    if (!job.waiters.delete(waiter)) return;
    waiter.reject(reason);
    if (job.waiters.size === 0) this.retire(job);
  }

  /** Ends a job for all its callers at once; returns them. */
  private settle(job: TileJob): Waiter[] {
    const waiters = [...job.waiters];
    job.waiters.clear();
    this.retire(job);
    return waiters;
  }

  /** Takes a job out of the queue and the map; a running one is aborted in its worker (which then answers). */
  private retire(job: TileJob): void {
    const i = this.queued.indexOf(job);
    if (i >= 0) this.queued.splice(i, 1);
    if (this.jobs.get(job.key) === job) this.jobs.delete(job.key);
    job.controller?.abort();
  }
}
