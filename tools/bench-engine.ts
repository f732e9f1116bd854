/**
 * Inference throughput: megapixels of output per second for the default extractors (three
 * depth-25 MSD networks) plus a head, on wasm, with 1 and 2 workers. Workers are Node worker
 * threads running the browser worker's code path (predictTile → head model → stitch), reading
 * the generated sample slide themselves. Also prints the overlap cost of the 256/64 patch grid:
 * patch pixels evaluated per output pixel, by output tile size (≈ 16 in the interior of an
 * infinite region; more for finite tiles, whose margins are computed again by their neighbours).
 *
 *   npx tsx tools/bench-engine.ts                       # 512² tiles, one per worker, 1 and 2 workers
 *   npx tsx tools/bench-engine.ts --tile 256 --tiles-per-worker 2 --workers 1,2
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { outputTiles, planTile, PATCH_SIZE, type Rect } from '../worker/patch-grid.js';
import type { BenchThreadData, BenchThreadReply } from './bench-engine-thread.js';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2' },
    tile: { type: 'string', default: '512' },
    'tiles-per-worker': { type: 'string', default: '1' },
    slide: { type: 'string', default: fileURLToPath(new URL('../.cache/sample/sample-slide.tif', import.meta.url)) },
    bundle: { type: 'string', default: fileURLToPath(new URL('../models/default/extractors.json', import.meta.url)) },
  },
});
const tileSize = Number(args.tile);
const perWorker = Number(args['tiles-per-worker']);
const image = { width: 8192, height: 8192 };

// The overlap cost, exactly, from the grid itself (no computing).
console.log('patch pixels evaluated per output pixel (256² patches, stride 64, interior tiles of an 8192² image):');
for (const size of [256, 512, 1024, 2048]) {
  const plan = planTile({ x: 2048, y: 2048, width: size, height: size }, image);
  console.log(`  ${size}² tiles: ${plan.patches.length} patches, ratio ${((plan.patches.length * PATCH_SIZE ** 2) / size ** 2).toFixed(2)}`);
}

if (!existsSync(args.slide)) {
  console.error(`no slide at ${args.slide}: run npm run sample first`);
  process.exit(1);
}

function thread(data: BenchThreadData, onTile: (ms: number, patches: number) => void): Promise<void> {
  // Node 20 does not apply the main thread's tsx loader to workers: register it in the thread.
  const entry = new URL('./bench-engine-thread.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
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

for (const n of args.workers.split(',').map(Number)) {
  const tiles: Rect[] = all.slice(0, n * perWorker);
  if (tiles.length < n * perWorker) throw new Error('not enough tiles for that many workers');
  let patches = 0;
  // Steady state: the clock runs from each thread's first tile (after start-up and a warm-up
  // patch) to its last; the pool's time is the slowest thread's.
  const busy = new Array<number>(n).fill(0);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, w) =>
      thread({ slide: args.slide, manifest, weights, level: 0, tiles: tiles.slice(w * perWorker, (w + 1) * perWorker) }, (ms, p) => {
        patches += p;
        busy[w] += ms;
      }),
    ),
  );
  const wall = (performance.now() - started) / 1000;
  const seconds = Math.max(...busy) / 1000;
  const pixels = tiles.length * tileSize * tileSize;
  console.log(
    `wasm, ${n} worker${n > 1 ? 's' : ''}: ${tiles.length} tile(s) of ${tileSize}², ${patches} patches in ${seconds.toFixed(1)} s ` +
      `(${wall.toFixed(1)} s with thread start-up) → ${(pixels / seconds / 1e6).toFixed(4)} MP/s; ` +
      `${((busy.reduce((a, b) => a + b, 0) / patches)).toFixed(0)} ms per patch per worker (3 extractors + head); ` +
      `ratio ${((patches * PATCH_SIZE ** 2) / pixels).toFixed(2)} patch pixels per output pixel`,
  );
}
