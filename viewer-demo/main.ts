import OpenSeadragon from 'openseadragon';
import {
  loadDefaultExtractors,
  openInWorker,
  pixelTileSource,
  type FewShot,
  type FewShotSegmenter,
  type SlideDescription,
  type WorkerPixelSource,
} from '../plugin/index.js';

// The embedded slide, CMU-1-Small-Region.svs (OpenSlide test data, CC0: viewer-demo/slides/README.md),
// which the build copies next to the demo: the page needs nothing generated. `?slide=<url>` opens
// another slide instead, e.g. `?slide=slides/sample-slide.tif`, the synthetic slide of
// `npm run sample` (tools/serve.ts serves .cache/sample/ under slides/ too), as the tests do.
const EMBEDDED: SlideDescription = {
  kind: 'url',
  url: new URL('./slides/CMU-1-Small-Region.svs', location.href).href,
  name: 'CMU-1-Small-Region.svs',
};
// Five patches with the slide's dark nuclei painted, made by tools/make-example-support.ts from
// the slide's own pixels (haematoxylin density by colour deconvolution, threshold, size).
const EXAMPLE_URL = new URL('./examples/cmu-example.support.json', location.href).href;

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
  /** *Try an example*: its support set is in (the patch count); adapting follows. */
  'example-loaded': number;
  /** *Try an example* failed: the message shown. */
  'example-failed': string;
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

/** The panel's handle once it is attached to `slide` (at once when it already is). */
function handleFor(slide: SlideDescription): Promise<FewShot> {
  if (panel.slide === slide && panel.handle && panel.handle.slide.info.name === slide.name)
    return Promise.resolve(panel.handle);
  return new Promise((resolve, reject) => {
    const done = () => {
      panel.removeEventListener('ready', onReady);
      panel.removeEventListener('error', onError);
      document.removeEventListener('slide-failed', onFailed);
    };
    const onReady = (e: CustomEvent<FewShot>) => {
      if (panel.slide !== slide) return;
      done();
      resolve(e.detail);
    };
    const onError = (e: CustomEvent<{ error: unknown; task: string }>) => {
      if (e.detail.task !== 'attach') return;
      done();
      reject(e.detail.error);
    };
    const onFailed = (e: Event) => {
      done();
      reject(new Error((e as CustomEvent<string>).detail));
    };
    panel.addEventListener('ready', onReady);
    panel.addEventListener('error', onError);
    document.addEventListener('slide-failed', onFailed);
  });
}

const tryButton = document.querySelector<HTMLButtonElement>('#try-example')!;

/**
 * *Try an example*: the embedded slide, the committed example support set in place of the
 * current one (Ctrl+Z in the viewer brings that back), the view on its richest patch, Adapt, and
 * live prediction of the view.
 */
async function tryExample(): Promise<void> {
  tryButton.disabled = true;
  try {
    const text = fetch(EXAMPLE_URL).then((r) => {
      if (!r.ok) throw new Error(`the example support set did not load (${r.status} ${r.statusText})`);
      return r.text();
    });
    const ready = handleFor(EMBEDDED);
    if (panel.slide !== EMBEDDED) void open(EMBEDDED);
    const handle = await ready;
    const count = handle.importSupportSet(await text);
    announce('example-loaded', count);
    const first = handle.support.patches[0];
    const side = handle.support.patchSize * first.scale;
    const vp = viewer.viewport;
    // One screen pixel per level-0 pixel: the nuclei are ~15 px across, and the view is a dozen
    // output tiles, which live prediction fills in ~10 s on two wasm workers.
    vp.zoomTo(vp.imageToViewportZoom(1), undefined, true);
    vp.panTo(vp.imageToViewportCoordinates(first.x + side / 2, first.y + side / 2), true);
    say(`Example: ${count} support patches with the slide's dark nuclei painted; adapting…`);
    const outcome = await handle.adapt();
    handle.setLive(true);
    say(
      `Example adapted in ${outcome.seconds.toFixed(1)} s on ${outcome.report.support.positive} painted pixels; ` +
        'live prediction follows the view. Ctrl+Z (in the viewer) restores your own patches.',
    );
  } catch (err) {
    say(`Try an example: ${err instanceof Error ? err.message : String(err)}`, true);
    announce('example-failed', status.textContent ?? '');
  } finally {
    tryButton.disabled = false;
  }
}

tryButton.addEventListener('click', () => void tryExample());
document.querySelector('#open-embedded')!.addEventListener('click', () => open(EMBEDDED));
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

const requested = new URLSearchParams(location.search).get('slide');
if (requested) {
  const url = new URL(requested, location.href);
  open({ kind: 'url', url: url.href, name: decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf('/') + 1)) });
} else open(EMBEDDED);

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
