// The app of the strict-CSP page (test/plugin/strict-csp.node.test.ts): a host page as a hospital
// portal would write it, bundled by the test the way an app's bundler bundles the package
// (dist/index.js), served under `default-src 'self'; script-src 'self' 'wasm-unsafe-eval';
// worker-src 'self'`. It opens the sample slide in OpenSeadragon with the Lit panel over it (the
// plugin's workers from dist/worker.js, the default extractors), paints a small support set,
// adapts, and waits for one prediction tile. What it saw is `window.strictPage.done`.
import OpenSeadragon from 'openseadragon';
// The test's bundler swaps this for the built package (dist/index.js): the types are the source's.
import { adoptOpenSeadragonStyles, openInWorker, pixelTileSource, type FewShot } from '../../plugin/index.js';

interface Violation {
  readonly directive: string;
  readonly blocked: string;
  readonly source: string;
  readonly sample: string;
}

export interface StrictPageResult {
  readonly violations: readonly Violation[];
  readonly backends: readonly string[];
  readonly patches: number;
  /** HTML <style> elements on the page (the CSP would have refused each). */
  readonly styleElements: number;
  readonly tile?: { readonly width: number; readonly height: number; readonly finite: boolean };
  readonly error?: string;
}

const violations: Violation[] = [];
document.addEventListener('securitypolicyviolation', (e) =>
  violations.push({
    directive: e.effectiveDirective,
    blocked: e.blockedURI,
    source: `${e.sourceFile}:${e.lineNumber}`,
    sample: e.sample,
  }),
);

async function run(): Promise<StrictPageResult> {
  const slide = { kind: 'url' as const, url: new URL('/files/sample-slide.tif', location.href).href };
  const element = document.createElement('div');
  // CSSOM, not a style attribute: a CSP without 'unsafe-inline' refuses the attribute, never this.
  Object.assign(element.style, { width: '640px', height: '480px' });
  const panel = document.createElement('fewshot-segmenter');
  document.body.append(element, panel);
  // OpenSeadragon would add a <style> element, which this page's CSP refuses (openseadragon-styles.ts).
  adoptOpenSeadragonStyles();
  const viewer = OpenSeadragon({ element, showNavigationControl: false, animationTime: 0 });
  const display = await openInWorker(slide);
  const opened = new Promise<void>((resolve) => viewer.addOnceHandler('open', () => resolve()));
  viewer.open({ tileSource: pixelTileSource(display) });
  await opened;

  const ready = new Promise<FewShot>((resolve, reject) => {
    panel.addEventListener('ready', (e) => resolve((e as CustomEvent<FewShot>).detail), { once: true });
    panel.addEventListener('error', (e) => reject((e as CustomEvent<{ error: unknown }>).detail.error), {
      once: true,
    });
  });
  panel.options = { workers: 1, backends: ['wasm'], storage: false };
  panel.viewer = viewer;
  panel.slide = slide;
  const handle = await ready;

  // Two patches: a class stroke and a background stroke in each (any labels do: this is about the page).
  const level0 = display.levels[0];
  for (const [fx, fy] of [
    [0.3, 0.4],
    [0.6, 0.5],
  ]) {
    const id = handle.support.addPatch(handle.support.originCentredAt(level0.width * fx, level0.height * fy));
    handle.support.paintStroke(id, { label: 'class', size: 20 }, [
      [100, 100],
      [150, 130],
    ]);
    handle.support.paintStroke(id, { label: 'background', size: 12 }, [
      [10, 240],
      [240, 240],
    ]);
  }
  await handle.adapt();

  const vp = viewer.viewport;
  vp.zoomTo(level0.width / 400, undefined, true);
  vp.panTo(vp.imageToViewportCoordinates(level0.width / 2, level0.height / 2), true);
  const tile = new Promise<{ width: number; height: number; probabilities: Float32Array }>((resolve) =>
    handle.addEventListener('prediction-tile', (e) => resolve(e.detail), { once: true }),
  );
  handle.predictView();
  const first = await tile;
  return {
    violations,
    backends: handle.workers.map((w) => w.backend ?? 'none'),
    patches: handle.support.patches.length,
    styleElements: [...document.querySelectorAll('style')].filter((e) => e instanceof HTMLStyleElement).length,
    tile: { width: first.width, height: first.height, finite: first.probabilities.every(Number.isFinite) },
  };
}

(window as unknown as { strictPage: { done: Promise<StrictPageResult> } }).strictPage = {
  done: run().catch((err: unknown) => ({
    violations,
    backends: [],
    patches: 0,
    styleElements: -1,
    error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  })),
};
