import { cpSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import type { Plugin, RollupOptions } from 'rollup';
import esbuild from 'rollup-plugin-esbuild';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

const require = createRequire(import.meta.url);
// OpenJPEG's WebAssembly, beside dist/index.js, whose literal names it (plugin/assets.ts).
const OPENJPEG_WASM = require.resolve('@cornerstonejs/codec-openjpeg/decodewasm');
// TF.js' wasm binaries, beside dist/index.js, whose literals name them (plugin/assets.ts).
const TFJS_WASM_DIR = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const TFJS_WASM = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Node built-ins that geotiff and the codec import for their Node paths only. */
const nodeOnly = (): Plugin => ({
  name: 'node-only-modules',
  resolveId: (id) =>
    ['fs', 'path', 'http', 'https', 'url', 'os', 'perf_hooks', 'worker_threads'].includes(id) ? `\0empty:${id}` : null,
  load: (id) => (id.startsWith('\0empty:') ? 'export default {};' : null),
});

const compile = () => [
  nodeOnly(),
  nodeResolve({ browser: true, extensions: ['.ts', '.js'] }),
  commonjs({ ignore: ['fs', 'path'] }),
  esbuild({ target: 'es2022', tsconfig: 'tsconfig.json' }),
];

// The command line (`bin`: dist/bin/openseadragon-fewshot.js) and its worker threads'
// module (dist/bin/node-worker.js), for Node: its dependencies stay imports (geotiff, from the
// package's `dependencies`), TF.js (a devDependency) is bundled into the worker as it is into
// dist/worker.js. Emscripten's glue in TF.js' wasm backend reads `require` and `__dirname`, which an
// ES module lacks: the banner gives them (the threads start TF.js' cpu backend, so its wasm
// binaries are never loaded; the SIMD engine is assembled at run time).
const isNodeBuiltin = (id: string) => id.startsWith('node:') || builtinModules.includes(id.split('/')[0]);
const NODE_BANNER =
  "import { createRequire as __createRequire } from 'node:module';\n" +
  "import { fileURLToPath as __fileURLToPath } from 'node:url';\n" +
  'const require = __createRequire(import.meta.url);\n' +
  'const __filename = __fileURLToPath(import.meta.url);\n' +
  "const __dirname = __fileURLToPath(new URL('.', import.meta.url));";
const compileForNode = () => [
  nodeResolve({ preferBuiltins: true, exportConditions: ['node'], extensions: ['.ts', '.js'] }),
  commonjs({ ignoreDynamicRequires: true }),
  esbuild({ target: 'node20', tsconfig: 'tsconfig.json' }),
];

/** Copies a static file into the output folder as-is. */
function copy(from: string, fileName: string): Plugin {
  return {
    name: 'copy',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName, source: readFileSync(from) });
    },
  };
}

/** Copies a folder next to the output, outside rollup's asset tree (which refuses '../' names). */
function copyFolder(from: string, to: string): Plugin {
  return {
    name: 'copy-folder',
    writeBundle() {
      cpSync(from, to, { recursive: true });
    },
  };
}

// The library leaves its dependencies to the embedding app's bundler; OpenSeadragon is a peer.
// So `dependencies` are exactly what dist/index.js imports (lit, geotiff); TF.js is a
// devDependency, bundled into dist/worker.js. OpenJPEG's Emscripten glue is bundled into the
// JPEG 2000 chunk too (56 kB, loaded only for such slides): it requires 'fs' and 'path' for its
// Node path, which webpack 5 refuses to resolve for a browser unless the host app configures
// fallbacks; bundled here, they are empty modules and a host needs no option.
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)];
const isExternal = (id: string) => external.some((name) => id === name || id.startsWith(`${name}/`));

const config: RollupOptions[] = [
  {
    input: { index: 'plugin/index.ts' },
    // The JPEG 2000 decoder's lazy chunk may import what it shares from dist/index.js itself,
    // rather than the whole library moving into a hashed chunk behind a two-line index.js.
    preserveEntrySignatures: 'allow-extension',
    external: isExternal,
    plugins: compile(),
    output: { dir: 'dist', format: 'es', sourcemap: true },
  },
  {
    // Workers are loaded by URL, so they carry everything they need.
    input: { worker: 'worker/worker-entry.ts' },
    plugins: [
      ...compile(),
      copy(OPENJPEG_WASM, 'openjpegwasm_decode.wasm'),
      ...TFJS_WASM.map((name) => copy(join(TFJS_WASM_DIR, name), name)),
    ],
    output: [
      // The package's copy has no source map: the worker's is 19 MB (all of TF.js), two thirds of
      // the unpacked package. The demo's copy keeps one for debugging; dist/demo is not shipped.
      // One file, no chunks: a host's bundler copies dist/worker.js as the asset its
      // `new URL('./worker.js', import.meta.url)` names and would not know the chunks it imports.
      { dir: 'dist', format: 'es', sourcemap: false, inlineDynamicImports: true },
      { dir: 'dist/demo', format: 'es', sourcemap: true, inlineDynamicImports: true },
    ],
  },
  {
    input: {
      'openseadragon-fewshot': 'tools/batch/bin.ts',
      'node-worker': 'worker/node-thread-entry.ts',
      // BullMQ's sandboxed processor for `worker`: a file of its own, which BullMQ's child processes import.
      'queue-processor': 'tools/batch/queue-processor.ts',
    },
    external: (id) => isNodeBuiltin(id) || isExternal(id),
    plugins: compileForNode(),
    output: {
      dir: 'dist/bin',
      format: 'es',
      sourcemap: false,
      banner: (chunk) => `${chunk.name === 'openseadragon-fewshot' ? '#!/usr/bin/env node\n' : ''}${NODE_BANNER}`,
      chunkFileNames: '[name].js',
    },
  },
  {
    input: { demo: 'viewer-demo/main.ts' },
    plugins: [
      ...compile(),
      copy('viewer-demo/index.html', 'index.html'),
      // DEFAULT_EXTRACTORS_URL is '../models/default/…' from the bundle; the demo is served from
      // the site root, where '../models' resolves to '/models'.
      copyFolder('models/default', 'dist/demo/models/default'),
      // The embedded slide (CMU-1-Small-Region.svs, CC0) and the example support set made on it:
      // dist/demo is a static site that works as it is.
      copyFolder('viewer-demo/slides', 'dist/demo/slides'),
      copyFolder('viewer-demo/examples', 'dist/demo/examples'),
    ],
    output: { dir: 'dist/demo', format: 'es', sourcemap: true },
  },
];

export default config;
