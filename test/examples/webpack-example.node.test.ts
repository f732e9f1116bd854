import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import sirv from 'sirv';
import webpack, { type Configuration, type Stats } from 'webpack';
import { findChromium } from '../../tools/setup.mjs';
import { checkHostPage, installPackedPackage } from './host-page.js';

// The packed package in a webpack 5 app (examples/webpack): webpack bundles it with its
// production defaults and the page must work with nothing copied and no option.
const EXAMPLE = resolve('examples/webpack');
const SUPPORT = readFileSync('viewer-demo/examples/cmu-example.support.json', 'utf8');

let browser: Browser;

before(async () => {
  installPackedPackage(EXAMPLE);
  browser = await chromium.launch({
    executablePath: findChromium(),
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
});

function compile(config: Configuration): Promise<Stats> {
  return new Promise((done, fail) =>
    webpack(config, (err, stats) => (err || !stats ? fail(err ?? new Error('webpack gave no stats')) : done(stats))),
  );
}

test('webpack build: the slide shows, the panel is ready on wasm, an example adapts and predicts', async () => {
  const config = (await import(pathToFileURL(join(EXAMPLE, 'webpack.config.js')).href)) as { default: Configuration };
  const stats = await compile(config.default);
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  assert.deepEqual(
    (info.errors ?? []).map((e) => e.message),
    [],
    'webpack compiled without errors',
  );
  assert.deepEqual(
    (info.warnings ?? []).map((w) => w.message),
    [],
    'and without warnings',
  );
  const emitted = Object.keys(stats.compilation.assets);
  assert.ok(
    emitted.filter((n) => n.endsWith('.wasm')).length >= 4,
    `the wasm files were emitted: ${emitted.join(', ')}`,
  );
  assert.ok(existsSync(join(EXAMPLE, 'dist', 'index.html')));

  const serve = sirv(join(EXAMPLE, 'dist'), { dev: true });
  const server: Server = createServer((req, res) =>
    serve(req, res, () => {
      res.statusCode = 404;
      res.end('not found');
    }),
  );
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  try {
    const { port } = server.address() as AddressInfo;
    await checkHostPage(browser, `http://127.0.0.1:${port}/`, SUPPORT);
  } finally {
    server.close();
  }
});
