import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Worker } from 'playwright-core';
import sirv from 'sirv';
import { findChromium } from '../../tools/setup.mjs';
import type { StrictPageResult } from './strict-csp-page.js';

// Item 5 of issue 12: the plugin on a page with the Content-Security-Policy a hospital portal
// sets. Every response of this server — the page, its script, the workers' script, the WebAssembly,
// the slide — carries the policy, so the workers run under it too (a worker from a URL gets the
// policy of its own response). The page (strict-csp-page.ts) is bundled here by esbuild from the
// built package (dist/index.js) as an app's bundler would; the workers are dist/worker.js. It
// opens the sample slide in OpenSeadragon with the Lit panel, adapts a small support set and
// waits for one prediction tile. Violations are collected three ways: `securitypolicyviolation`
// in the page, the same event in every worker (a listener added through the debugger as each
// starts) and the policy's report-uri; the test fails on any.
const root = fileURLToPath(new URL('../..', import.meta.url));
const sampleDir = `${root}.cache/sample`;
const STRICT_POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'";

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>strict page</title>
    <link rel="stylesheet" href="/page.css" />
    <script type="module" src="/page.js"></script>
  </head>
  <body></body>
</html>`;
const CSS = 'body { margin: 0; }\n';

let browser: Browser | undefined;
let server: Server | undefined;
let origin = '';
const reports: unknown[] = [];

const ready = existsSync(`${root}dist/worker.js`) && existsSync(`${sampleDir}/sample-slide.tif`);

before(async () => {
  if (!ready) return;
  const bundle = await build({
    entryPoints: [`${root}test/plugin/strict-csp-page.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    plugins: [
      {
        // The page imports the package's source for its types; it runs the built package.
        name: 'built-package',
        setup(b) {
          b.onResolve({ filter: /\/plugin\/index\.js$/ }, () => ({ path: `${root}dist/index.js` }));
        },
      },
    ],
    // geotiff's Node-only paths (fromFile, fromUrl in Node) import these; browsers never run them.
    external: ['fs', 'path', 'http', 'https', 'url'],
    logLevel: 'silent',
  });
  const pageJs = bundle.outputFiles[0].text;
  const dist = sirv(`${root}dist`, { dev: true });
  const files = sirv(sampleDir, { dev: true });
  const models = sirv(`${root}models`, { dev: true });
  server = createServer((req, res) => {
    res.setHeader('Content-Security-Policy', `${STRICT_POLICY}; report-uri /csp-report`);
    const url = req.url ?? '/';
    const notFound = () => {
      res.statusCode = 404;
      res.end('not found');
    };
    const under = (prefix: string, serve: typeof dist) => {
      req.url = url.slice(prefix.length - 1);
      serve(req, res, notFound);
    };
    if (url === '/csp-report') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        reports.push(JSON.parse(body || 'null'));
        res.statusCode = 204;
        res.end();
      });
    } else if (url === '/') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(PAGE);
    } else if (url === '/page.js') {
      res.setHeader('Content-Type', 'text/javascript');
      res.end(pageJs);
    } else if (url === '/page.css') {
      res.setHeader('Content-Type', 'text/css');
      res.end(CSS);
    } else if (url.startsWith('/files/')) under('/files/', files);
    else if (url.startsWith('/models/')) under('/models/', models);
    else dist(req, res, notFound);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: findChromium(),
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test(
  'the plugin opens a slide, adapts and predicts on a page with a strict CSP, with no violation',
  { timeout: 900_000 },
  async (t) => {
    if (!ready) {
      t.skip('needs `npm run build` and `npm run sample`');
      return;
    }
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    // Each worker listens for violations from its first moments (the debugger's evaluate is not
    // subject to the page's CSP); what it saw is read back at the end.
    const workers: Worker[] = [];
    const listening: Promise<unknown>[] = [];
    page.on('worker', (w) => {
      workers.push(w);
      listening.push(
        w
          .evaluate(() => {
            const g = self as unknown as { __violations: string[] };
            g.__violations = [];
            self.addEventListener('securitypolicyviolation', (e) =>
              g.__violations.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
            );
          })
          .catch(() => undefined),
      );
    });
    await page.goto(`${origin}/`);
    const result: StrictPageResult = await page.evaluate(
      () => (window as unknown as { strictPage: { done: Promise<StrictPageResult> } }).strictPage.done,
    );
    await Promise.all(listening);
    const inWorkers = (
      await Promise.all(
        workers.map((w) =>
          w.evaluate(() => (self as unknown as { __violations?: string[] }).__violations ?? []).catch(() => []),
        ),
      )
    ).flat();
    console.log(
      `strict page: ${workers.length} workers on ${result.backends.join(', ')}, tile ` +
        `${result.tile?.width}×${result.tile?.height}; violations: page ${result.violations.length}, ` +
        `workers ${inWorkers.length}, reports ${reports.length}`,
    );
    await page.close();
    assert.equal(result.error, undefined, `the page failed: ${result.error} (${errors.join('; ')})`);
    assert.deepEqual(result.violations, [], 'violations in the page');
    assert.deepEqual(inWorkers, [], 'violations in the workers');
    assert.deepEqual(reports, [], 'violation reports');
    assert.deepEqual(result.backends, ['wasm'], "the worker's TF.js runs on WebAssembly under 'wasm-unsafe-eval'");
    assert.equal(result.patches, 2);
    assert.equal(result.styleElements, 0, 'OpenSeadragon found its marker and added no <style>');
    assert.ok(result.tile && result.tile.width * result.tile.height > 0 && result.tile.finite);
    // The display's worker and the pool's one.
    assert.ok(workers.length >= 2, `${workers.length} workers`);
  },
);
