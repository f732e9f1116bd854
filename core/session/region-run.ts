import { Emitter, type TypedEventTarget } from '../events/typed-events.js';
import { withEvents } from '../events/event-handle.js';
import type { InferenceGrid } from '../inference/inference-grid.js';
import type { PlannedTile, TileSet } from '../inference/tile-set.js';
import type { Tiling } from '../inference/tiling.js';
import { PoolStateError, type Compute, type PoolSlide } from './compute.js';
import type { TracedContours } from '../cells/traced-contours.js';

/**
 * A region or whole-slide run (issue 5, item 4): every tile of a TileSet (region-plan.ts: a
 * rectangle, the slide, its tissue; or view-plan.ts's `later`, what a budget left out) through
 * the worker pool, with progress, pause, resume and cancel, each result handed out as soon as
 * its tile finishes. Only a few tiles are with the pool at a time, so pausing is prompt, view
 * tiles (more urgent priority) overtake the run, and a whole slide's tiles are made as they are
 * needed. The keys of finished tiles are the resumable state: a new run given them skips them.
 *
 * The main thread only does bookkeeping here; skipping over many already-finished tiles when
 * resuming yields to the event loop every few milliseconds.
 */

/** What a run needs of the compute (a WorkerPool). */
export type TilePredictor = Pick<Compute, 'size' | 'predictTile' | 'blockTiles'>;

export interface RegionRunOptions {
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  readonly tiles: TileSet;
  /** How its tiles are computed (core/inference/tiling.ts); default the pool's. */
  readonly tiling?: Tiling;
  /** Keys of tiles an earlier run finished (its `completed()`): counted as done, not computed again. */
  readonly completed?: Iterable<string>;
  /**
   * Tiles with the pool at once; default two per worker, so no worker waits between tiles, and
   * with blocks ('whole' tiling, the pool's blockTiles k > 1) two blocks' worth per worker, 2·n·k:
   * a worker that finishes its block finds a whole one queued (the pool shares the queued tiles
   * among all workers). Give the tiles in bands of the blocks' height (region-plan.ts's bandRows)
   * so that the queued ones make rectangles. Pausing lets these finish: two blocks per worker.
   */
  readonly concurrency?: number;
  /** Pool priority of the run's tiles (lower runs sooner); default after every view tile. */
  readonly priority?: number;
  /** Start paused (call resume). */
  readonly paused?: boolean;
  /** Aborting cancels the run. */
  readonly signal?: AbortSignal;
}

/**
 * running → paused ⇄ running → finished (every tile done or failed); cancelled (by the caller);
 * interrupted (the pool stopped taking the run's tiles: closed, or its model changed — the
 * finished tiles stay valid for the model they were computed with).
 */
export type RunState = 'running' | 'paused' | 'finished' | 'cancelled' | 'interrupted';

export interface RunProgress {
  readonly totalTiles: number;
  readonly totalMegapixels: number;
  /** Finished, including tiles finished by an earlier run as the walk passes them. */
  readonly doneTiles: number;
  readonly doneMegapixels: number;
  readonly failedTiles: number;
  /** Tiles with the pool now (after pause, these still finish). */
  readonly runningTiles: number;
  /**
   * Output megapixels per second computed by this run (cached and earlier tiles not counted); undefined before a
   * tile finished.
   */
  readonly megapixelsPerSecond?: number;
  /** Seconds left at that rate; undefined while unknown. */
  readonly etaSeconds?: number;
  /** Seconds the run has had work with the pool (paused and idle time not counted). */
  readonly activeSeconds: number;
}

export interface TileDone extends PlannedTile {
  /** tile.width × tile.height probabilities, row-major (shared with the pool's cache: do not modify). */
  readonly probabilities: Float32Array;
  readonly cached: boolean;
  /** Its cells, traced by the worker, when the pool was asked for them (the request's `contours`). */
  readonly contours?: TracedContours;
  /** Its uncertainty from the head's ensemble, when the worker computed it (TileResult's). */
  readonly uncertainty?: Uint8Array;
}

export interface TileFailure {
  readonly tile: PlannedTile;
  readonly error: unknown;
}

export interface RunSummary {
  readonly state: Exclude<RunState, 'running' | 'paused'>;
  readonly progress: RunProgress;
  readonly failures: readonly TileFailure[];
  /** Why an interrupted run stopped. */
  readonly reason?: unknown;
}

/** `run.addEventListener('tile', (e) => e.detail.probabilities)`: each event's `detail`. */
export type RegionRunEvents = {
  /** A tile finished (in completion order, not plan order). */
  tile: TileDone;
  /** After every finished or failed tile, and while resuming skips finished ones. */
  progress: RunProgress;
  /** The new state. */
  state: RunState;
  /** A tile failed; the run goes on with the others. */
  failure: TileFailure;
};

export interface RegionRun extends TypedEventTarget<RegionRunEvents> {
  readonly state: RunState;
  readonly progress: RunProgress;
  /** Hands out no new tiles; those with the pool finish and are delivered. */
  pause(): void;
  resume(): void;
  /** Aborts the tiles with the pool; nothing more is delivered. */
  cancel(): void;
  /** Keys of every tile finished so far, earlier runs' included: the state to resume from. */
  completed(): string[];
  /** Settles (never rejects) when the run ends in any way. */
  readonly finished: Promise<RunSummary>;
}

// View tiles take their distance from the view's centre (pixels) as priority; this is beyond any.
const BACKGROUND_PRIORITY = 1e15;
// Longest stretch of synchronous bookkeeping before yielding to the page.
const SLICE_MS = 8;

const isAbort = (e: unknown) => (e as { name?: string } | undefined)?.name === 'AbortError';

export function createRegionRun(pool: TilePredictor, options: RegionRunOptions): RegionRun {
  const { slide, grid, tiles, tiling } = options;
  const perJob = Math.max(1, pool.blockTiles?.(tiling) ?? 1);
  const concurrency = options.concurrency ?? Math.max(1, 2 * pool.size * perJob);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const priority = options.priority ?? BACKGROUND_PRIORITY;
  const completed = new Set(options.completed ?? []);
  const controller = new AbortController();
  const iterator = tiles[Symbol.iterator]();
  // A listener that throws is reported as an uncaught error (the page's console; Node's
  // uncaughtException) and stops neither the run nor the other listeners.
  const events = new Emitter<RegionRunEvents>();
  const emit = events.emit.bind(events);
  const failures: TileFailure[] = [];
  let state: RunState = options.paused ? 'paused' : 'running';
  let exhausted = false;
  let walking = false;
  let inFlight = 0;
  let doneTiles = 0,
    doneMp = 0,
    failedTiles = 0,
    failedMp = 0,
    computedMp = 0;
  // Active time: while the run has tiles with the pool or is handing them out.
  let activeMs = 0;
  let activeSince: number | undefined;
  let settle!: (s: RunSummary) => void;
  const finished = new Promise<RunSummary>((resolve) => (settle = resolve));

  function activeSeconds(): number {
    return (activeMs + (activeSince === undefined ? 0 : performance.now() - activeSince)) / 1000;
  }

  function trackActivity(): void {
    const active = inFlight > 0 || (state === 'running' && !exhausted);
    if (active && activeSince === undefined) activeSince = performance.now();
    if (!active && activeSince !== undefined) {
      activeMs += performance.now() - activeSince;
      activeSince = undefined;
    }
  }

  function progress(): RunProgress {
    const seconds = activeSeconds();
    const rate = computedMp > 0 && seconds > 0 ? computedMp / seconds : undefined;
    const left = Math.max(0, tiles.megapixels - doneMp - failedMp);
    return {
      totalTiles: tiles.count,
      totalMegapixels: tiles.megapixels,
      doneTiles,
      doneMegapixels: doneMp,
      failedTiles,
      runningTiles: inFlight,
      megapixelsPerSecond: rate,
      etaSeconds: rate !== undefined && state !== 'paused' ? left / rate : undefined,
      activeSeconds: seconds,
    };
  }

  function setState(next: RunState, reason?: unknown): void {
    if (state === next) return;
    state = next;
    if (next === 'cancelled' || next === 'interrupted') controller.abort();
    trackActivity();
    emit('state', next);
    if (next === 'finished' || next === 'cancelled' || next === 'interrupted') {
      settle({ state: next, progress: progress(), failures: [...failures], reason });
    }
  }

  const ended = () => state === 'finished' || state === 'cancelled' || state === 'interrupted';

  function checkFinished(): void {
    if (!ended() && exhausted && inFlight === 0) setState('finished');
  }

  function submit(t: PlannedTile): void {
    inFlight++;
    trackActivity();
    const request = {
      slide,
      inference: grid,
      tile: t.tile,
      tiling,
      priority,
      version: null,
      signal: controller.signal,
    };
    pool.predictTile(request).then(
      (r) => {
        inFlight--;
        if (ended()) return;
        completed.add(t.key);
        doneTiles++;
        doneMp += t.megapixels;
        if (!r.cached) computedMp += t.megapixels;
        trackActivity();
        emit('tile', {
          ...t,
          probabilities: r.probabilities,
          cached: r.cached,
          ...(r.contours ? { contours: r.contours } : {}),
          ...(r.uncertainty ? { uncertainty: r.uncertainty } : {}),
        });
        emit('progress', progress());
        void walk();
      },
      (error: unknown) => {
        inFlight--;
        if (ended()) return;
        trackActivity();
        if (error instanceof PoolStateError || isAbort(error)) {
          // Not this tile's fault: the pool stopped (closed, model replaced). Another tile would fare no better.
          setState('interrupted', error);
          return;
        }
        failedTiles++;
        failedMp += t.megapixels;
        const failure = { tile: t, error };
        failures.push(failure);
        emit('failure', failure);
        emit('progress', progress());
        void walk();
      },
    );
  }

  /** Hands tiles to the pool up to `concurrency`, skipping finished ones, yielding now and then. */
  async function walk(): Promise<void> {
    if (walking) return;
    walking = true;
    try {
      let sliceStart = performance.now();
      let skipped = false;
      while (state === 'running' && !exhausted && inFlight < concurrency) {
        const next = iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const t = next.value;
        if (completed.has(t.key)) {
          doneTiles++;
          doneMp += t.megapixels;
          skipped = true;
        } else submit(t);
        if (performance.now() - sliceStart > SLICE_MS) {
          if (skipped) emit('progress', progress());
          skipped = false;
          await new Promise((resolve) => setTimeout(resolve, 0));
          sliceStart = performance.now();
        }
      }
      if (skipped) emit('progress', progress());
    } finally {
      walking = false;
    }
    trackActivity();
    checkFinished();
  }

  const run: RegionRun = withEvents(events, {
    get state() {
      return state;
    },
    get progress() {
      return progress();
    },
    pause() {
      if (state === 'running') setState('paused');
    },
    resume() {
      if (state !== 'paused') return;
      setState('running');
      void walk();
    },
    cancel() {
      if (!ended()) setState('cancelled');
    },
    completed: () => [...completed],
    finished,
  });

  if (options.signal?.aborted) setState('cancelled');
  else options.signal?.addEventListener('abort', () => run.cancel(), { once: true });
  // Listeners are attached after this returns: the first tiles go out on the next task.
  if (state === 'running') setTimeout(() => void walk(), 0);
  return run;
}
