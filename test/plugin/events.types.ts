// Compiled by `npx tsc -p tsconfig.json` (npm run typecheck), never run: what a host app writes
// against the typed events of the handle, the panel, a region run, the support set and the
// tools, with no casts. Each @ts-expect-error is a wrong use that must keep failing to compile
// (tsc reports an expect-error that no longer has an error to expect).
import type { FewShot, FewShotSegmenter, RegionRun, Session } from '../../plugin/index.js';

export function hostApp(handle: FewShot, panel: FewShotSegmenter, run: RegionRun, session: Session): number[] {
  const seen: number[] = [];
  handle.addEventListener('adapted', (e) =>
    seen.push(e.detail.head.W.length, e.detail.seconds, e.detail.report.support.positive),
  );
  handle.addEventListener('progress', (e) => {
    const p = e.detail;
    if (p.task === 'adapt') seen.push(p.phase === 'features' ? p.done / p.total : p.loss);
    else seen.push(p.doneTiles, p.etaSeconds ?? 0);
  });
  handle.addEventListener('prediction-tile', (e) =>
    seen.push(e.detail.probabilities.length, e.detail.cells, e.detail.level0.x),
  );
  handle.addEventListener('budget', (e) => seen.push(e.detail.now.count, e.detail.later.megapixels));
  handle.addEventListener('change', () => seen.push(handle.support.patches.length));
  handle.addEventListener('error', (e) => seen.push(e.detail.task === 'predict' ? 1 : 0));
  // @ts-expect-error the outcome has a head, not `weights`
  handle.addEventListener('adapted', (e) => seen.push(e.detail.weights.length));
  // @ts-expect-error a region run's progress has no phase
  handle.addEventListener('progress', (e) => e.detail.task === 'region' && e.detail.phase);
  // @ts-expect-error the error's task is one of the named ones
  handle.addEventListener('error', (e) => e.detail.task === 'drawing');

  panel.addEventListener('adapted', (e) => seen.push(e.detail.head.W[0]));
  panel.addEventListener('ready', (e) => seen.push(e.detail.support.patches.length));
  panel.addEventListener('error', (e) => seen.push(e.detail.task === 'attach' || e.detail.task === 'adapt' ? 1 : 0));
  // The element's own DOM events keep their types.
  panel.addEventListener('click', (e) => seen.push(e.clientX));
  document.querySelector('fewshot-segmenter')?.addEventListener('budget', (e) => seen.push(e.detail.visible.tiles));
  // @ts-expect-error 'ready' brings the handle, not a head
  panel.addEventListener('ready', (e) => seen.push(e.detail.W.length));

  run.addEventListener('tile', (e) => seen.push(e.detail.probabilities[0], e.detail.cached ? 1 : 0));
  run.addEventListener('progress', (e) => seen.push(e.detail.megapixelsPerSecond ?? 0));
  run.addEventListener('state', (e) => seen.push(e.detail === 'paused' ? 1 : 0));
  run.addEventListener('failure', (e) => seen.push(e.detail.tile.megapixels));
  // @ts-expect-error a run is never 'stopped'
  run.addEventListener('state', (e) => e.detail === 'stopped');

  handle.support.addEventListener('change', (e) => seen.push(e.detail.type === 'mask' ? e.detail.rows[0] : 0));
  // @ts-expect-error only a mask change says which rows
  handle.support.addEventListener('change', (e) => seen.push(e.detail.rows[0]));
  handle.tools.addEventListener('change', (e) => seen.push(e.detail.brushSize, e.detail.draft?.points.length ?? 0));

  session.addEventListener('tile', (e) => seen.push(e.detail.cells.length, e.detail.tile.probabilities.length));
  session.addEventListener('head', (e) => seen.push(e.detail.threshold));
  // @ts-expect-error the threshold event's detail is the number itself
  session.addEventListener('threshold', (e) => seen.push(e.detail.threshold));

  handle.addEventListener('prefill', (e) => {
    const o = e.detail;
    if (o.outcome === 'filled') seen.push(o.classPixels, o.seconds);
    else if (o.outcome === 'dropped') seen.push(o.reason === 'edited' ? 1 : 0);
  });
  panel.addEventListener('prefill', (e) => seen.push(e.detail.id.length));
  session.addEventListener('prefill', (e) => seen.push(e.detail.outcome === 'failed' ? 1 : 0));
  // @ts-expect-error only a filled patch counts its class pixels
  handle.addEventListener('prefill', (e) => seen.push(e.detail.classPixels));
  // @ts-expect-error a fill is never dropped for being 'slow'
  handle.addEventListener('prefill', (e) => e.detail.outcome === 'dropped' && e.detail.reason === 'slow');
  handle.addEventListener('warning', (e) => {
    const w = e.detail;
    if (w.kind === 'export') seen.push(w.droppedCells, w.droppedHoles, w.decimals);
    else seen.push(w.details.length, w.message.length);
  });
  panel.addEventListener('warning', (e) => seen.push(e.detail.message.length));
  session.addEventListener('warning', (e) => seen.push(e.detail.droppedCells));
  seen.push(handle.warnings.length);
  // @ts-expect-error only an export warning counts dropped cells
  handle.addEventListener('warning', (e) => seen.push(e.detail.droppedCells));
  // @ts-expect-error a session warns only of exports
  session.addEventListener('warning', (e) => e.detail.kind === 'extractors');
  seen.push(handle.support.changes('p1')?.fraction ?? 0, handle.prefill ? 1 : 0);
  return seen;
}
