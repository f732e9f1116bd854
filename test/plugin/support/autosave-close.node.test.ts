import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { findChromium } from '../../../tools/setup.mjs';
import type { Restored } from './autosave-close-page.js';

// Item 6 of issue 12: a tab closed during autosave loses at most the last edit, and what is
// stored is never corrupt. Real Chromium, real IndexedDB (the default store), the page of
// autosave-close-page.ts: each round reopens the page (a new tab of the same profile), checks
// what was restored, makes three edits of ≈ 100 KiB each — starting a save between the second and
// the third — and closes the tab at once, without waiting for anything. Every round the record
// must parse, hold exactly edits 0…n−1 in order, to the pixel, and n must be at least every edit
// made but the last. Rounds close the tab at different points of the save (the record grows
// by 300 KiB a round, so the write is ever longer).
const root = fileURLToPath(new URL('../../..', import.meta.url));
const chromiumPath = findChromium();

let browser: Browser | undefined;
let context: BrowserContext | undefined;
let server: Server | undefined;
let origin = '';

before(async () => {
  if (!chromiumPath) return;
  const bundle = await build({
    entryPoints: [`${root}test/plugin/support/autosave-close-page.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const pageJs = bundle.outputFiles[0].text;
  server = createServer((req, res) => {
    if (req.url === '/page.js') {
      res.setHeader('Content-Type', 'text/javascript');
      res.end(pageJs);
    } else {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end('<!doctype html><html><head><script type="module" src="/page.js"></script></head><body></body></html>');
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  context = await browser.newContext();
});

after(async () => {
  await browser?.close();
  server?.close();
});

type Api = {
  open(): Promise<Restored>;
  edit(k: number): void;
  flush(): void;
  settle(): Promise<void>;
};

async function openTab() {
  const page = await context!.newPage();
  // goto waits for 'load', after the page's module has run.
  await page.goto(`${origin}/`);
  const restored = await page.evaluate(() => (window as unknown as { autosavePage: Api }).autosavePage.open());
  return { page, restored };
}

test('a tab closed mid-save loses at most its last edit; the stored record is never corrupt', async (t) => {
  if (!chromiumPath) {
    t.skip('no Chromium (tools/setup.mjs --chromium)');
    return;
  }
  const ROUNDS = 6;
  let made = 0;
  const restoredCounts: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const { page, restored } = await openTab();
    restoredCounts.push(restored.restored);
    assert.equal(restored.problem, null, `round ${round}: the stored record does not parse`);
    assert.deepEqual(restored.wrong, [], `round ${round}: restored patches that are not the edits`);
    assert.ok(
      restored.restored >= made - 1 && restored.restored <= made,
      `round ${round}: ${restored.restored} edits restored of ${made}`,
    );
    // The next round's edits continue after what was restored.
    made = restored.restored;
    if (round === ROUNDS) {
      await page.close();
      break;
    }
    // Three edits; a save started after the second; the tab closed while it runs.
    await page.evaluate((first) => {
      const api = (window as unknown as { autosavePage: Api }).autosavePage;
      api.edit(first);
      api.edit(first + 1);
      api.flush();
      api.edit(first + 2);
    }, made);
    made += 3;
    await page.close();
  }
  console.log(`restored per round (3 edits a round): ${restoredCounts.join(', ')}`);
});
