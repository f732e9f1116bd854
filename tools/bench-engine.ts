/**
 * Inference throughput: megapixels of output per second for the default extractors (three
 * depth-25 MSD networks) plus a head, on wasm, with 1 and 2 workers. Workers are Node worker
 * threads running the browser worker's code path (predictTile → head model → stitch), reading
 * the generated sample slide themselves. Also prints the overlap cost of the 256/64 patch grid:
 * patch pixels evaluated per output pixel, by output tile size (≈ 16 in the interior of an
 * infinite region; more for finite tiles, whose margins are computed again by their neighbours).
 *
 *
 * Before that, the main-thread and per-tile costs of working at the extractors' scale: planning a
 * zoomed-out view of a whole slide (view-plan.ts; must stay far below a 50 ms task) and reading
 * a tile's pixels through the resampled inference grid against reading the level directly.
 *
 *   npx tsx tools/bench-engine.ts                       # 512² tiles, one per worker, 1 and 2 workers
 *   npx tsx tools/bench-engine.ts --tile 256 --tiles-per-worker 2 --workers 1,2
 *   npx tsx tools/bench-engine.ts --workers none        # only the planning and resampling figures
 */
import { openAsBlob } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { inferenceGrid } from '../core/inference/inference-grid.js';
import { outputTiles, planTile, PATCH_SIZE } from '../core/inference/patch-grid.js';
import type { Rect } from '../core/math/rect.js';
import { resampledSource } from '../core/inference/resampled-source.js';
import { openTiff } from '../core/slide/tiff-source.js';
import { planView } from '../core/inference/view-plan.js';
import type { BenchThreadData, BenchThreadReply } from './bench-engine-thread.js';
import { choiceOption, existingFile, integerOption, listOption, startCli } from './cli.js';

const args = startCli({
  name: 'bench:engine',
  command: 'npm run bench:engine',
  synopsis: '[options]',
  description: `
Inference throughput (output megapixels per second) of the extractor bundle plus a head on
wasm, with 1 and 2 worker threads reading the sample slide themselves; before that, the cost
of planning a zoomed-out view and of reading a tile through the resampled inference grid.`,
  options: {
    workers: { type: 'string', value: 'LIST|none', default: '1,2', description: 'worker counts to time' },
    // The per-patch models to compare: 'simd' (what a wasm/cpu worker uses) and 'tfjs'.
    models: { type: 'string', value: 'LIST', default: 'simd,tfjs', description: 'per-patch models: simd, tfjs' },
    tile: { type: 'string', value: 'N', default: '512', description: 'output tile side' },
    'tiles-per-worker': { type: 'string', value: 'N', default: '1', description: 'tiles each worker computes' },
    slide: {
      type: 'string',
      value: 'FILE',
      default: fileURLToPath(new URL('../.cache/sample/sample-slide.tif', import.meta.url)),
      description: 'the slide read',
    },
    bundle: {
      type: 'string',
      value: 'FILE',
      default: fileURLToPath(new URL('../models/default/extractors.json', import.meta.url)),
      description: 'extractor bundle manifest (.json; its .bin beside it)',
    },
  },
  examples: [
    'npm run bench:engine -- --tile 256 --tiles-per-worker 2 --workers 1,2',
    'npm run bench:engine -- --workers none',
  ],
});
const tileSize = integerOption('tile', args.tile, 64, 4096);
const perWorker = integerOption('tiles-per-worker', args['tiles-per-worker'], 1);
const workerCounts =
  args.workers === 'none' ? [] : listOption('workers', args.workers, (n) => integerOption('workers', n, 1, 64));
const models = listOption('models', args.models, (m) => choiceOption('models', m, ['simd', 'tfjs'] as const));
existingFile('slide', args.slide, 'run `npm run sample` first, or pass --slide');
existingFile('bundle', args.bundle, 'an extractor bundle manifest');
const image = { width: 8192, height: 8192 };

// The overlap cost, exactly, from the grid itself (no computing).
console.log('patch pixels evaluated per output pixel (256² patches, stride 64, interior tiles of an 8192² image):');
for (const size of [256, 512, 1024, 2048]) {
  const plan = planTile({ x: 2048, y: 2048, width: size, height: size }, image);
  console.log(
    `  ${size}² tiles: ${plan.patches.length} patches, ` +
      `ratio ${((plan.patches.length * PATCH_SIZE ** 2) / size ** 2).toFixed(2)}`,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timeIt = async (runs: number, f: () => unknown) => {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return median(ms);
};

// Planning a view that holds a whole 100 000 × 80 000 slide (a large 40× scan; the same slide at
// 20× is upsampled to the same grid), with a 16 MP budget.
console.log('planning a zoomed-out view of a whole slide (main thread), median of 5:');
for (const [mpp, w0, h0] of [
  [0.25, 100_000, 80_000],
  [0.5, 50_000, 40_000],
  [0.25, 200_000, 160_000],
] as const) {
  const grid = inferenceGrid(
    { levels: [{ width: w0, height: h0, downsample: 1, tileWidth: 256, tileHeight: 256 }], mpp: { x: mpp, y: mpp } },
    0.25,
  );
  let plan: ReturnType<typeof planView> | undefined;
  planView({ grid, visible: { x: 0, y: 0, width: 1000, height: 1000 }, budgetMegapixels: 16 }); // JIT warm-up
  const ms = await timeIt(
    5,
    () => (plan = planView({ grid, visible: { x: 0, y: 0, width: w0, height: h0 }, budgetMegapixels: 16 })),
  );
  console.log(
    `  ${w0}×${h0} at ${mpp} µm/px → grid ${grid.width}×${grid.height}: ${plan!.visible.tiles} tiles, ` +
      `${plan!.now.count} within budget, ${plan!.later.count} deferred — ${ms.toFixed(1)} ms`,
  );
}

// One 512² tile's read (tile + 192-pixel patch margins) at the extractors' scale through the
// resampled grid (level 0 upsampled 2×), against reading the level-0 pixels it is made from.
{
  const slide = await openTiff({ kind: 'blob', blob: await openAsBlob(args.slide), name: args.slide });
  const grid = inferenceGrid(slide, 0.25);
  const scaled = resampledSource(slide, grid.level, grid.width, grid.height);
  const read = planTile({ x: 8192, y: 8192, width: 512, height: 512 }, grid).read;
  const source = { level: 0, x: read.x / 2, y: read.y / 2, width: read.width / 2, height: read.height / 2 };
  const direct = await timeIt(7, () => slide.readRegion(source));
  const resampled = await timeIt(7, () => scaled.readRegion({ level: 0, ...read }));
  console.log(
    `a 512² tile's ${read.width}×${read.height} read at 0.25 µm/px from the 0.5 µm/px sample, median of 7: ` +
      `${resampled.toFixed(1)} ms, ` +
      `of which reading its ${source.width}×${source.height} level-0 pixels ${direct.toFixed(1)} ms (resampling ` +
      `×${(resampled / direct).toFixed(2)} the read); its 121 patches take seconds`,
  );
}

function thread(data: BenchThreadData, onTile: (ms: number, patches: number) => void): Promise<void> {
  // Node 20 does not apply the main thread's tsx loader to workers: register it in the thread.
  const entry = new URL('./bench-engine-thread.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); ` + `return import(${JSON.stringify(entry)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: data });
  return new Promise((resolve, reject) => {
    worker.on('message', (m: BenchThreadReply) => {
      if (m.type === 'tile') onTile(m.ms, m.patches);
      else if (m.type === 'error') reject(new Error(m.message));
      else {
        resolve();
        void worker.terminate();
      }
    });
    worker.on('error', reject);
  });
}

// Interior tiles of a fixed grid, away from the edges, distinct per worker.
const all = outputTiles({ x: 2048, y: 2048, width: 4096, height: 4096 }, image, tileSize);
const manifest = args.bundle;
const weights = manifest.replace(/\.json$/, '.bin');

for (const model of models)
  for (const n of workerCounts) {
    const tiles: Rect[] = all.slice(0, n * perWorker);
    if (tiles.length < n * perWorker) throw new Error('not enough tiles for that many workers');
    let patches = 0;
    // Steady state: the clock runs from each thread's first tile (after start-up and a warm-up
    // patch) to its last; the pool's time is the slowest thread's.
    const busy = new Array<number>(n).fill(0);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: n }, (_, w) =>
        thread(
          {
            slide: args.slide,
            manifest,
            weights,
            level: 0,
            model,
            tiles: tiles.slice(w * perWorker, (w + 1) * perWorker),
          },
          (ms, p) => {
            patches += p;
            busy[w] += ms;
          },
        ),
      ),
    );
    const wall = (performance.now() - started) / 1000;
    const seconds = Math.max(...busy) / 1000;
    const pixels = tiles.length * tileSize * tileSize;
    console.log(
      `wasm, ${model} model, ${n} worker${n > 1 ? 's' : ''}: ${tiles.length} tile(s) of ${tileSize}², ` +
        `${patches} patches in ${seconds.toFixed(1)} s ` +
        `(${wall.toFixed(1)} s with thread start-up) → ${(pixels / seconds / 1e6).toFixed(4)} MP/s; ` +
        `${(busy.reduce((a, b) => a + b, 0) / patches).toFixed(0)} ms per patch per worker (3 extractors + head); ` +
        `ratio ${((patches * PATCH_SIZE ** 2) / pixels).toFixed(2)} patch pixels per output pixel`,
    );
  }
