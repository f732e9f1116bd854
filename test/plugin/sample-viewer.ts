import OpenSeadragon from 'openseadragon';
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
