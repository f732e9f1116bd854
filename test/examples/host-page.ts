import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser } from 'playwright-core';

/**
 * `npm pack`s the built package and unpacks the tarball into `exampleDir`/node_modules as `npm
 * install <tarball>` would put it; its dependencies (and the bundlers) resolve from the
 * repository's node_modules, as `npm ci` left them: no network.
 */
export function installPackedPackage(exampleDir: string): void {
  assert.ok(
    existsSync('dist/index.js') && existsSync('dist/worker.js'),
    'the package is not built: run `npm run build`',
  );
  const packDir = mkdtempSync(join(tmpdir(), 'fewshot-pack-'));
  try {
    const [{ filename }] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { encoding: 'utf8' }),
    ) as { filename: string }[];
    const installed = join(exampleDir, 'node_modules', 'openseadragon-fewshot');
    rmSync(installed, { recursive: true, force: true });
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(packDir, filename), '-C', installed, '--strip-components=1']);
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}

/** What the page reports back to the test. */
interface PageOutcome {
  readonly backends: string[];
  readonly failures: string[];
  readonly patches: number;
  readonly adaptSeconds: number;
  readonly tile: { readonly width: number; readonly height: number; readonly finite: boolean; readonly max: number };
}

/**
 * Drives a host app's page (an OpenSeadragon viewer and `<fewshot-segmenter>` on the CMU-1 slide)
 * in headless Chromium as a user would and checks, waiting on the page's events only: the slide
 * shows (pixels of the viewer are the slide's, not its black background), the panel is ready with
 * every worker on wasm, the example support set adapts, and one prediction tile arrives; no
 * request failed or answered ≥ 400 and nothing logged an error, on the page or in its workers.
 */
export async function checkHostPage(browser: Browser, url: string, supportSet: string): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, deviceScaleFactor: 1 });
  const problems: string[] = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('worker', (w) =>
      w.on('console', (m) => {
        if (m.type() === 'error') problems.push(`worker console error: ${m.text()}`);
      }),
    );
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    // Before the app's scripts run: the panel's `ready` (or its failure to start) bubbles to
    // document, however early it comes.
    await page.addInitScript(() => {
      const w = window as unknown as { __ready: Promise<void> };
      w.__ready = new Promise((resolve, reject) => {
        document.addEventListener('ready', () => resolve(), { once: true });
        document.addEventListener('error', (e) => {
          const { task, error } = (e as unknown as CustomEvent).detail ?? {};
          if (task === 'attach') reject(new Error(`the panel did not start: ${error?.message ?? error}`));
        });
      });
    });
    await page.goto(url, { timeout: 0 });
    await page.evaluate(() => (window as unknown as { __ready: Promise<void> }).__ready);

    // The slide is drawn: every tile of the view loaded, then two frames for the drawer.
    await page.evaluate(async () => {
      const panel = document.querySelector('fewshot-segmenter') as unknown as {
        viewer: import('openseadragon').Viewer;
      };
      const viewer = panel.viewer;
      const item =
        viewer.world.getItemAt(0) ??
        (await new Promise<import('openseadragon').TiledImage>((resolve) =>
          viewer.world.addOnceHandler('add-item', (e) =>
            resolve((e as unknown as { item: import('openseadragon').TiledImage }).item),
          ),
        ));
      if (!item.getFullyLoaded())
        await new Promise<void>((resolve) =>
          item.addHandler('fully-loaded-change', (e) => {
            if ((e as unknown as { fullyLoaded: boolean }).fullyLoaded) resolve();
          }),
        );
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    });
    const shot = PNG.sync.read(await page.locator('#viewer').screenshot());
    const { mean, spread } = centreStats(shot);
    // H&E on white: bright and varied; the viewer's empty background is #111 and flat.
    assert.ok(mean > 100, `the viewer's centre is dark (mean ${mean.toFixed(0)}): the slide is not shown`);
    assert.ok(spread > 5, `the viewer's centre is flat (σ ${spread.toFixed(1)}): the slide is not shown`);

    const outcome: PageOutcome = await page.evaluate(async (text) => {
      const panel = document.querySelector('fewshot-segmenter') as unknown as {
        handle: import('../../plugin/attach-fewshot.js').FewShot;
      };
      const h = panel.handle;
      const patches = h.importSupportSet(text);
      const adapted = await h.adapt();
      const tile = new Promise<import('../../plugin/attach-fewshot.js').PredictionTile>((resolve) =>
        h.addEventListener('prediction-tile', (e) => resolve(e.detail), { once: true }),
      );
      h.setLive(true);
      const first = await tile;
      let max = 0;
      let finite = true;
      for (const p of first.probabilities) {
        if (!Number.isFinite(p)) finite = false;
        else if (p > max) max = p;
      }
      return {
        backends: h.workers.map((w) => String(w.backend)),
        failures: h.workers.flatMap((w) => [...w.failures]),
        patches,
        adaptSeconds: adapted.seconds,
        tile: { width: first.width, height: first.height, finite, max },
      };
    }, supportSet);

    assert.ok(outcome.backends.length > 0, 'the panel has workers');
    assert.deepEqual(
      outcome.backends.filter((b) => b !== 'wasm'),
      [],
      `every worker runs on wasm (backends ${outcome.backends.join(', ')}; failures: ${outcome.failures.join('; ')})`,
    );
    assert.equal(outcome.patches, 5, 'the example support set has five patches');
    assert.ok(outcome.tile.width > 0 && outcome.tile.height > 0, 'a prediction tile with pixels arrived');
    assert.ok(outcome.tile.finite, 'its probabilities are finite');
    assert.ok(outcome.tile.max > 0.5, `the tile finds nuclei (highest probability ${outcome.tile.max})`);
    assert.deepEqual(problems, [], 'no failed request and no console error');
  } finally {
    await context.close();
  }
}

/** Mean and standard deviation of the grey level over the screenshot's central fifth. */
function centreStats(png: PNG): { mean: number; spread: number } {
  const x0 = Math.floor(png.width * 0.4);
  const y0 = Math.floor(png.height * 0.4);
  const x1 = Math.ceil(png.width * 0.6);
  const y1 = Math.ceil(png.height * 0.6);
  let sum = 0;
  let squares = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const grey = (png.data[i] + png.data[i + 1] + png.data[i + 2]) / 3;
      sum += grey;
      squares += grey * grey;
      n++;
    }
  }
  const mean = sum / n;
  return { mean, spread: Math.sqrt(Math.max(0, squares / n - mean * mean)) };
}
