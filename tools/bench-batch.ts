/**
 * Throughput of the batch: one slide cut from the sample (`--size`² level-0 pixels at 0.5 µm/px,
 * so (2·size)² pixels of the 0.25 µm/px inference grid), its whole area predicted, end to end
 * (plan, tiles, cells, overlay, CSV) — on this process's worker threads (1 and 2) and through the
 * queue (a real redis-server started here, `openseadragon-fewshot worker` processes, 1 and 2, one
 * job at a time each, one tile a job), `--runs` times each into fresh folders; medians. A local run
 * starts its threads and loads its model as every batch does, and so does the coordinator; the
 * queue settings first run once to warm up, as a worker's child process loads its model on its
 * first job and then keeps it for every batch to come.
 * The queue's overhead per tile is the median time through one worker minus the median on one
 * thread, over the tiles: both compute on one thread.
 *
 *   npm run bench:batch                      # 1024² level-0 pixels: 16 tiles of 512²
 *   npm run bench:batch -- --size 2048 --runs 3
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HEAD_FORMAT, HEAD_VERSION } from '../core/adaptation/head.js';
import { openTiff } from '../core/slide/tiff-source.js';
import { queueConnection } from './batch/queue-jobs.js';
import { runQueuedBatch } from './batch/queue-coordinator.js';
import { runBatch } from './batch/run-batch.js';
import { STATE_DIR } from './batch/slide-plan.js';
import { integerOption, startCli } from './cli.js';
import { encodeTiff } from './sample/tiff.js';

const args = startCli({
  name: 'bench:batch',
  command: 'npm run bench:batch',
  synopsis: '[options]',
  description: `
MP/s of the batch on 1 and 2 worker threads and through the BullMQ queue with 1 and 2 worker
processes (a redis-server is started on a free port), and the queue's overhead per tile.`,
  options: {
    size: { type: 'string', value: 'N', default: '1024', description: 'level-0 side of the slide cut from the sample' },
    runs: { type: 'string', value: 'N', default: '1', description: 'timed runs per setting (after a warm-up)' },
  },
  examples: ['npm run bench:batch -- --size 2048 --runs 3'],
});
const size = integerOption('size', args.size, 256, 8192);
const runs = integerOption('runs', args.runs, 1);

const SAMPLE = '.cache/sample/sample-slide.tif';
if (!fs.existsSync(SAMPLE)) throw new Error(`${SAMPLE} is missing: run \`npm run sample\``);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-batch-'));
const slide = path.join(tmp, 'bench.tif');
const head = path.join(tmp, 'bench.head.json');

const sample = await openTiff({ kind: 'blob', blob: new Blob([fs.readFileSync(SAMPLE)]), name: 'sample' });
const pixels = await sample.readRegion({ level: 0, x: 1024, y: 1024, width: size, height: size });
const tiffOptions = {
  width: size,
  height: size,
  samplesPerPixel: 3,
  compression: 'deflate',
  tileSize: 256,
  mpp: 0.5,
} as const;
fs.writeFileSync(slide, encodeTiff([{ options: tiffOptions, pixels }]));
// Any head over the shipped extractors: the cost of a tile does not depend on its weights.
const features = 75;
fs.writeFileSync(
  head,
  JSON.stringify({
    format: HEAD_FORMAT,
    version: HEAD_VERSION,
    W: Array.from({ length: features }, (_, i) => ((i % 7) - 3) * 0.01),
    b: -0.2,
    featureStats: { mean: new Array(features).fill(0), std: new Array(features).fill(1) },
    threshold: 0.5,
    metadata: {
      className: 'Bench',
      extractors: ['inflammatory', 'epithelial', 'spindle'].map((name) => ({ name, depth: 25 })),
    },
  }),
);
const slides = [{ source: slide, name: 'bench' }];

let folder = 0;
const freshOut = () => path.join(tmp, `out-${folder++}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Process ids whose CPU time a setting counts besides this process's (its worker process groups, Redis). */
let counted: number[] = [];

/** CPU seconds (user + system) of the process groups of `counted` (every process in them, children too). */
function groupCpuSeconds(): number {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // After the command's ")" : state ppid pgrp … utime (14th field) stime (15th) cutime cstime.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    const group = Number(fields[2]);
    if (!counted.includes(group) && !counted.includes(pid)) continue;
    total += fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / ticks;
  }
  return total;
}

const cpuSeconds = () => {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1e6 + groupCpuSeconds();
};

/**
 * Wall and CPU seconds of `run`, medians of `--runs`. CPU seconds are what sizes machines on a
 * loaded one: wall time here depends on what else runs (the load printed), CPU time much less.
 */
async function timed(
  run: (out: string) => Promise<unknown>,
  warm: boolean,
): Promise<{ seconds: number; cpu: number; out: string }> {
  if (warm) await run(freshOut());
  const times: number[] = [];
  const cpus: number[] = [];
  let out = '';
  for (let r = 0; r < runs; r++) {
    out = freshOut();
    const t0 = performance.now();
    const c0 = cpuSeconds();
    await run(out);
    times.push((performance.now() - t0) / 1000);
    cpus.push(cpuSeconds() - c0);
  }
  return { seconds: median(times), cpu: median(cpus), out };
}

function planned(out: string): { tiles: number; megapixels: number } {
  const plan = JSON.parse(fs.readFileSync(path.join(out, STATE_DIR, 'bench', 'plan.json'), 'utf8')) as {
    rects: { width: number; height: number }[];
  };
  return { tiles: plan.rects.length, megapixels: plan.rects.reduce((s, r) => s + r.width * r.height, 0) / 1e6 };
}

function startRedis(port: number) {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise<typeof child>((resolve, reject) => {
    child.once('error', reject);
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d;
      if (text.includes('Ready to accept connections')) resolve(child);
    });
  });
}

function startWorker(url: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tools/batch/bin.ts', 'worker', '--queue', url, '--concurrency', '1'],
    { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
  );
  return new Promise<typeof child>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', () => resolve(child));
  });
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`bench:batch: ${size}² level-0 px, ${os.availableParallelism()} cores, load ${load()}`);
const results: { setting: string; seconds: number; cpu: number }[] = [];
for (const threads of [1, 2]) {
  const { seconds, cpu } = await timed((out) => runBatch({ head, slides, region: 'slide', out, threads }), false);
  results.push({ setting: `local, ${threads} thread${threads > 1 ? 's' : ''}`, seconds, cpu });
}
const port = 20000 + Math.floor(Math.random() * 20000);
const redis = await startRedis(port);
counted = [redis.pid!];
const url = `redis://127.0.0.1:${port}`;
const workers: Awaited<ReturnType<typeof startWorker>>[] = [];
let sized = { tiles: 0, megapixels: 0 };
try {
  for (const count of [1, 2]) {
    while (workers.length < count) workers.push(await startWorker(url));
    counted = [redis.pid!, ...workers.map((w) => w.pid!)];
    const { seconds, cpu, out } = await timed(
      (o) =>
        runQueuedBatch({ head, slides, region: 'slide', out: o, connection: queueConnection(url), tilesPerJob: 1 }),
      true,
    );
    sized = planned(out);
    results.push({ setting: `queue, ${count} worker process${count > 1 ? 'es' : ''}`, seconds, cpu });
  }
} finally {
  for (const w of workers) process.kill(-w.pid!, 'SIGKILL');
  redis.kill('SIGTERM');
}
console.log(`${sized.tiles} tiles, ${sized.megapixels.toFixed(2)} MP of inference grid; median of ${runs} run(s)`);
const mp = sized.megapixels;
console.log('setting                       wall s   MP/s    CPU s   MP per CPU-s');
for (const r of results)
  console.log(
    `${r.setting.padEnd(28)} ${r.seconds.toFixed(1).padStart(7)} ${(mp / r.seconds).toFixed(3).padStart(7)}` +
      ` ${r.cpu.toFixed(1).padStart(8)} ${(mp / r.cpu).toFixed(4).padStart(9)}`,
  );
const wallOverhead = (results[2].seconds - results[0].seconds) / sized.tiles;
const cpuOverhead = (results[2].cpu - results[0].cpu) / sized.tiles;
console.log(
  `queue overhead per tile (1 worker vs 1 thread): ${(wallOverhead * 1000).toFixed(0)} ms wall, ` +
    `${(cpuOverhead * 1000).toFixed(0)} ms CPU; load ${load()}`,
);
fs.rmSync(tmp, { recursive: true, force: true });
