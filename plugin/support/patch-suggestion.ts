import type OpenSeadragon from 'openseadragon';
import type { Rect } from '../../core/math/rect.js';
import type { PatchProposal, Session } from '../../core/session/session.js';
import { createOverlayCanvas } from '../layers/overlay-canvas.js';
import { apply } from '../layers/view-transform.js';

/**
 * The next patch to annotate, over the viewer (issue 14, item 3): the session's best proposal in
 * the view (session.proposePatches over its finished tiles) shown as a dashed box; `next()`
 * shows it, and again skips to the next one; `accept()` places it as a support patch, which the
 * session pre-fills from the prediction (core/session/patch-prefill.ts) as any placed patch.
 * Skipped windows stay skipped until a window is accepted or the head changes.
 */
export interface PatchSuggestion {
  /** The window shown, or null. */
  readonly current: PatchProposal | null;
  /** Shows the best window in the view not skipped (skipping the one shown); null when there is none. */
  next(): PatchProposal | null;
  /** Places the shown window as a support patch and hides the box; its id, or undefined when none is shown. */
  accept(): string | undefined;
  /** Hides the box and forgets the skips. */
  clear(): void;
  /**
   * The window shown once the ranking with the diversity term is in: next() shows the best by
   * what the session knows at once, then the descriptors it lacks are computed and the box may move.
   */
  settled(): Promise<PatchProposal | null>;
  readonly canvas: HTMLCanvasElement;
  destroy(): void;
}

const keyOf = (p: PatchProposal) => `${p.window.x},${p.window.y}`;

export function createPatchSuggestion(viewer: OpenSeadragon.Viewer, session: Session): PatchSuggestion {
  let current: PatchProposal | null = null;
  const skipped = new Set<string>();

  const overlay = createOverlayCanvas(
    viewer,
    ({ ctx, toCanvas, pixelRatio }) => {
      if (!current) return;
      const { x, y, width, height } = current.level0;
      const corners = [apply(toCanvas, x, y), apply(toCanvas, x + width, y), apply(toCanvas, x + width, y + height)];
      corners.push(apply(toCanvas, x, y + height));
      ctx.beginPath();
      corners.forEach(([cx, cy], i) => (i === 0 ? ctx.moveTo(cx, cy) : ctx.lineTo(cx, cy)));
      ctx.closePath();
      ctx.lineWidth = 2.5 * pixelRatio;
      ctx.strokeStyle = '#ffb300';
      ctx.setLineDash([10 * pixelRatio, 6 * pixelRatio]);
      ctx.stroke();
      ctx.setLineDash([]);
    },
    { className: 'fewshot-suggestion-layer', isEmpty: () => !current },
  );

  const viewRect = (): Rect | undefined => {
    const quad = overlay.viewQuad();
    if (!quad) return undefined;
    const xs = [quad[0], quad[2], quad[4], quad[6]];
    const ys = [quad[1], quad[3], quad[5], quad[7]];
    const x = Math.min(...xs);
    const y = Math.min(...ys);
    return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
  };

  const show = (p: PatchProposal | null) => {
    current = p;
    overlay.invalidate();
    return p;
  };
  /**
   * The box is shown at once from what the session knows; the descriptors of windows it has not
   * described yet (one forward per tile) then come from the workers, and if the box is still the
   * one shown, it moves to the ranking with the diversity term.
   */
  let refining: AbortController | undefined;
  let refinement: Promise<void> = Promise.resolve();
  const refine = (region: Rect, shown: PatchProposal) => {
    refining?.abort();
    const controller = (refining = new AbortController());
    refinement = session.describeProposals(region, { signal: controller.signal }).then(
      (ranked) => {
        if (current !== shown) return;
        const best = ranked.find((p) => !skipped.has(keyOf(p)));
        // The same window keeps its place; its ranking now has the diversity term.
        if (best) show(best);
      },
      () => undefined, // aborted, or the compute refused: the box stays as it was
    );
  };

  const clear = () => {
    refining?.abort();
    skipped.clear();
    show(null);
  };
  session.addEventListener('head', clear);

  return {
    get current() {
      return current;
    },
    next() {
      if (current) skipped.add(keyOf(current));
      const region = viewRect();
      const proposals = region ? session.proposePatches(region) : [];
      const shown = show(proposals.find((p) => !skipped.has(keyOf(p))) ?? null);
      if (region && shown) refine(region, shown);
      return shown;
    },
    accept() {
      if (!current) return undefined;
      const { x, y } = current.level0;
      refining?.abort();
      skipped.clear();
      show(null);
      return session.support.addPatch({ x, y });
    },
    clear,
    settled: () => refinement.then(() => current),
    canvas: overlay.canvas,
    destroy() {
      session.removeEventListener('head', clear);
      overlay.destroy();
    },
  };
}
