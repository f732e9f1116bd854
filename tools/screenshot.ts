// The README's screenshot: the built demo with a live overlay, made by a script so it stays true.
//   npm run screenshot                      # writes docs/demo.png
// On ../shared/data/wsi/CMU-1-Small-Region.svs when that folder exists (a CC0 OpenSlide test
// slide), with a head fitted on 5 CoNSeP support patches of inflammatory cells; otherwise on the
// generated sample slide, with a head fitted on 5 sample patches of its lymphocytes. Needs
// `npm run build` (and `npm run sample` for the fallback) first.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { adapt } from '../core/adaptation/adapt.js';
import { decodeBundle } from '../core/msd/bundle.js';
import { serializeHead } from '../core/adaptation/head.js';
import { initBackend } from '../core/msd/tf-backend.js';
import { readLabelledDataset } from './dataset.js';
import { findChromium } from './setup.mjs';
import { serveDemo } from './serve.js';
import { sampleSupportSet } from './support-set.js';
import { startCli, usageError } from './cli.js';

const args = startCli({
  name: 'screenshot',
  command: 'npm run screenshot',
  synopsis: '',
  description: `
Writes docs/demo.png, the README's screenshot: the built demo in Chromium with a live overlay
of a head fitted here on 5 support patches — on ../shared/data/wsi/CMU-1-Small-Region.svs with
CoNSeP inflammatory cells when ../shared/data is present, else on the generated sample slide.
Needs \`npm run build\` (and \`npm run sample\` for the fallback) first. With --cells, writes
docs/cell-table.png instead: the panel's cell table of that view, sorted by area, its largest cell
selected and outlined in the viewer.`,
  options: {
    cells: { type: 'boolean', default: false, description: 'the cell table (docs/cell-table.png)' },
  },
});

const WSI = '../shared/data/wsi';
const CONSEP = '../shared/data/consep';
const real =
  fs.existsSync(path.join(WSI, 'CMU-1-Small-Region.svs')) && fs.existsSync(path.join(CONSEP, 'manifest.csv'));
const out = args.cells ? 'docs/cell-table.png' : 'docs/demo.png';
if (!fs.existsSync('dist/demo/index.html')) usageError('the demo is not built: run `npm run build` first');
if (!real && !fs.existsSync('.cache/sample/patches/manifest.csv'))
  usageError('neither ../shared/data nor the sample slide is there: run `npm run sample` first');

// The head, fitted here in Node with the same adapt() the workers run.
await initBackend('wasm');
const bundle = decodeBundle(
  JSON.parse(fs.readFileSync('models/default/extractors.json', 'utf8')),
  new Uint8Array(fs.readFileSync('models/default/extractors.bin')).buffer,
);
const support = real
  ? sampleSupportSet(readLabelledDataset(CONSEP, 'train'), [2], {
      size: 256,
      zoom: 1,
      shots: 5,
      seed: 3,
      minPositive: 2000,
    })
  : sampleSupportSet(readLabelledDataset('.cache/sample/patches', 'train'), [2], {
      size: 256,
      zoom: 2,
      shots: 5,
      seed: 3,
      minPositive: 800,
    });
const className = real ? 'Inflammatory (5 CoNSeP shots)' : 'Lymphocyte (5 shots)';
console.log(`fitting a head on 5 support patches (${real ? 'CoNSeP inflammatory' : 'sample lymphocytes'})…`);
const { head, report } = await adapt(support, bundle, { metadata: { className } });
console.log(`adapted in ${(report.timings.total / 1000).toFixed(1)} s`);

const { server, url } = await serveDemo({ demoDir: 'dist/demo', slidesDir: real ? WSI : '.cache/sample', port: 0 });
const browser = await chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox', '--no-first-run'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1 });
  // The demo opens its embedded CMU-1 slide by default; the sample slide on request.
  await page.goto(real ? url : `${url}?slide=slides/sample-slide.tif`);
  const slideName = real ? 'CMU-1-Small-Region.svs' : 'sample-slide.tif';
  await page.waitForFunction((name) => (window as any).demoPanel?.handle?.slide.info.name.endsWith(name), slideName, {
    timeout: 180_000,
  });
  await page.evaluate(
    async (json) => {
      const h = (window as any).demoPanel.handle;
      await h.loadHead(json);
      h.setLive(true);
      (document.querySelector('#guide') as HTMLDetailsElement).open = false;
    },
    JSON.stringify(serializeHead(head)),
  );
  // A region with many cells, about one screen pixel per slide pixel.
  const [cx, cy, zoom] = real ? [1300, 1900, 1] : [5600, 5200, 1];
  await page.evaluate(
    ([cx, cy, zoom]) => {
      const vp = (window as any).demoViewer.viewport;
      vp.zoomTo(vp.imageToViewportZoom(zoom), undefined, true);
      vp.panTo(vp.imageToViewportCoordinates(cx, cy), true);
    },
    [cx, cy, zoom] as const,
  );
  const started = Date.now();
  await page.waitForFunction(
    () => {
      const h = (window as any).demoPanel.handle;
      return h.plan && h.plan.now.count > 0 && [...h.plan.now].every((t: any) => h.maskLayer.has(t.key));
    },
    undefined,
    { timeout: 900_000, polling: 1000 },
  );
  console.log(`overlay of the view computed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await page.waitForTimeout(500);
  if (args.cells) {
    // The panel's table, sorted by area (largest first), its first row clicked: the viewer goes there.
    await page.locator('#cell-table-load').click();
    await page.locator('fewshot-cell-table .tr[data-index]').first().waitFor({ timeout: 300_000 });
    const area = page.locator('fewshot-cell-table [role=columnheader][title^="Mask area"]');
    await area.click();
    await area.click();
    await page
      .locator('fewshot-cell-table .body .tr')
      .first()
      .click({ position: { x: 20, y: 10 } });
    await page.locator('fewshot-cell-table').scrollIntoViewIfNeeded();
    await page.waitForTimeout(1000);
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  console.log(
    `wrote ${out} (${real ? 'CMU-1-Small-Region.svs, OpenSlide test data, CC0' : 'the generated sample slide'})`,
  );
} finally {
  await browser.close();
  server.close();
}
