import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findChromium } from '../../tools/setup.mjs';
import { serveDemo } from '../../tools/serve.js';
import type { PixelSource } from '../../core/slide/pixel-source.js';
import { openTiff } from '../../core/slide/tiff-source.js';

/**
 * The built demo on the generated sample slide in Chromium, driven as a user drives it (real
 * pointer and key events), for the end-to-end tests of test/viewer-demo/: one page, the sample's
 * label TIFF to paint from, and the gestures and waits those tests share.
 */
export const LYMPHOCYTE = 2;
// Sample slide: 0.5 µm/px; extractors 0.25: one support/inference pixel is half a level-0 pixel.
export const SCALE = 0.5;
export const PATCH = 256;
export const SIDE = PATCH * SCALE;

/** `promise`, or a rejection after `ms`: a deadline on a wait for an event, so a hang says what it waited for. */
export function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export class DemoPage {
  readonly pageErrors: string[] = [];

  private constructor(
    private readonly browser: Browser,
    readonly page: Page,
    /** The sample's ground truth: class ids in the first channel of its label TIFF. */
    readonly labels: PixelSource,
    private readonly url: string,
    private readonly stop: () => void,
  ) {}

  /** Serves the built demo, opens the sample slide in a new Chromium page, waits for the panel. */
  static async start(): Promise<DemoPage> {
    assert.ok(existsSync('dist/demo/index.html'), 'the demo is not built: run `npm run build`');
    assert.ok(existsSync('.cache/sample/sample-slide-labels.tif'), 'the sample slide is missing: run `npm run sample`');
    const served = await serveDemo({ demoDir: 'dist/demo', slidesDir: '.cache/sample', port: 0 });
    const stop = () => served.server.close();
    const labels = await openTiff({
      kind: 'blob',
      blob: new Blob([await readFile('.cache/sample/sample-slide-labels.tif')]),
      name: 'labels',
    });
    const browser = await chromium.launch({
      executablePath: findChromium(),
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    // The demo opens its embedded slide unless told another: these tests paint from the sample's labels.
    const demo = new DemoPage(browser, page, labels, `${served.url}?slide=slides/sample-slide.tif`, stop);
    page.on('pageerror', (e) => demo.pageErrors.push(e.message));
    // On every load, before the page's scripts run: the panel's 'ready' (or its failure to start)
    // and the demo's 'slide-open' both bubble to document, and are not missed however early they come.
    await page.addInitScript(() => {
      const w = window as any;
      w.__started = Promise.all([
        new Promise((resolve, reject) => {
          document.addEventListener('ready', () => resolve(true), { once: true });
          document.addEventListener('error', (e: any) => {
            const { task, error } = e.detail ?? {};
            if (task === 'attach') reject(new Error(`the panel did not start: ${error?.message ?? error}`));
          });
        }),
        new Promise((resolve) => document.addEventListener('slide-open', () => resolve(true), { once: true })),
      ]);
    });
    await demo.open();
    return demo;
  }

  async close(): Promise<void> {
    await this.browser.close();
    this.stop();
  }

  /** (Re)loads the demo and waits until its panel is ready and its slide open. */
  async open(): Promise<void> {
    await this.page.goto(this.url);
    await within(
      120_000,
      this.page.evaluate(() => (window as any).__started),
    ).catch((e) => {
      throw new Error(`the demo's panel did not become ready (${this.pageErrors.join('; ')}): ${e}`);
    });
  }

  /**
   * Waits in the page until live prediction's latest plan has tiles and every one of them arrived
   * (window.__tiles) and, when `old` is given, none was in it. Resolves with the plan's tile count.
   */
  viewFilled(old: readonly string[] = []): Promise<number> {
    return this.untilPlan(old, true);
  }

  /** Waits in the page until live prediction has planned a view of tiles none of which is in `old`. */
  async viewPlanned(old: readonly string[]): Promise<void> {
    await this.untilPlan(old, false);
  }

  /**
   * viewFilled and viewPlanned: checked now and after each of the handle's 'change' events (it
   * follows every tile and every plan).
   */
  private untilPlan(old: readonly string[], arrived: boolean): Promise<number> {
    return within(
      600_000,
      this.page.evaluate(
        ([old, arrived]) =>
          new Promise<number>((resolve) => {
            const h = (window as any).demoPanel.handle;
            // The check is an argument, not a named function: the test's TypeScript loader would
            // wrap a named one in a helper the page lacks.
            ((check: () => void) => {
              check();
              h.addEventListener('change', check);
            })(() => {
              const keys: string[] = h.plan ? [...h.plan.now].map((t: any) => t.key) : [];
              const tiles: string[] = (window as any).__tiles;
              if (keys.length > 0 && keys.every((k) => !old.includes(k) && (!arrived || tiles.includes(k))))
                resolve(keys.length);
            });
          }),
        [[...old], arrived] as const,
      ),
    );
  }

  /** Class ids of a level-0 rectangle (first channel of the label TIFF). */
  async labelIds(x: number, y: number, width: number, height: number): Promise<Uint8Array> {
    const rgb = await this.labels.readRegion({ level: 0, x, y, width, height });
    return Uint8Array.from({ length: width * height }, (_, i) => rgb[3 * i]);
  }

  /** Centres the view on level-0 (cx, cy) at `screenPerImage` screen pixels per level-0 pixel; waits for the tiles. */
  async view(cx: number, cy: number, screenPerImage: number): Promise<void> {
    await this.page.evaluate(
      async ([cx, cy, zoom]) => {
        const viewer = (window as any).demoViewer;
        const vp = viewer.viewport;
        const item = viewer.world.getItemAt(0);
        // The next frame updates the image for the new view and draws it ('update-viewport'); when
        // tiles are missing then, the image says when they all are in, and the frame that follows draws them.
        await new Promise<void>((resolve) => {
          viewer.addOnceHandler('update-viewport', () => {
            if (item.getFullyLoaded()) return resolve();
            item.addOnceHandler('fully-loaded-change', () => {
              viewer.addOnceHandler('update-viewport', () => resolve());
              viewer.forceRedraw();
            });
          });
          vp.zoomTo(vp.imageToViewportZoom(zoom), undefined, true);
          vp.panTo(vp.imageToViewportCoordinates(cx, cy), true);
          vp.applyConstraints(true);
          viewer.forceRedraw();
        });
      },
      [cx, cy, screenPerImage] as const,
    );
  }

  /** Page coordinates of level-0 points, through OpenSeadragon's own mapping. */
  async toPage(points: readonly (readonly [number, number])[]): Promise<[number, number][]> {
    return this.page.evaluate(
      (pts) => {
        const viewer = (window as any).demoViewer;
        const box = viewer.element.getBoundingClientRect();
        return pts.map(([x, y]) => {
          const p = viewer.viewport.imageToViewerElementCoordinates(new (window as any).OpenSeadragon.Point(x, y));
          return [box.left + p.x, box.top + p.y] as [number, number];
        });
      },
      points as [number, number][],
    );
  }

  async pressKey(key: string): Promise<void> {
    await this.page.locator('#viewer').hover();
    await this.page.keyboard.press(key);
  }

  /**
   * Drags the current tool (brush or erase) along every `brush`-th row of a patch at level-0
   * (x, y), once over each run of support pixels where `on(row, col)`: the strokes a user makes to
   * paint those pixels with a `brush`-pixel brush; runs shorter than `minRun` are left as they
   * are. Resolves with how many strokes it made.
   */
  async strokeRuns(
    x: number,
    y: number,
    brush: number,
    on: (row: number, col: number) => boolean,
    minRun = 1,
  ): Promise<number> {
    // The view does not move while painting, so the patch's page coordinates are an affine map of
    // its pixels, taken once from OpenSeadragon's (a round trip to the page per stroke was 10 % of
    // a stroke's time); one move per drag paints the segment that two did (the store paints from
    // the last point to the new one). A stroke: 70 → 39 ms at load 11; the fewshot test's five
    // patches get the same painted pixel counts.
    const [o, right, down] = await this.toPage([
      [x, y],
      [x + SIDE, y],
      [x, y + SIDE],
    ]);
    const at = (row: number, col: number): [number, number] => [
      o[0] + ((col + 0.5) * (right[0] - o[0]) + (row + 0.5) * (down[0] - o[0])) / PATCH,
      o[1] + ((col + 0.5) * (right[1] - o[1]) + (row + 0.5) * (down[1] - o[1])) / PATCH,
    ];
    let strokes = 0;
    for (let row = brush / 2; row < PATCH; row += brush) {
      let run = -1;
      for (let col = 0; col <= PATCH; col++) {
        const inside = col < PATCH && on(row, col);
        if (inside && run < 0) run = col;
        if (!inside && run >= 0 && col - run < minRun) run = -1;
        if (!inside && run >= 0) {
          await this.page.mouse.move(...at(row, run));
          await this.page.mouse.down();
          await this.page.mouse.move(...at(row, col - 1));
          await this.page.mouse.up();
          strokes++;
          run = -1;
        }
      }
    }
    return strokes;
  }

  /** Collects the handle's 'error' events into window.__errors (for a test to find none at its end). */
  async collectErrors(): Promise<void> {
    await this.page.evaluate(() => {
      const w = window as any;
      w.__errors = [];
      w.demoPanel.handle.addEventListener('error', (e: CustomEvent) => {
        w.__errors.push(`${e.detail.task}: ${e.detail.error?.message ?? e.detail.error}`);
      });
    });
  }

  /**
   * Clicks Adapt and waits for the panel's 'adapted' (or its 'error' for the adaptation),
   * listened for before the click; fails the test with the panel's message if it failed.
   * Resolves with the seconds it took as the user sees it.
   */
  async adaptWithButton(): Promise<number> {
    await this.page.evaluate(() => {
      const w = window as any;
      w.__adapted = new Promise((resolve) => {
        w.demoPanel.addEventListener('adapted', () => resolve(null), { once: true });
        w.demoPanel.addEventListener('error', (e: CustomEvent) => {
          if (e.detail.task === 'adapt') resolve(`Adapt failed: ${e.detail.error?.message}`);
        });
      });
    });
    const t0 = Date.now();
    await this.page.click('#adapt');
    const adaptError = await within(
      600_000,
      this.page.evaluate(() => (window as any).__adapted),
    );
    const message = await this.page.evaluate(() => (window as any).demoPanel.message);
    const failed = adaptError ?? (message?.error && message.text);
    assert.ok(!failed, `adapt: ${failed}`);
    return (Date.now() - t0) / 1000;
  }

  /** `count` support patch origins (level-0, on whole support pixels) where lymphocytes are plentiful, apart. */
  async supportOrigins(count: number): Promise<[number, number][]> {
    const area = { x: 1024, y: 1024, width: 3072, height: 3072 };
    const ids = await this.labelIds(area.x, area.y, area.width, area.height);
    const scored: { x: number; y: number; n: number }[] = [];
    for (let y = 0; y + SIDE <= area.height; y += 64) {
      for (let x = 0; x + SIDE <= area.width; x += 64) {
        let n = 0;
        for (let r = y; r < y + SIDE; r++)
          for (let c = x; c < x + SIDE; c++) n += ids[r * area.width + c] === LYMPHOCYTE ? 1 : 0;
        scored.push({ x: area.x + x, y: area.y + y, n });
      }
    }
    scored.sort((a, b) => b.n - a.n);
    const picked: [number, number][] = [];
    for (const s of scored) {
      if (picked.length === count) break;
      if (picked.every(([x, y]) => Math.abs(x - s.x) > 2 * SIDE || Math.abs(y - s.y) > 2 * SIDE))
        picked.push([s.x, s.y]);
    }
    return picked;
  }
}
