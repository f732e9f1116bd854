import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { build, createServer, preview } from 'vite';
import { findChromium } from '../../tools/setup.mjs';
import { checkHostPage, installPackedPackage } from './host-page.js';

// The package as a host app gets it: `npm pack`, the tarball unpacked into examples/vite's
// node_modules (its dependencies, vite and openseadragon resolve from the repository's
// node_modules, as `npm ci` left them: no network), then Vite builds and serves the app; the page
// must work with nothing copied and no option. Then the same under Vite's dev server.
const EXAMPLE = resolve('examples/vite');
const SUPPORT = readFileSync('viewer-demo/examples/cmu-example.support.json', 'utf8');

let browser: Browser;

before(async () => {
  installPackedPackage(EXAMPLE);
  // Vite's cache of pre-bundled dependencies would otherwise keep an earlier tarball's code.
  rmSync(join(EXAMPLE, 'node_modules', '.vite'), { recursive: true, force: true });
  browser = await chromium.launch({
    executablePath: findChromium(),
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
});

test('vite build + preview: the slide shows, the panel is ready on wasm, an example adapts and predicts', async () => {
  await build({ root: EXAMPLE, logLevel: 'warn', configFile: join(EXAMPLE, 'vite.config.ts') });
  const emitted = readFileSync(join(EXAMPLE, 'dist', 'index.html'), 'utf8');
  assert.match(emitted, /assets\/index-[\w-]+\.js/, 'vite build wrote the app');
  const server = await preview({
    root: EXAMPLE,
    configFile: join(EXAMPLE, 'vite.config.ts'),
    logLevel: 'warn',
    preview: { port: 0, host: '127.0.0.1' },
  });
  try {
    const url = server.resolvedUrls?.local[0];
    assert.ok(url, 'vite preview has a URL');
    await checkHostPage(browser, url, SUPPORT);
  } finally {
    await server.close();
  }
});

test('vite dev server: the same page works unbundled', async () => {
  const server = await createServer({
    root: EXAMPLE,
    configFile: join(EXAMPLE, 'vite.config.ts'),
    logLevel: 'warn',
    server: { port: 0, host: '127.0.0.1' },
  });
  await server.listen();
  try {
    const url = server.resolvedUrls?.local[0];
    assert.ok(url, 'vite dev has a URL');
    await checkHostPage(browser, url, SUPPORT);
  } finally {
    await server.close();
  }
});
