import OpenSeadragon from 'openseadragon';
import { HEAD_FORMAT, HEAD_VERSION, type HeadJson } from '../../core/adaptation/head.js';
import { attachFewShot, type FewShot, type FewShotOptions } from '../../plugin/attach-fewshot.js';
import { pixelTileSource } from '../../plugin/slide/pixel-tile-source.js';
import { openInWorker, type WorkerPixelSource } from '../../plugin/slide/worker-pixel-source.js';

/** The unbundled worker and the generated sample slide, as the dev server of the browser tests serves them. */
export const workerUrl = new URL('/worker/worker-entry.ts', location.origin);
export const slideUrl = new URL('/files/.cache/sample/sample-slide.tif', location.origin).href;

export interface SampleViewer {
  readonly element: HTMLDivElement;
  readonly viewer: OpenSeadragon.Viewer;
  /** What the viewer shows: the slide read by a display worker, as a host app opens it. */
  readonly display: WorkerPixelSource;
  close(): void;
}

/** Whether `npm run sample` has made the sample slide (tests that need it skip with a message). */
export async function sampleSlideExists(): Promise<boolean> {
  const r = await fetch(slideUrl, { headers: { Range: 'bytes=0-0' } });
  await r.body?.cancel();
  if (!r.ok) console.log('skipped: the sample slide is not generated (npm run sample)');
  return r.ok;
}

/** An OpenSeadragon viewer of the given CSS size on the sample slide, opened. */
export async function openSampleViewer(width: number, height: number): Promise<SampleViewer> {
  const element = document.createElement('div');
  element.style.width = `${width}px`;
  element.style.height = `${height}px`;
  document.body.append(element);
  const viewer = OpenSeadragon({ element, showNavigationControl: false, animationTime: 0 });
  const display = await openInWorker({ kind: 'url', url: slideUrl }, { workerUrl });
  const opened = new Promise<void>((resolve) => viewer.addOnceHandler('open', () => resolve()));
  viewer.open({ tileSource: pixelTileSource(display) });
  await opened;
  return {
    element,
    viewer,
    display,
    close() {
      viewer.destroy();
      display.close();
      element.remove();
    },
  };
}

/**
 * attachFewShot on the sample viewer as the browser tests use it: the slide by URL, the unbundled
 * worker, wasm, no autosave; `options` adds to or overrides that (workers default 1).
 */
export function attachSample(viewer: OpenSeadragon.Viewer, options: Partial<FewShotOptions> = {}): Promise<FewShot> {
  return attachFewShot(viewer, {
    slide: { kind: 'url', url: slideUrl },
    workerUrl,
    workers: 1,
    backends: ['wasm'],
    storage: false,
    ...options,
  });
}

/**
 * A head over the handle's extractors that needs no adaptation: weights (i mod period)·step − offset,
 * unit feature stats; tests only need some tiles to come out positive.
 */
export function syntheticHead(
  handle: FewShot,
  { period, step, offset, b }: { period: number; step: number; offset: number; b: number },
): HeadJson {
  const features = handle.extractors.reduce((n, e) => n + e.depth, 0);
  return {
    format: HEAD_FORMAT,
    version: HEAD_VERSION,
    W: Array.from({ length: features }, (_, i) => (i % period) * step - offset),
    b,
    featureStats: { mean: new Array(features).fill(0), std: new Array(features).fill(1) },
    threshold: 0.5,
    metadata: { extractors: handle.extractors.map((e) => ({ name: e.name, depth: e.depth })) },
  };
}

/** predictView, resolved once every tile the view's plan computes is shown (live off: no tile comes after). */
export function predictWholeView(handle: FewShot): Promise<void> {
  const all = () => handle.plan !== undefined && [...handle.plan.now].every((t) => handle.maskLayer.has(t.key));
  const computed = new Promise<void>((resolve) => {
    const onTile = () => {
      if (!all()) return;
      handle.removeEventListener('prediction-tile', onTile);
      resolve();
    };
    handle.addEventListener('prediction-tile', onTile);
  });
  handle.predictView();
  return computed;
}
