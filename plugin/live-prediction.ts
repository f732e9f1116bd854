import type OpenSeadragon from 'openseadragon';
import type { InferenceGrid } from '../core/inference/inference-grid.js';
import type { PlannedTile } from '../core/inference/tile-set.js';
import type { Tiling } from '../core/inference/tiling.js';
import { planView, type ViewPlan } from '../core/inference/view-plan.js';
import { imageToElement, slideItem, viewQuad } from './layers/view-transform.js';
import type { Compute, PoolSlide, TileResult } from '../core/session/compute.js';

/**
 * Live mode: whenever the view settles, the output tiles it shows are asked of the pool, centre
 * first, up to a megapixel budget; a new view makes the pool drop or abort what the old one
 * still had queued (viewport versions), so stale work never runs long and is never drawn.
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
  let controller: AbortController | undefined;
  /** Whether the jobs under `controller` were asked once (predictOnce): turning live off leaves them. */
  let once = false;

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

  const run = (asked = false) => {
    timer = undefined;
    const target = options.slide();
    const visible = visibleRect();
    if ((!enabled && !asked) || !target || !visible) return;
    controller?.abort();
    controller = new AbortController();
    once = asked;
    const { signal } = controller;
    const version = pool.newViewport();
    plan = planView({ grid: target.grid, visible, budgetMegapixels: options.budgetMegapixels(), done: options.done() });
    options.onPlan?.(plan);
    const cx = visible.x + visible.width / 2;
    const cy = visible.y + visible.height / 2;
    const tiling = options.tiling?.();
    for (const tile of plan.now) {
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
        })
        .then(
          (result) => {
            // A tile of a tiling no longer current is not the results' (they were dropped with it).
            if (!signal.aborted && options.tiling?.() === tiling) options.onTile(tile, result);
          },
          (err) => {
            if (!isAbort(err) && !signal.aborted) options.onError?.(err);
          },
        );
    }
  };

  const schedule = () => {
    if (!enabled) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => run(), options.settleMs ?? 120);
  };
  // A pan or zoom invalidates the old view's queue at once; planning waits for the view to settle.
  const onMove = () => {
    if (!enabled) return;
    controller?.abort();
    pool.newViewport();
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
        if (!once) controller?.abort();
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
      controller?.abort();
      if (timer) clearTimeout(timer);
      viewer.removeHandler('animation-finish', schedule);
      viewer.removeHandler('resize', schedule);
      viewer.removeHandler('rotate', schedule);
      viewer.removeHandler('flip', schedule);
      viewer.removeHandler('viewport-change', onMove);
    },
  };
}
