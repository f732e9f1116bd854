import OpenSeadragon from 'openseadragon';
import {
  loadDefaultExtractors,
  openInWorker,
  pixelTileSource,
  type FewShotSegmenter,
  type SlideDescription,
  type WorkerPixelSource,
} from '../plugin/index.js';

// The sample slide is made by `npm start` (tools/make-sample-slide.ts) and served next to the demo.
const SAMPLE_URL = new URL('./slides/sample-slide.tif', location.href).href;

const status = document.querySelector<HTMLElement>('#status')!;
const panel = document.querySelector<FewShotSegmenter>('#panel')!;
const viewerElement = document.querySelector<HTMLElement>('#viewer')!;
const viewer = OpenSeadragon({
  element: viewerElement,
  showNavigationControl: false,
  showNavigator: true,
  crossOriginPolicy: false,
});

// Exposed for scripting the demo from the console and from the end-to-end tests.
(window as unknown as { demoViewer: OpenSeadragon.Viewer; demoPanel: FewShotSegmenter }).demoViewer = viewer;
(window as unknown as { demoPanel: FewShotSegmenter }).demoPanel = panel;
(window as unknown as { OpenSeadragon: typeof OpenSeadragon }).OpenSeadragon = OpenSeadragon;
panel.viewer = viewer;

let current: WorkerPixelSource | undefined;
let opening: AbortController | undefined;

/**
 * What the demo page reports on `document`, for scripting it (the end-to-end tests wait on
 * these): a slide shown in the viewer or refused, and the extractors' label filled in. (The
 * panel's own events, `ready`, `adapted`…, bubble up to `document` too.)
 */
type DemoEvents = {
  'slide-open': string;
  'slide-failed': string;
  'extractors-shown': string;
};

function announce<K extends keyof DemoEvents>(type: K, detail: DemoEvents[K]): void {
  document.dispatchEvent(new CustomEvent(type, { detail }));
}

function say(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
}

async function open(slide: SlideDescription): Promise<void> {
  opening?.abort();
  const controller = new AbortController();
  opening = controller;
  say(`Opening ${slide.name ?? (slide.kind === 'url' ? slide.url : 'file')}…`);
  try {
    const source = await openInWorker(slide, { signal: controller.signal });
    if (controller.signal.aborted) return source.close();
    current?.close();
    current = source;
    const onError = (err: unknown) => say(`Tile failed: ${err instanceof Error ? err.message : String(err)}`, true);
    viewer.open({ tileSource: pixelTileSource(source, { onError }) });
    viewer.addOnceHandler('open', () => {
      const l0 = source.levels[0];
      const mpp = source.mpp ? `${source.mpp.x.toFixed(3)} µm/px` : 'unknown µm/px';
      say(`${source.name}: ${l0.width}×${l0.height} px, ${source.levels.length} levels, ${mpp}`);
      document.body.dataset.slideOpen = source.name;
      announce('slide-open', source.name);
    });
    // The panel's workers open the same slide themselves.
    panel.slide = slide;
  } catch (err) {
    if (controller.signal.aborted) return;
    say(err instanceof Error ? err.message : String(err), true);
    announce('slide-failed', status.textContent ?? '');
  }
}

document
  .querySelector('#open-sample')!
  .addEventListener('click', () => open({ kind: 'url', url: SAMPLE_URL, name: 'sample-slide.tif' }));
document.querySelector<HTMLInputElement>('#file')!.addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) open({ kind: 'blob', blob: file, name: file.name });
});
document.querySelector('#url-form')!.addEventListener('submit', (e) => {
  e.preventDefault();
  const url = document.querySelector<HTMLInputElement>('#url')!.value.trim();
  if (url) open({ kind: 'url', url });
});
viewerElement.addEventListener('dragover', (e) => {
  e.preventDefault();
  viewerElement.classList.add('dragging');
});
viewerElement.addEventListener('dragleave', () => viewerElement.classList.remove('dragging'));
viewerElement.addEventListener('drop', (e) => {
  e.preventDefault();
  viewerElement.classList.remove('dragging');
  const file = e.dataTransfer?.files[0];
  if (file) open({ kind: 'blob', blob: file, name: file.name });
});

open({ kind: 'url', url: SAMPLE_URL, name: 'sample-slide.tif' });

const extractorsLabel = document.querySelector<HTMLElement>('#extractors')!;
loadDefaultExtractors().then(
  (bundle) => {
    extractorsLabel.textContent = `extractors: ${bundle.classes.map((c) => c.name).join(', ')} (${bundle.mpp} µm/px)`;
    announce('extractors-shown', extractorsLabel.textContent);
  },
  (err: unknown) => {
    extractorsLabel.textContent = `extractors failed to load: ${err instanceof Error ? err.message : String(err)}`;
    announce('extractors-shown', extractorsLabel.textContent);
  },
);
