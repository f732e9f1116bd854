import type { InferenceGrid } from '../inference/inference-grid.js';
import type { Tiling } from '../inference/tiling.js';
import { isAbortError } from '../slide/slide-error.js';
import { prefillLabels } from '../support-set/prefill.js';
import type { SupportSetStore } from '../support-set/support-set.js';
import type { Compute, PoolSlide } from './compute.js';

/**
 * Pre-filled patches (issue 14, item 1): once a head exists, a support patch the user places is
 * painted from the head's prediction of its pixels at the current threshold, as one undo step
 * (support-set.ts's prefillPatch), so the user corrects rather than paints.
 *
 * The probabilities come from the compute's predictTile over the patch's own 256² rectangle of
 * the inference grid, in the session's tiling: the very path of the prediction tiles (with
 * 'whole', a tile equals the same pixels of any other tile; with 'patches' the patch grid is
 * global), so the fill is what the mask layer shows there. The request is more urgent than any
 * view tile (priority −1; view tiles take their distance from the view's centre, ≥ 0) and belongs
 * to no viewport (a pan does not drop it): the user is waiting for it.
 *
 * One fill at a time. It is dropped (its request aborted through its AbortSignal) when:
 * - the user edits the patch before it arrives ('edited'): a fill never overwrites the user's
 *   strokes. Merging into the unpainted pixels was the alternative; but an erase stroke over the
 *   empty patch leaves background where it was, so "unpainted" cannot be told from "painted
 *   background", and the user who started to paint has chosen to paint;
 * - another patch is placed ('placed'), the patch is removed or the set replaced ('removed'),
 *   the head or the tiling changes ('model': the prediction would be another model's), or
 *   pre-filling is turned off ('off').
 * Patches put back by undo or redo are never pre-filled: they come back as they were.
 */

export type PrefillDropReason = 'edited' | 'placed' | 'removed' | 'model' | 'off';

/** `detail` of the session's 'prefill' event: how one patch's fill ended. */
export type PrefillOutcome =
  | {
      readonly id: string;
      readonly outcome: 'filled';
      /** Pixels painted class. */
      readonly classPixels: number;
      /** The threshold it was cut at (the session's when the probabilities arrived). */
      readonly threshold: number;
      /** From placement to fill. */
      readonly seconds: number;
    }
  | { readonly id: string; readonly outcome: 'dropped'; readonly reason: PrefillDropReason }
  | { readonly id: string; readonly outcome: 'failed'; readonly error: unknown };

export interface PatchPrefillOptions {
  readonly compute: Compute;
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  readonly support: SupportSetStore;
  /** The installed head's key: nothing is filled without one. */
  readonly headKey: () => string | undefined;
  readonly threshold: () => number;
  readonly tiling: () => Tiling;
  /** Default true. */
  readonly enabled?: boolean;
  readonly onOutcome: (outcome: PrefillOutcome) => void;
  /** A fill started or ended (for views showing "filling…"). */
  readonly onPending?: () => void;
}

export interface PatchPrefill {
  readonly enabled: boolean;
  setEnabled(on: boolean): void;
  /** The id of the patch whose fill is being computed, or null. */
  readonly pending: string | null;
  /** Drops the pending fill, if any (the head or tiling changed). */
  drop(reason: PrefillDropReason): void;
}

/** Priority of a fill's request: before every view tile (their priority is a distance, ≥ 0). */
export const PREFILL_PRIORITY = -1;

export function createPatchPrefill(options: PatchPrefillOptions): PatchPrefill {
  const { compute, slide, grid, support } = options;
  let enabled = options.enabled ?? true;
  let pending: { readonly id: string; readonly controller: AbortController } | null = null;

  const drop = (reason: PrefillDropReason) => {
    const p = pending;
    if (!p) return;
    pending = null;
    p.controller.abort(new DOMException(`pre-fill dropped: ${reason}`, 'AbortError'));
    options.onOutcome({ id: p.id, outcome: 'dropped', reason });
    options.onPending?.();
  };

  const start = (id: string) => {
    const patch = support.patch(id);
    if (!patch) return;
    const controller = new AbortController();
    const mine = { id, controller };
    pending = mine;
    options.onPending?.();
    const started = performance.now();
    const size = support.patchSize;
    // Grid pixels as adaptation reads the patch (support-patches.ts's gridPatches).
    const tile = {
      x: Math.round(patch.x / grid.scaleX),
      y: Math.round(patch.y / grid.scaleY),
      width: size,
      height: size,
    };
    compute
      .predictTile({
        slide,
        inference: grid,
        tile,
        tiling: options.tiling(),
        priority: PREFILL_PRIORITY,
        version: null,
        signal: controller.signal,
      })
      .then(
        (result) => {
          if (pending !== mine) return;
          pending = null;
          const threshold = options.threshold();
          const labels = prefillLabels(result.probabilities, threshold);
          if (!support.prefillPatch(id, labels)) {
            options.onOutcome({ id, outcome: 'dropped', reason: 'edited' });
          } else {
            const classPixels = labels.reduce((n, v) => n + v, 0);
            options.onOutcome({
              id,
              outcome: 'filled',
              classPixels,
              threshold,
              seconds: (performance.now() - started) / 1000,
            });
          }
          options.onPending?.();
        },
        (error: unknown) => {
          if (pending !== mine) return;
          pending = null;
          options.onOutcome(
            isAbortError(error) ? { id, outcome: 'dropped', reason: 'model' } : { id, outcome: 'failed', error },
          );
          options.onPending?.();
        },
      );
  };

  support.addEventListener('change', ({ detail: change }) => {
    switch (change.type) {
      case 'add':
        if (change.restored) return;
        drop('placed');
        if (enabled && options.headKey()) start(change.id);
        return;
      case 'remove':
        if (pending?.id === change.id) drop('removed');
        return;
      case 'replace':
        drop('removed');
        return;
      case 'mask':
        if (pending?.id === change.id) drop('edited');
        return;
    }
  });

  return {
    get enabled() {
      return enabled;
    },
    setEnabled(on: boolean) {
      enabled = on;
      if (!on) drop('off');
    },
    get pending() {
      return pending?.id ?? null;
    },
    drop,
  };
}
