// The MSD forward on WebGPU in headless Chromium: TF.js's per-layer ops against the fused WGSL
// kernels (core/msd/webgpu-msd.ts) on one device in one run, per tile with its receptive-field
// margin, and adaptation's support features both ways. The page (tools/bench-gpu-page.ts) is
// bundled with esbuild and served from localhost (WebGPU needs a secure context).
import fs from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { gpuAdapterLabel } from '../core/msd/gpu-adapter.js';
import type { GpuBenchOptions, GpuBenchResult } from './bench-gpu-page.js';
import { integerOption, startCli } from './cli.js';
import { findChromium } from './setup.mjs';

const args = startCli({
  name: 'bench:gpu',
  command: 'npm run bench:gpu',
  synopsis: '[options]',
  description: `
The shipped extractors (3 × depth 25) and a head on WebGPU in headless Chromium: ms per output tile
(the forward covers the tile and its 125 px margin) through TF.js's webgpu ops and through the fused
kernels, side by side in one run, their ratio, and the support features of 256² patches both ways.
Prints the adapter and whether it is a real GPU or a software fallback (SwiftShader). Figures only.
On a machine with a GPU, --real-gpu asks Chromium for it (Vulkan on Linux).`,
  options: {
    tile: { type: 'string', value: 'N', default: '1024', description: 'output tile side in pixels' },
    runs: { type: 'string', value: 'N', default: '5', description: 'timed runs of each (after one warm-up); medians' },
    patches: {
      type: 'string',
      value: 'N',
      default: '5',
      description: 'support patches (256²) for the features figure',
    },
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
  },
  examples: [
    'npm run bench:gpu -- --tile 128 --runs 3 --patches 1',
    'npm run bench:gpu -- --real-gpu --tile 1024 --runs 10',
  ],
});

const options: GpuBenchOptions = {
  tile: integerOption('tile', args.tile, 1, 4096),
  runs: integerOption('runs', args.runs, 1),
  patches: integerOption('patches', args.patches, 0, 100),
  skipTfjs: args['skip-tfjs'],
};

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

const median = (xs: readonly number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (xs: readonly number[]) =>
  xs.length ? `${median(xs).toFixed(1)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})` : 'not run';

async function main(): Promise<void> {
  const bundled = await build({
    entryPoints: [path.join(root, 'tools/bench-gpu-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const script = bundled.outputFiles[0].text;
  const page =
    '<!doctype html><meta charset="utf-8"><title>bench:gpu</title><script type="module" src="/bench.js"></script>';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    if (url.pathname === '/bench.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    const file = path.join(root, decodeURIComponent(url.pathname));
    if (url.pathname.startsWith('/models/') && file.startsWith(path.join(root, 'models')) && fs.existsSync(file))
      return res.writeHead(200).end(fs.readFileSync(file));
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const executablePath = findChromium();
  if (!executablePath) throw new Error('no Chromium found: run `node tools/setup.mjs --chromium`');
  const flags = [...FLAGS, ...(args['real-gpu'] ? REAL_GPU_FLAGS : []), ...(args['chromium-arg'] ?? [])];
  const browser = await chromium.launch({ executablePath, args: flags, headless: true });
  try {
    const tab = await browser.newPage();
    tab.on('pageerror', (err) => process.stderr.write(`page: ${err.message}\n`));
    await tab.goto(`http://127.0.0.1:${port}/`);
    await tab.waitForFunction(() => 'benchGpu' in globalThis);
    const r: GpuBenchResult = await tab.evaluate(
      (o) => (globalThis as unknown as { benchGpu(o: GpuBenchOptions): Promise<GpuBenchResult> }).benchGpu(o),
      options,
    );
    const fused = median(r.fused);
    const tfjs = median(r.tfjs);
    const lines = [
      `adapter: ${gpuAdapterLabel(r.adapter)} (${r.adapter.software ? 'NOT a real GPU' : 'a real GPU'})`,
      `device limits: storage binding ${(r.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, ` +
        `buffer ${(r.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB`,
      `extractors: ${r.extractors}`,
      `machine: ${os.cpus().length} cores, load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
      `tile ${options.tile}² (forward over ${r.side}², margin included), head over all maps, probabilities read back:`,
      `  TF.js webgpu ops: ${ms(r.tfjs)}`,
      `  fused kernels:    ${ms(r.fused)}`,
      r.tfjs.length ? `  ratio TF.js / fused: ${(tfjs / fused).toFixed(2)}×` : '',
      r.maxDifference !== undefined ? `  max |fused − TF.js| probability: ${r.maxDifference.toExponential(2)}` : '',
      options.patches
        ? `support features of ${options.patches} patch(es) of 256² (${r.labelledPixels} labelled pixels × C'):`
        : '',
      options.patches ? `  TF.js webgpu: ${ms(r.featuresTfjs)}` : '',
      options.patches ? `  fused:        ${ms(r.featuresFused)}` : '',
      r.adapter.software
        ? 'targets (≤ 5 ms per 1024² tile, ≤ 50 ms for the support features) are for a real GPU; this one is not.'
        : 'targets: ≤ 5 ms per 1024² tile for three depth-25 extractors and the head; support features ≤ 50 ms.',
    ];
    process.stdout.write(lines.filter((l) => l).join('\n') + '\n');
  } finally {
    await browser.close();
    server.close();
  }
}

await main();
