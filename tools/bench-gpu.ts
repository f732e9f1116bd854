// The MSD forward on WebGPU: TF.js's per-layer ops against the fused WGSL kernels
// (core/msd/webgpu-msd.ts) on one device in one run, per tile with its receptive-field margin,
// adaptation's support features both ways, and a full-HD view. In headless Chromium (the page,
// tools/bench-gpu-page.ts, bundled with esbuild and served from localhost: WebGPU needs a secure
// context), or in this Node process over Dawn's dawn.node (--dawn: what tools/device/bench-gpu.sh
// runs on a machine with a GPU and no browser).
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpuAdapterLabel, type GpuAdapterSummary } from '../core/msd/gpu-adapter.js';
import type { GpuBenchOptions, GpuBenchResult } from './bench-gpu-page.js';
import { integerOption, startCli } from './cli.js';
import { findChromium } from './setup.mjs';

const args = startCli({
  name: 'bench:gpu',
  command: 'npm run bench:gpu',
  synopsis: '[options]',
  description: `
The shipped extractors (3 × depth 25) and a head on WebGPU: ms per output tile (the forward covers
the tile and its 125 px margin) through TF.js's webgpu ops and through the fused kernels, side by
side in one run, their ratio, the support features of 256² patches both ways, and a full-HD view
through the fused kernels. Prints the adapter and whether it is a real GPU or a software fallback.
On a software fallback (SwiftShader) the run is cut to what finishes in minutes unless sizes are
given: 256² tiles, 1 run, 1 patch, no view. Figures only. In headless Chromium by default; on a
machine with a GPU, --real-gpu asks Chromium for it (Vulkan on Linux), or --dawn runs in Node on
Dawn (the webgpu package's dawn.node; tools/device/bench-gpu.sh).`,
  options: {
    tile: { type: 'string', value: 'N', description: 'output tile side in pixels (default 1024; 256 on a fallback)' },
    runs: { type: 'string', value: 'N', description: 'timed runs of each, after one warm-up; medians (default 5; 1)' },
    patches: {
      type: 'string',
      value: 'N',
      description: 'support patches (256²) for the features figure (default 5; 1 on a fallback)',
    },
    view: { type: 'boolean', description: 'time the full-HD view (default: on a real GPU only)' },
    'skip-tfjs': {
      type: 'boolean',
      default: false,
      description: "only the fused kernels (TF.js's ops take minutes per 1024² tile on SwiftShader)",
    },
    'real-gpu': {
      type: 'boolean',
      default: false,
      description: 'Chromium flags for a hardware adapter on Linux: --use-angle=vulkan --enable-features=Vulkan …',
    },
    'chromium-arg': {
      type: 'string',
      multiple: true,
      value: 'FLAG',
      description: 'one more Chromium flag (repeatable)',
    },
    dawn: {
      type: 'string',
      value: 'FILE',
      description: "run in Node on this dawn.node (the webgpu npm package's dist/linux-x64/dawn.node), no browser",
    },
    models: { type: 'string', value: 'DIR', default: 'models', description: 'folder holding default/extractors.json' },
  },
  allowNegative: true,
  examples: [
    'npm run bench:gpu                      # SwiftShader here: cut to 256² tiles, says so',
    'npm run bench:gpu -- --tile 128 --runs 3 --patches 1 --view',
    'npm run bench:gpu -- --real-gpu --tile 1024 --runs 10',
    'npm run bench:gpu -- --dawn .device/dawn.node',
  ],
});

// Headless Chromium offers WebGPU only behind --enable-unsafe-webgpu, and without a GPU flag it
// is SwiftShader (a CPU). For a real GPU on Linux, Chrome's own advice for headless model tests
// (developer.chrome.com, "Supercharge Web AI model testing"): ANGLE and WebGPU over Vulkan, no
// Vulkan surface (there is no display). Not run here: this project's machines have no GPU.
const FLAGS = ['--no-sandbox', '--disable-background-networking', '--no-first-run', '--enable-unsafe-webgpu'];
const REAL_GPU_FLAGS = [
  '--use-angle=vulkan',
  '--enable-features=Vulkan',
  '--disable-vulkan-surface',
  '--ignore-gpu-blocklist',
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modelsDir = path.resolve(args.models);

// Checked before anything starts; unset ones are sized by the adapter (sizeRun).
const given = {
  tile: args.tile === undefined ? undefined : integerOption('tile', args.tile, 1, 4096),
  runs: args.runs === undefined ? undefined : integerOption('runs', args.runs, 1),
  patches: args.patches === undefined ? undefined : integerOption('patches', args.patches, 0, 100),
};

/** The run's sizes: as given, else full on a real GPU and cut on a software one (minutes, not hours). */
function sizeRun(adapter: GpuAdapterSummary | undefined): Omit<GpuBenchOptions, 'manifestUrl'> {
  const software = adapter?.software ?? true;
  return {
    tile: given.tile ?? (software ? 256 : 1024),
    runs: given.runs ?? (software ? 1 : 5),
    patches: given.patches ?? (software ? 1 : 5),
    skipTfjs: args['skip-tfjs'],
    view: args.view ?? !software,
  };
}

const median = (xs: readonly number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (xs: readonly number[]) =>
  xs.length ? `${median(xs).toFixed(1)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})` : 'not run';

function report(r: GpuBenchResult, o: GpuBenchOptions, where: string): string {
  const fused = median(r.fused);
  const tfjs = median(r.tfjs);
  // A smaller tile's time scaled to a 1024² one by the pixels computed (margin included): a guide only.
  const per1024 = (t: number) => (t * (1024 + r.side - o.tile) ** 2) / r.side ** 2;
  const scaled = o.tile === 1024 ? '' : ` (≈ ${per1024(fused).toFixed(0)} ms per 1024² tile by pixels)`;
  const lines = [
    `adapter: ${gpuAdapterLabel(r.adapter)} (${r.adapter.software ? 'NOT a real GPU: software' : 'a real GPU'})`,
    `run in: ${where}`,
    `device limits: storage binding ${(r.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, ` +
      `buffer ${(r.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB`,
    `extractors: ${r.extractors}`,
    `machine: ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    `tile ${o.tile}² (forward over ${r.side}², margin included), head over all maps, probabilities read back:`,
    `  TF.js webgpu ops: ${ms(r.tfjs)}`,
    `  fused kernels:    ${ms(r.fused)}${scaled}`,
    r.tfjs.length ? `  ratio TF.js / fused: ${(tfjs / fused).toFixed(2)}×` : '',
    r.maxDifference !== undefined ? `  max |fused − TF.js| probability: ${r.maxDifference.toExponential(2)}` : '',
    o.patches ? `support features of ${o.patches} patch(es) of 256² (${r.labelledPixels} labelled pixels × C'):` : '',
    o.patches ? `  TF.js webgpu: ${ms(r.featuresTfjs)}` : '',
    o.patches ? `  fused:        ${ms(r.featuresFused)}` : '',
    o.view ? 'full-HD view (1920×1080 output pixels), fused kernels:' : 'full-HD view: not run (--view)',
    o.view ? `  12 'whole' tiles of 512², one after another: ${ms(r.viewTiles)}` : '',
    o.view ? `  one forward over the view and its margin:     ${ms(r.viewBlock)}` : '',
    r.adapter.software
      ? 'targets (≤ 5 ms per 1024² tile, ≤ 50 ms for the support features) are for a real GPU; this one is not.'
      : 'targets: ≤ 5 ms per 1024² tile for three depth-25 extractors and the head; support features ≤ 50 ms.',
  ];
  return lines.filter((l) => l).join('\n') + '\n';
}

/** The models folder over HTTP (what loadBundle reads, in a page or in Node), and the page when given. */
async function serve(page?: { html: string; script: string }): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (page && url.pathname === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(page.html);
    if (page && url.pathname === '/bench.js')
      return res.writeHead(200, { 'content-type': 'text/javascript' }).end(page.script);
    const file = path.join(modelsDir, decodeURIComponent(url.pathname.replace(/^\/models\//, '')));
    if (url.pathname.startsWith('/models/') && file.startsWith(modelsDir) && fs.existsSync(file))
      return res.writeHead(200).end(fs.readFileSync(file));
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, origin: `http://127.0.0.1:${port}` };
}

async function inChromium(): Promise<string> {
  // Loaded here only: --dawn runs as one bundled file without them (tools/device/).
  const { build } = await import('esbuild');
  const { chromium } = await import('playwright-core');
  const bundled = await build({
    entryPoints: [path.join(root, 'tools/bench-gpu-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const html =
    '<!doctype html><meta charset="utf-8"><title>bench:gpu</title><script type="module" src="/bench.js"></script>';
  const { server, origin } = await serve({ html, script: bundled.outputFiles[0].text });
  const executablePath = findChromium();
  if (!executablePath) throw new Error('no Chromium found: run `node tools/setup.mjs --chromium`');
  const flags = [...FLAGS, ...(args['real-gpu'] ? REAL_GPU_FLAGS : []), ...(args['chromium-arg'] ?? [])];
  const browser = await chromium.launch({ executablePath, args: flags, headless: true });
  try {
    const tab = await browser.newPage();
    tab.on('pageerror', (err) => process.stderr.write(`page: ${err.message}\n`));
    tab.on('console', (m) => process.stderr.write(`${m.text()}\n`));
    await tab.goto(`${origin}/`);
    await tab.waitForFunction(() => 'benchGpu' in globalThis);
    type Page = { benchGpu(o: GpuBenchOptions): Promise<GpuBenchResult>; benchAdapter(): Promise<GpuAdapterSummary> };
    const adapter = await tab.evaluate(() => (globalThis as unknown as Page).benchAdapter());
    const options = { ...sizeRun(adapter), manifestUrl: `${origin}/models/default/extractors.json` };
    announce(adapter, options);
    const r = await tab.evaluate((o) => (globalThis as unknown as Page).benchGpu(o), options);
    return report(r, options, `headless Chromium ${browser.version()} (${flags.join(' ')})`);
  } finally {
    await browser.close();
    server.close();
  }
}

async function inDawn(dawnFile: string): Promise<string> {
  // dawn.node gives navigator.gpu and the GPU* classes; TF.js's webgpu backend registers itself
  // only where navigator.gpu exists, so they go on globalThis before the page module is loaded.
  const require = createRequire(import.meta.url);
  const { create, globals } = require(path.resolve(dawnFile)) as {
    create(flags: string[]): GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
  const { benchAdapter, runBench } = await import('./bench-gpu-page.js');
  const adapter = await benchAdapter();
  if (!adapter) throw new Error(`Dawn (${dawnFile}) found no WebGPU adapter: is a Vulkan driver installed?`);
  const { server, origin } = await serve();
  try {
    const options = { ...sizeRun(adapter), manifestUrl: `${origin}/models/default/extractors.json` };
    announce(adapter, options);
    return report(await runBench(options), options, `Node ${process.version} on Dawn (${path.basename(dawnFile)})`);
  } finally {
    server.close();
  }
}

function announce(adapter: GpuAdapterSummary | undefined, o: Omit<GpuBenchOptions, 'manifestUrl'>): void {
  const label = adapter ? gpuAdapterLabel(adapter) : 'no adapter';
  const cut = adapter?.software && given.tile === undefined ? ' — a software fallback: cut to a short run' : '';
  process.stderr.write(
    `bench:gpu: ${label}${cut}: ${o.tile}² tiles, ${o.runs} run(s), ${o.patches} patch(es), view ${o.view}\n`,
  );
}

process.stdout.write(args.dawn ? await inDawn(args.dawn) : await inChromium());
