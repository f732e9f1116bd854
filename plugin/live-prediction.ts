import type OpenSeadragon from 'openseadragon';
import type { InferenceGrid } from '../core/inference/inference-grid.js';
import type { PlannedTile } from '../core/inference/tile-set.js';
import { DEFAULT_TILING, VIEW_TILE_SIZE, type Tiling } from '../core/inference/tiling.js';
import { planView, type ViewPlan } from '../core/inference/view-plan.js';
import { imageToElement, slideItem, viewQuad } from './layers/view-transform.js';
import type { Compute, PoolSlide, TileResult } from '../core/session/compute.js';

/**
 * Live mode: whenever the view settles, the output tiles it shows are asked of the pool, centre
 * first, up to a megapixel budget. A tile that leaves the view while it moves is let go at once
 * (its job dropped from the queue, or aborted in its worker, when no one else wants it); a tile
 * still in view keeps its job, queued or running: the new view's plan joins it before the old
 * view's callers leave (the pool's newViewport with a rejoin), so a small pan restarts nothing.
 * Before, every job of the old view was aborted at the first move: a pan of a few pixels threw
 * away the running tiles' work (up to a tile's 1.2–1.4 s per worker, measured on one wasm
 * thread) and began it again.
 */

export interface LivePrediction {
  readonly enabled: boolean;
  setEnabled(on: boolean): void;
  /** Plans and requests the view now (e.g. after the head changed), when enabled. */
  refresh(): void;
  /**
   * Plans and requests the view now once, enabled or not: with live off nothing follows later
   * moves, and turning live off does not cancel it (the panel's Predict view).
   */
  predictOnce(): void;
  /** The last plan: what is visible, done, and left out by the budget. */
  readonly plan: ViewPlan | undefined;
  destroy(): void;
}

export interface LivePredictionOptions {
  readonly viewer: OpenSeadragon.Viewer;
  /** The compute the tiles are asked of (the handle's WorkerPool). */
  readonly pool: Pick<Compute, 'predictTile' | 'newViewport'>;
  readonly slide: () => { readonly slide: PoolSlide; readonly grid: InferenceGrid } | undefined;
  /** How tiles are computed now (the session's tiling); default the pool's. */
  readonly tiling?: () => Tiling;
  /** Asked with each tile: the worker also traces its cells (TileRequest's `contours`), so the page need not. */
  readonly contours?: () => { readonly threshold: number } | undefined;
  /** Output megapixels computed by themselves per view. */
  readonly budgetMegapixels: () => number;
  /** Keys of tiles already shown for the current head: planned at no cost. */
  readonly done: () => ReadonlySet<string>;
  readonly onTile: (tile: PlannedTile, result: TileResult) => void;
  readonly onPlan?: (plan: ViewPlan) => void;
  readonly onError?: (error: unknown) => void;
  /** Quiet time after the view stops moving before planning (ms). */
  readonly settleMs?: number;
}

const isAbort = (e: unknown) => (e as { name?: string } | undefined)?.name === 'AbortError';

export function createLivePrediction(options: LivePredictionOptions): LivePrediction {
  const { viewer, pool } = options;
  let enabled = false;
  let plan: ViewPlan | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The tiles asked for and not answered yet, by key, each with its own abort. */
  let asked = new Map<string, { readonly tile: PlannedTile; readonly controller: AbortController }>();
  /** Whether the tiles in `asked` were asked once (predictOnce): turning live off leaves them. */
  let once = false;
  const abortAll = () => {
    for (const a of asked.values()) a.controller.abort();
    asked = new Map();
  };

  const visibleRect = () => {
    const item = slideItem(viewer);
    if (!item) return undefined;
    const size = viewer.viewport.getContainerSize();
    const q = viewQuad(imageToElement(viewer, item), size.x, size.y);
    const xs = [q[0], q[2], q[4], q[6]];
    const ys = [q[1], q[3], q[5], q[7]];
    const x = Math.min(...xs);
    const y = Math.min(...ys);
    return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
  };

  const run = (askedOnce = false) => {
    timer = undefined;
    const target = options.slide();
    const visible = visibleRect();
    if ((!enabled && !askedOnce) || !target || !visible) return;
    once = askedOnce;
    const tiling = options.tiling?.();
    plan = planView({
      grid: target.grid,
      visible,
      budgetMegapixels: options.budgetMegapixels(),
      done: options.done(),
      tileSize: VIEW_TILE_SIZE[tiling ?? DEFAULT_TILING],
    });
    options.onPlan?.(plan);
    const cx = visible.x + visible.width / 2;
    const cy = visible.y + visible.height / 2;
    const contours = options.contours?.();
    const previous = asked;
    asked = new Map();
    const ask = (tile: PlannedTile, version: number) => {
      const controller = new AbortController();
      const { signal } = controller;
      const entry = { tile, controller };
      asked.set(tile.key, entry);
      const { level0 } = tile;
      // Distance from the view's centre: the pool runs the most central tiles first.
      const priority = Math.hypot(level0.x + level0.width / 2 - cx, level0.y + level0.height / 2 - cy);
      pool
        .predictTile({
          slide: target.slide,
          inference: target.grid,
          tile: tile.tile,
          tiling,
          priority,
          version,
          signal,
          ...(contours ? { contours } : {}),
        })
        .then(
          (result) => {
            // A tile of a tiling no longer current is not the results' (they were dropped with it).
            if (!signal.aborted && options.tiling?.() === tiling) options.onTile(tile, result);
          },
          (err) => {
            if (!isAbort(err) && !signal.aborted) options.onError?.(err);
          },
        )
        .finally(() => {
          if (asked.get(tile.key) === entry) asked.delete(tile.key);
        });
    };
    // The new plan joins the jobs it shares with the old one before the old callers leave.
    pool.newViewport((version) => {
      for (const tile of plan!.now) ask(tile, version);
    });
    // The old view's own aborts (its callers have left with the version already).
    for (const a of previous.values()) a.controller.abort();
  };

  /** Lets go of the tiles asked for that the view no longer shows. */
  const dropHidden = () => {
    if (asked.size === 0) return;
    const v = visibleRect();
    if (!v) return abortAll();
    for (const [key, a] of asked) {
      const r = a.tile.level0;
      const shown = r.x < v.x + v.width && r.x + r.width > v.x && r.y < v.y + v.height && r.y + r.height > v.y;
      if (shown) continue;
      a.controller.abort();
      asked.delete(key);
    }
  };

  const schedule = () => {
    if (!enabled) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => run(), options.settleMs ?? 120);
  };
  // A pan or zoom lets go at once of the tiles that left the view; planning waits for the view to
  // settle, and the tiles still in view go on meanwhile.
  const onMove = () => {
    if (!enabled) return;
    dropHidden();
    schedule();
  };
  viewer.addHandler('animation-finish', schedule);
  viewer.addHandler('resize', schedule);
  viewer.addHandler('rotate', schedule);
  viewer.addHandler('flip', schedule);
  // Every change, animated or immediate (a programmatic jump fires no animation events).
  viewer.addHandler('viewport-change', onMove);

  return {
    get enabled() {
      return enabled;
    },
    setEnabled(on) {
      enabled = on;
      if (on) schedule();
      else {
        if (!once) abortAll();
        if (timer) clearTimeout(timer);
        timer = undefined;
      }
    },
    refresh() {
      if (enabled) run();
    },
    predictOnce() {
      run(true);
    },
    get plan() {
      return plan;
    },
    destroy() {
      enabled = false;
      abortAll();
      if (timer) clearTimeout(timer);
      viewer.removeHandler('animation-finish', schedule);
      viewer.removeHandler('resize', schedule);
      viewer.removeHandler('rotate', schedule);
      viewer.removeHandler('flip', schedule);
      viewer.removeHandler('viewport-change', onMove);
    },
  };
}
