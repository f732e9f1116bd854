import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { findChromium } from '../../tools/setup.mjs';
import { serveDemo } from '../../tools/serve.js';
import { openTiff } from '../../core/slide/tiff-source.js';
import type { PixelSource } from '../../core/slide/pixel-source.js';
import { inferenceGrid } from '../../core/inference/inference-grid.js';
import { resampledSource } from '../../core/inference/resampled-source.js';
import { parseSupportSet } from '../../core/support-set/support-set-file.js';
import { LABEL_CLASS, LABEL_IGNORE } from '../../core/support-set/support-set.js';
import { labelDarkNuclei } from '../../tools/example-support.js';

// The real demo page, as built by `npm run build`, in Chromium: on the generated sample slide
// (`?slide=`, a pyramid with a ×8 level) for the viewer's pixels, and as a newcomer opens it, on
// its embedded CMU-1 slide, for *Try an example*.
const slidePath = '.cache/sample/sample-slide.tif';
let browser: Browser;
let page: Page;
let stop: () => void;
let slide: PixelSource;
let demoUrl: string;

before(async () => {
  assert.ok(existsSync('dist/demo/index.html'), 'the demo is not built: run `npm run build`');
  assert.ok(existsSync(slidePath), 'the sample slide is missing: run `npm run sample`');
  const { server, url } = await serveDemo({ demoDir: 'dist/demo', slidesDir: '.cache/sample', port: 0 });
  stop = () => server.close();
  demoUrl = url;
  slide = await openTiff({ kind: 'blob', blob: new Blob([await readFile(slidePath)]), name: slidePath });
  browser = await chromium.launch({
    executablePath: findChromium(),
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = await browser.newPage({ viewport: { width: 900, height: 700 }, deviceScaleFactor: 1 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Before the page's own scripts run: what it announces from the start is not missed.
  await page.addInitScript(() => {
    const w = window as any;
    w.__slideOpen = new Promise((resolve) => {
      document.addEventListener('slide-open', (e) => resolve((e as CustomEvent).detail), { once: true });
    });
    w.__extractorsShown = new Promise((resolve) => {
      document.addEventListener('extractors-shown', () => resolve(true), { once: true });
    });
  });
  await page.goto(`${url}?slide=slides/sample-slide.tif`);
  await within(
    60_000,
    page.evaluate(() => (window as any).__slideOpen),
  ).catch((e) => {
    throw new Error(`the demo did not open the sample slide (${errors.join('; ')}): ${e}`);
  });
});

after(async () => {
  await browser?.close();
  stop?.();
});

/** `promise`, or a rejection after `ms`: a deadline on a wait for an event, so a hang says what it waited for. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Starts listening in the page for the next `type` event on `document`; the function returned waits for it. */
async function nextDocumentEvent(type: string): Promise<() => Promise<unknown>> {
  const id = await page.evaluate((type) => {
    const w = window as any;
    w.__events ??= [];
    w.__events.push(
      new Promise((resolve) => {
        document.addEventListener(type, (e) => resolve((e as CustomEvent).detail), { once: true });
      }),
    );
    return w.__events.length - 1;
  }, type);
  return () =>
    within(
      30_000,
      page.evaluate((id) => (window as any).__events[id], id),
    );
}

/** Zooms so that one screen pixel shows `imagePerScreen` level-0 pixels around (cx, cy), then waits for every tile. */
async function showAt(cx: number, cy: number, imagePerScreen: number): Promise<{ left: number; top: number }> {
  return page.evaluate(
    async ([cx, cy, ratio]) => {
      const viewer = (window as any).demoViewer;
      const vp = viewer.viewport;
      const item = viewer.world.getItemAt(0);
      // The next frame updates the image for the new view and draws it ('update-viewport'); when
      // tiles are missing then, the image says when they all are in, and the frame that follows
      // draws them. (No named functions in here: the test's TypeScript loader would wrap them in
      // a helper the page lacks.)
      await new Promise<void>((resolve) => {
        viewer.addOnceHandler('update-viewport', () => {
          if (item.getFullyLoaded()) return resolve();
          item.addOnceHandler('fully-loaded-change', () => {
            viewer.addOnceHandler('update-viewport', () => resolve());
            viewer.forceRedraw();
          });
        });
        vp.zoomTo(vp.imageToViewportZoom(1 / ratio), undefined, true);
        vp.panTo(vp.imageToViewportCoordinates(cx, cy), true);
        vp.applyConstraints(true);
        viewer.forceRedraw();
      });
      if (!item.getFullyLoaded()) throw new Error('tiles did not finish loading');
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const bounds = vp.getBounds(true);
      const topLeft = vp.viewportToImageCoordinates(bounds.x, bounds.y);
      return { left: topLeft.x, top: topLeft.y };
    },
    [cx, cy, imagePerScreen] as const,
  );
}

async function screenshot(): Promise<PNG> {
  return PNG.sync.read(await page.locator('#viewer').screenshot());
}

test("the demo opens the sample slide and level-0 tiles show the slide's own pixels", async () => {
  const { width, height } = slide.levels[0];
  const cx = Math.round(width * 0.37);
  const cy = Math.round(height * 0.61);
  const { left, top } = await showAt(cx, cy, 1);
  const shot = await screenshot();
  // Compare a 200×200 block from the middle of the view, where no control overlaps, with the
  // slide's level-0 pixels at every offset up to ±3: the view's rounding may shift it by one.
  const sx = Math.round(shot.width / 2 - 100);
  const sy = Math.round(shot.height / 2 - 100);
  const x0 = Math.round(left + sx) - 3;
  const y0 = Math.round(top + sy) - 3;
  const truth = await slide.readRegion({ level: 0, x: x0, y: y0, width: 206, height: 206 });
  const diffAt = (dx: number, dy: number) => {
    let diff = 0;
    for (let y = 0; y < 200; y++) {
      for (let x = 0; x < 200; x++) {
        const s = ((sy + y) * shot.width + sx + x) * 4;
        const t = ((y + dy + 3) * 206 + x + dx + 3) * 3;
        for (let c = 0; c < 3; c++) diff += Math.abs(shot.data[s + c] - truth[t + c]);
      }
    }
    return diff / (200 * 200 * 3);
  };
  const diffs: { dx: number; dy: number; d: number }[] = [];
  for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) diffs.push({ dx, dy, d: diffAt(dx, dy) });
  diffs.sort((a, b) => a.d - b.d);
  const best = diffs[0];
  const worst = diffs[diffs.length - 1];
  console.log(
    `# level 0 on screen vs slide: mean |Δ| ${best.d.toFixed(2)} at offset (${best.dx}, ${best.dy}); ` +
      `${worst.d.toFixed(1)} when misplaced by (${worst.dx}, ${worst.dy})`,
  );
  // On screen at 1:1 the slide's own pixels show (measured: exactly), and in the right
  // place, give or take one pixel of the view's rounding.
  assert.ok(best.d < 1, `screen matches the slide at level 0: mean |Δ| = ${best.d.toFixed(2)}`);
  assert.ok(Math.abs(best.dx) <= 1 && Math.abs(best.dy) <= 1, `aligned within a pixel, found (${best.dx}, ${best.dy})`);
  assert.ok(worst.d > 5 * best.d, 'a misplaced comparison differs: the region is textured');
});

test('the demo loads the shipped default extractors', async () => {
  await within(
    30_000,
    page.evaluate(() => (window as any).__extractorsShown),
  );
  assert.match(
    (await page.locator('#extractors').textContent()) ?? '',
    /^extractors: inflammatory.* \(0\.25 µm\/px\)$/,
  );
});

test('zoomed out, the screen shows the downsampled slide', async () => {
  const { width, height } = slide.levels[0];
  const { left, top } = await showAt(width / 2, height / 2, 8);
  const shot = await screenshot();
  // Mean colour of 8×8 screen blocks against the box mean of the slide's level-3 pixels.
  const level = slide.levels.findIndex((l) => Math.abs(l.downsample - 8) < 0.01);
  assert.ok(level > 0, 'the sample pyramid has a ×8 level');
  const sx = Math.round(shot.width / 2 - 128);
  const sy = Math.round(shot.height / 2 - 128);
  const truth = await slide.readRegion({
    level,
    x: Math.round((left + sx * 8) / 8),
    y: Math.round((top + sy * 8) / 8),
    width: 256,
    height: 256,
  });
  let diff = 0;
  for (let by = 0; by < 256; by += 8) {
    for (let bx = 0; bx < 256; bx += 8) {
      for (let c = 0; c < 3; c++) {
        let a = 0;
        let b = 0;
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 8; x++) {
            a += shot.data[((sy + by + y) * shot.width + sx + bx + x) * 4 + c];
            b += truth[((by + y) * 256 + bx + x) * 3 + c];
          }
        }
        diff += Math.abs(a - b) / 64;
      }
    }
  }
  const meanDiff = diff / (32 * 32 * 3);
  console.log(`# ×8 view: 8×8 block means vs level-3 pixels: mean |Δ| ${meanDiff.toFixed(2)}`);
  assert.ok(meanDiff < 6, `8×8 block means match level ×8: mean |Δ| = ${meanDiff.toFixed(2)}`);
});

test('a local file opened with the file picker shows in the viewer; a bad one shows its error', async () => {
  const { encodeTiff } = await import('../../tools/sample/index.js');
  // A small uniform teal slide: easy to recognise on screen.
  const width = 600;
  const height = 400;
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set([20, 160, 150], i);
  const tiff = encodeTiff([{ options: { width, height, samplesPerPixel: 3 }, pixels }]);
  const opened = await nextDocumentEvent('slide-open');
  await page.locator('#file').setInputFiles({ name: 'teal.tif', mimeType: 'image/tiff', buffer: Buffer.from(tiff) });
  assert.equal(await opened(), 'teal.tif');
  await showAt(width / 2, height / 2, 1);
  const shot = await screenshot();
  const centre = ((shot.height >> 1) * shot.width + (shot.width >> 1)) * 4;
  assert.deepEqual(Array.from(shot.data.subarray(centre, centre + 3)), [20, 160, 150]);

  const refused = await nextDocumentEvent('slide-failed');
  await page
    .locator('#file')
    .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, not a slide') });
  await refused();
  const shownAsError = await page.locator('#status').evaluate((e) => e.classList.contains('error'));
  assert.ok(shownAsError, 'the status line shows an error');
  const status = await page.locator('#status').textContent();
  assert.match(status ?? '', /notes\.txt: not a TIFF file/);
});

test(
  'by default the demo opens its embedded CMU-1 slide; Try an example adapts on its five patches and predicts the view',
  { timeout: 900_000 },
  async () => {
    // A fresh context: nothing saved in its storage, as on a newcomer's first visit.
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, deviceScaleFactor: 1 });
    const fresh = await context.newPage();
    const errors: string[] = [];
    fresh.on('pageerror', (e) => errors.push(e.message));
    await fresh.addInitScript(() => {
      const w = window as any;
      w.__slideOpen = new Promise((resolve) => {
        document.addEventListener('slide-open', (e) => resolve((e as CustomEvent).detail), { once: true });
      });
      w.__ready = new Promise((resolve, reject) => {
        document.addEventListener('ready', () => resolve(true), { once: true });
        document.addEventListener('error', (e: any) => {
          if (e.detail?.task === 'attach') reject(new Error(`the panel did not start: ${e.detail.error?.message}`));
        });
      });
    });
    try {
      await fresh.goto(demoUrl);
      assert.equal(
        await within(
          60_000,
          fresh.evaluate(() => (window as any).__slideOpen),
        ),
        'CMU-1-Small-Region.svs',
      );
      await within(
        180_000,
        fresh.evaluate(() => (window as any).__ready),
      );

      // Listened for before the click, on document (the panel's events bubble there): the demo's
      // 'example-loaded' or 'example-failed', the panel's 'adapted', then live prediction's plan
      // ('budget') and tiles ('prediction-tile') until every tile of the latest plan has come.
      await fresh.evaluate(() => {
        const w = window as any;
        w.__example = new Promise((resolve, reject) => {
          const out: any = { loaded: 0, adapted: null, tiles: [] as any[], plan: [] as string[] };
          // The check is an argument, not a named function: the test's TypeScript loader would
          // wrap a named one in a helper the page lacks.
          ((filled: () => boolean) => {
            document.addEventListener('example-loaded', (e) => (out.loaded = (e as CustomEvent).detail));
            document.addEventListener('example-failed', (e) => reject(new Error((e as CustomEvent).detail)));
            document.addEventListener('adapted', (e) => {
              const { seconds, report } = (e as CustomEvent).detail;
              out.adapted = { seconds, patches: report.support.patches, positive: report.support.positive };
            });
            document.addEventListener('budget', (e) => {
              if (!out.adapted) return;
              out.plan = [...(e as CustomEvent).detail.now].map((t: any) => t.key);
              if (filled()) resolve(out);
            });
            document.addEventListener('prediction-tile', (e) => {
              if (!out.adapted) return;
              const { key, probabilities, cells, level0, width, height } = (e as CustomEvent).detail;
              // The mask at 0.5, 8 pixels a byte, base64: what the test compares with the labels.
              const bits = new Uint8Array(Math.ceil(probabilities.length / 8));
              let on = 0;
              for (let i = 0; i < probabilities.length; i++) {
                if (probabilities[i] <= 0.5) continue;
                on++;
                bits[i >> 3] |= 1 << (i & 7);
              }
              let text = '';
              for (let i = 0; i < bits.length; i += 8192) text += String.fromCharCode(...bits.subarray(i, i + 8192));
              out.tiles.push({ key, pixels: probabilities.length, on, cells, level0, width, height, mask: btoa(text) });
              if (filled()) resolve(out);
            });
          })(() => out.plan.length > 0 && out.plan.every((k: string) => out.tiles.some((t: any) => t.key === k)));
        });
      });
      const t0 = Date.now();
      await fresh.click('#try-example');
      const result = await within(
        900_000,
        fresh.evaluate(() => (window as any).__example),
      );
      const seconds = (Date.now() - t0) / 1000;
      const pixels = result.tiles.reduce((s: number, t: any) => s + t.pixels, 0);
      const on = result.tiles.reduce((s: number, t: any) => s + t.on, 0);
      const cells = result.tiles.reduce((s: number, t: any) => s + t.cells, 0);
      console.log(
        `# Try an example: ${result.loaded} patches, ${result.adapted.positive} class pixels; adapted in ` +
          `${result.adapted.seconds.toFixed(1)} s; view of ${result.plan.length} tiles filled ` +
          `${seconds.toFixed(0)} s after the click: ${cells} cells, ` +
          `${((100 * on) / pixels).toFixed(2)} % of the pixels predicted`,
      );
      assert.equal(result.loaded, 5);
      assert.equal(result.adapted.patches, 5);
      const state = await fresh.evaluate(() => {
        const h = (window as any).demoPanel.handle;
        return { live: h.live, patches: h.support.patches.length, slide: h.slide.info.name };
      });
      assert.deepEqual(state, { live: true, patches: 5, slide: 'CMU-1-Small-Region.svs' });
      assert.ok(result.tiles.length >= result.plan.length, 'every tile of the view arrived');
      // The view is centred on the example's richest patch: some nuclei are found, and far from
      // everything is (the dermis is mostly collagen).
      assert.ok(cells > 10, `${cells} cells predicted in the view`);
      assert.ok(on > 0 && on < 0.5 * pixels, `${on} of ${pixels} pixels predicted as the class`);

      // The prediction against the labels the example was made with (tools/example-support.ts's
      // threshold, over the whole slide), outside the support patches, without ignored pixels.
      const cmu = await openTiff({
        kind: 'blob',
        blob: new Blob([await readFile('viewer-demo/slides/CMU-1-Small-Region.svs')]),
        name: 'CMU-1-Small-Region.svs',
      });
      const grid = inferenceGrid(cmu, 0.25);
      const rgb = await resampledSource(cmu, grid.level, grid.width, grid.height).readRegion({
        level: 0,
        x: 0,
        y: 0,
        width: grid.width,
        height: grid.height,
      });
      const { labels } = labelDarkNuclei(rgb, grid.width, grid.height, grid.mpp.x);
      const patches = parseSupportSet(await readFile('viewer-demo/examples/cmu-example.support.json', 'utf8')).patches;
      const inPatch = (gx: number, gy: number) =>
        patches.some((p) => {
          const px = Math.round(p.x / grid.scaleX);
          const py = Math.round(p.y / grid.scaleY);
          return gx >= px && gx < px + 256 && gy >= py && gy < py + 256;
        });
      let both = 0;
      let predicted = 0;
      let labelled = 0;
      for (const t of result.tiles) {
        const bits = Buffer.from(t.mask, 'base64');
        const x0 = Math.round(t.level0.x / grid.scaleX);
        const y0 = Math.round(t.level0.y / grid.scaleY);
        for (let y = 0; y < t.height; y++) {
          for (let x = 0; x < t.width; x++) {
            const label = labels[(y0 + y) * grid.width + x0 + x];
            if (label === LABEL_IGNORE || inPatch(x0 + x, y0 + y)) continue;
            const i = y * t.width + x;
            const p = (bits[i >> 3] >> (i & 7)) & 1;
            const g = label === LABEL_CLASS ? 1 : 0;
            both += p * g;
            predicted += p;
            labelled += g;
          }
        }
      }
      const dice = (2 * both) / (predicted + labelled);
      console.log(`# Try an example: Dice ${dice.toFixed(3)} against the example's labelling, outside its patches`);
      // Measured 0.87 over a 28-tile region in Node (the same head); the view here is smaller.
      assert.ok(dice > 0.7, `Dice ${dice.toFixed(3)} against the threshold labels`);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  },
);
