// Browser tests: real headless Chromium (Debian's, found by tools/setup.mjs), real TIFF files,
// served by a middleware that answers HTTP Range requests like a slide server would.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import rollupCommonjs from '@rollup/plugin-commonjs';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { fromRollup } from '@web/dev-server-rollup';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { findChromium } from './tools/setup.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const sharedData = resolve(root, '..', 'shared', 'data');
const commonjs = fromRollup(rollupCommonjs);

/** What was asked for under each /counted/<tag>/ prefix: one entry per request, the range it answered. */
const counted = new Map();

/**
 * /request-counts/<tag>: the requests served under /counted/<tag>/ so far, as JSON
 * `{requests: [{start, end, status}]}` (end exclusive; a 200 counts as the whole file). Tests that
 * count what a page reads use a tag of their own, so nothing else they fetch is counted.
 */
async function requestCounts(ctx, next) {
  const match = /^\/request-counts\/([\w-]+)$/.exec(ctx.path);
  if (!match) return next();
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { requests: counted.get(match[1]) ?? [] };
}

/**
 * /files/<path> serves a file of the repository with Range support; /no-range/<path> the same
 * file from a server that ignores Range (to test that case); /shared-data/<path> reads
 * ../shared/data; /counted/<tag>/<path> is /files/<path>, each request recorded under the tag
 * (requestCounts). A header X-File-Exists tells tests whether optional data is there.
 */
async function slideFiles(ctx, next) {
  const match = /^\/(files|no-range|shared-data|counted\/([\w-]+))\/(.+)$/.exec(ctx.path);
  if (!match) return next();
  const base = match[1] === 'shared-data' ? sharedData : root;
  const file = resolve(base, decodeURIComponent(match[3]));
  const tag = match[2];
  if (relative(base, file).startsWith('..') || !existsSync(file) || !statSync(file).isFile()) {
    ctx.status = 404;
    return;
  }
  const size = statSync(file).size;
  const range = match[1] !== 'no-range' && /^bytes=(\d+)-(\d*)$/.exec(ctx.get('range') || '');
  ctx.set('Accept-Ranges', match[1] === 'no-range' ? 'none' : 'bytes');
  ctx.set('Cache-Control', 'no-store');
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(size - 1, range[2] ? Number(range[2]) : size - 1);
    if (start >= size) {
      ctx.status = 416;
      ctx.set('Content-Range', `bytes */${size}`);
      return;
    }
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${start}-${end}/${size}`);
    ctx.length = end - start + 1;
    ctx.body = createReadStream(file, { start, end });
    if (tag) record(tag, { start, end: end + 1, status: 206 });
  } else {
    if (tag) record(tag, { start: 0, end: size, status: 200 });
    ctx.status = 200;
    ctx.length = size;
    ctx.body = createReadStream(file);
  }
}

function record(tag, request) {
  if (!counted.has(tag)) counted.set(tag, []);
  counted.get(tag).push(request);
}

// geotiff imports Node's fs/http for fromFile/fromUrl-in-Node; browsers get an empty module
// (node-resolve's own empty-module stand-in is not served by the dev server).
const NODE_ONLY = new Set(['fs', 'path', 'http', 'https', 'url']);
const emptyNodeBuiltins = {
  name: 'empty-node-builtins',
  resolveImport({ source }) {
    if (NODE_ONLY.has(source)) return '/__empty-module__.js';
  },
  serve(context) {
    if (context.path === '/__empty-module__.js') return { body: 'export default {};', type: 'js' };
  },
};

/**
 * OpenJPEG's Emscripten glue assigns `module.exports` behind a `typeof module` test that the
 * commonjs plugin does not turn into an ES export here; wrap it the way Node would load it.
 * (Its require('fs') sits on the Node-only path and never runs in a browser.)
 */
const openjpegGlue = {
  name: 'openjpeg-glue',
  transform(context) {
    if (!context.path.endsWith('/codec-openjpeg/dist/openjpegwasm_decode.js')) return;
    return {
      body:
        `const module = { exports: {} }; const exports = module.exports;\n` +
        `${context.body}\nexport default module.exports;\n`,
    };
  },
};

/** The build copies OpenJPEG's wasm next to the decoder module; unbundled, it is fetched here. */
async function openjpegWasm(ctx, next) {
  if (!ctx.path.endsWith('/openjpegwasm_decode.wasm')) return next();
  ctx.type = 'application/wasm';
  ctx.body = createReadStream(join(root, 'node_modules/@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.wasm'));
}

/**
 * TF.js: tfjs-core's ES build imports CommonJS packages the dev server cannot serve, so tests get
 * the self-contained flat bundles. The backend bundles import '@tensorflow/tfjs-core'; pointing
 * that at the same tfjs bundle makes them register with the one tf instance the code uses.
 */
const TFJS_FLAT = {
  '@tensorflow/tfjs': '/node_modules/@tensorflow/tfjs/dist/tf.fesm.js',
  '@tensorflow/tfjs-core': '/node_modules/@tensorflow/tfjs/dist/tf.fesm.js',
  '@tensorflow/tfjs-backend-webgpu': '/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.fesm.js',
  '@tensorflow/tfjs-backend-wasm': '/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.fesm.js',
};
const tfjsFlatBundles = {
  name: 'tfjs-flat-bundles',
  resolveImport({ source }) {
    if (source in TFJS_FLAT) return TFJS_FLAT[source];
    // The wasm backend's Node-only paths import these too; the browser never runs them.
    if (source === 'os' || source === 'perf_hooks') return '/__empty-module__.js';
  },
};

/** The wasm backend fetches its binaries from beside the script that loads it, wherever that is. */
async function tfjsWasm(ctx, next) {
  const match = /\/(tfjs-backend-wasm(?:-simd|-threaded-simd)?\.wasm)$/.exec(ctx.path);
  if (!match) return next();
  ctx.type = 'application/wasm';
  ctx.body = createReadStream(join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist', match[1]));
}

const executablePath = findChromium();
const args = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
];

export default {
  rootDir: root,
  files: ['test/**/*.browser.test.ts'],
  nodeResolve: { browser: true },
  concurrency: 1,
  browserStartTimeout: 120000,
  testsStartTimeout: 120000,
  testsFinishTimeout: 600000,
  testFramework: { config: { timeout: 120000 } },
  middleware: [requestCounts, slideFiles, openjpegWasm, tfjsWasm],
  plugins: [
    emptyNodeBuiltins,
    tfjsFlatBundles,
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: join(root, 'tsconfig.json') }),
    // OpenSeadragon and the OpenJPEG glue ship as UMD/CommonJS; the dev server only speaks ES modules.
    commonjs({
      include: [`**${sep}node_modules${sep}openseadragon${sep}**`],
      // Wrapped modules (the default, true) are reached through proxy modules the dev server
      // does not serve: importers would get `__require` instead of the default export.
      strictRequires: false,
    }),
    openjpegGlue,
  ],
  browsers: [playwrightLauncher({ product: 'chromium', launchOptions: { executablePath, args, headless: true } })],
};
