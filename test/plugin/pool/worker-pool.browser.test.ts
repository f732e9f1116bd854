import { assert } from 'chai';
import * as tf from '@tensorflow/tfjs';
import {
  WorkerPool,
  type PoolSlide,
  type WorkerPoolOptions,
  type WorkerStatus,
} from '../../../plugin/pool/worker-pool.js';
import { decodeBundle, encodeBundle } from '../../../core/msd/bundle.js';
import { createHeadPatchModel } from '../../../core/inference/head-patch-model.js';
import type { GridOptions } from '../../../core/inference/patch-grid.js';
import type { Rect } from '../../../core/math/rect.js';
import type { InferenceGrid } from '../../../core/inference/inference-grid.js';
import { predictTile } from '../../../core/inference/predict-tile.js';
import { predictWholeTile } from '../../../core/inference/predict-whole-tile.js';
import { receptiveMargin } from '../../../core/inference/receptive-field.js';
import type { ExtractorSource } from '../../../worker/protocol.js';
import { resampledSource } from '../../../core/inference/resampled-source.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { readTissueMask } from '../../../core/slide/tissue-mask.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';
import { sampleSlideExists } from '../sample-viewer.js';

// Tiny random extractors (depth 2 and 3) on wasm keep this fast; what is tested is the engine.
const workerUrl = new URL('/worker/worker-entry.ts', location.origin);
const noWebgpuWorkerUrl = new URL('/test/plugin/pool/no-webgpu-worker.ts', location.origin);
const crashingWorkerUrl = new URL('/test/plugin/pool/crashing-worker.ts', location.origin);
const slideUrl = new URL('/files/.cache/sample/sample-slide.tif', location.origin).href;
const encoded = encodeBundle({
  classes: [
    { name: 'a', weights: randomWeights(3, 2, 21) },
    { name: 'b', weights: randomWeights(3, 3, 22) },
  ],
  mpp: 0.5,
  metadata: {},
});
const source: ExtractorSource = { kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights };
const head = { W: [0.8, -0.5, 0.3, 0.6, -0.9], b: -0.1 };
const SMALL: GridOptions = { patchSize: 64, stride: 16 };

// The same networks declared for 0.25 µm/px: on the 0.5 µm/px sample slide their tiles live in
// an inference grid of level 0 upsampled 2×.
const encodedFine = encodeBundle({
  classes: [
    { name: 'a', weights: randomWeights(3, 2, 21) },
    { name: 'b', weights: randomWeights(3, 3, 22) },
  ],
  mpp: 0.25,
  metadata: {},
});
const fineSource: ExtractorSource = { kind: 'decoded', manifest: encodedFine.manifest, weights: encodedFine.weights };

/**
 * The same tile on the main thread, with the same code the workers run (TF.js wasm); with `inference`, over the
 * resampled level.
 */
async function inThread(tile: Rect, grid: GridOptions, inference?: InferenceGrid): Promise<Float32Array> {
  await initBackend('wasm');
  const slide = await openTiff({ kind: 'url', url: slideUrl });
  const bundle = decodeBundle(encoded.manifest, encoded.weights);
  const model = createHeadPatchModel(
    head,
    bundle.classes.map((c) => c.weights),
  );
  try {
    if (inference)
      return await predictTile(
        resampledSource(slide, inference.level, inference.width, inference.height),
        0,
        tile,
        model.model,
        grid,
      );
    return await predictTile(slide, 0, tile, model.model, grid);
  } finally {
    model.dispose();
  }
}

/** The same tile computed whole (one forward over it and the margin) on the main thread, TF.js wasm. */
async function inThreadWhole(tile: Rect): Promise<Float32Array> {
  await initBackend('wasm');
  const slide = await openTiff({ kind: 'url', url: slideUrl });
  const weights = decodeBundle(encoded.manifest, encoded.weights).classes.map((c) => c.weights);
  const model = createHeadPatchModel(head, weights);
  try {
    return await predictWholeTile(slide, 0, tile, model.model, { margin: receptiveMargin(weights) });
  } finally {
    model.dispose();
  }
}

/** A pool with the extractors and head; tiles are the paper's patches unless `options` says otherwise. */
async function configured(
  options: WorkerPoolOptions,
  extractors = source,
): Promise<{ pool: WorkerPool; slide: PoolSlide }> {
  const pool = await WorkerPool.create({ workerUrl, backends: ['wasm'], tiling: 'patches', ...options });
  const slide = await pool.openSlide({ kind: 'url', url: slideUrl });
  await pool.setExtractors(extractors);
  await pool.setHead(head);
  return { pool, slide };
}

/** The pool's 'workers' events from now until one where `done` holds, in order. */
function workersEventsUntil(
  pool: WorkerPool,
  done: (statuses: readonly WorkerStatus[]) => boolean,
): Promise<(readonly WorkerStatus[])[]> {
  const seen: (readonly WorkerStatus[])[] = [];
  return new Promise((resolve) => {
    const listener = (event: CustomEvent<readonly WorkerStatus[]>) => {
      seen.push(event.detail);
      if (!done(event.detail)) return;
      pool.removeEventListener('workers', listener);
      resolve(seen);
    };
    pool.addEventListener('workers', listener);
  });
}

const isAbort = (e: unknown) => e instanceof DOMException && e.name === 'AbortError';

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('worker pool', function () {
  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
  });

  it('computes the same tiles as the main thread, at the default grid, and caches them', async () => {
    const { pool, slide } = await configured({ workers: 2 });
    try {
      assert.deepEqual(
        pool.workers.map((w) => w.backend),
        ['wasm', 'wasm'],
      );
      const tiles = [
        { x: 1000, y: 1000, width: 64, height: 48 },
        { x: 8192 - 40, y: 3000, width: 40, height: 30 },
      ];
      const results = await Promise.all(
        tiles.map((tile, i) => pool.predictTile({ slide, level: 0, tile, priority: i })),
      );
      for (const [i, tile] of tiles.entries()) {
        const expected = await inThread(tile, {});
        assert.equal(results[i].probabilities.length, tile.width * tile.height);
        assert.isAtMost(maxDiff(results[i].probabilities, expected), 1e-6, `tile ${i}`);
        assert.isAbove(results[i].patches, 0);
      }
      assert.notEqual(results[0].worker, results[1].worker, 'two workers shared the two jobs');
      const again = await pool.predictTile({ slide, level: 0, tile: tiles[0] });
      assert.isTrue(again.cached);
      assert.strictEqual(again.probabilities, results[0].probabilities);
    } finally {
      pool.close();
    }
  });

  it('never delivers aborted or stale jobs, and goes on with the next ones', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: SMALL });
    try {
      const tile = (i: number) => ({ x: 64 * i, y: 512, width: 64, height: 64 });
      const controllers = Array.from({ length: 6 }, () => new AbortController());
      const delivered: number[] = [];
      const outcomes = controllers.map((c, i) =>
        pool.predictTile({ slide, level: 0, tile: tile(i), priority: i, signal: c.signal }).then(
          (r) => (delivered.push(i), r),
          (e) => (isAbort(e) ? 'aborted' : Promise.reject(e)),
        ),
      );
      controllers[0].abort(); // running
      controllers[3].abort(); // queued
      const settled = await Promise.all(outcomes);
      assert.deepEqual(
        settled.map((s) => (s === 'aborted' ? s : 'ok')),
        ['aborted', 'ok', 'ok', 'aborted', 'ok', 'ok'],
      );
      assert.deepEqual(delivered, [1, 2, 4, 5], 'in priority order, aborted ones never');
      const expected = await inThread(tile(4), SMALL);
      assert.isAtMost(maxDiff((settled[4] as { probabilities: Float32Array }).probabilities, expected), 1e-6);

      // A new viewport drops the old one's jobs, running or queued.
      const old = [6, 7, 8].map((i) =>
        pool.predictTile({ slide, level: 0, tile: tile(i) }).then(
          () => 'delivered',
          (e) => (isAbort(e) ? 'aborted' : e),
        ),
      );
      pool.newViewport();
      const fresh = pool.predictTile({ slide, level: 0, tile: tile(9) });
      assert.deepEqual(await Promise.all(old), ['aborted', 'aborted', 'aborted']);
      assert.isFalse((await fresh).cached);
      assert.isTrue(
        isAbort(await pool.predictTile({ slide, level: 0, tile: tile(10), version: 0 }).catch((e) => e)),
        'an old version is refused',
      );
    } finally {
      pool.close();
    }
  });

  it('replaces a killed worker and finishes its job', async () => {
    const { pool, slide } = await configured({ workers: 2, grid: SMALL });
    try {
      const tile = { x: 2048, y: 2048, width: 64, height: 64 };
      const job = pool.predictTile({ slide, level: 0, tile });
      const other = pool.predictTile({ slide, level: 0, tile: { x: 4096, y: 0, width: 64, height: 64 } });
      const events = workersEventsUntil(pool, (statuses) => statuses[0].backend !== undefined);
      pool.terminateWorker(0);
      // The panel shows backends from these events: one as the worker dies and is replaced, one as
      // the replacement's backend starts.
      assert.deepEqual(
        (await events).map((statuses) => statuses.map((s) => `${s.index}:${s.backend}:${s.restarts}`)),
        [
          ['0:undefined:1', '1:wasm:0'],
          ['0:wasm:1', '1:wasm:0'],
        ],
      );
      const [r] = await Promise.all([job, other]);
      assert.isAtMost(maxDiff(r.probabilities, await inThread(tile, SMALL)), 1e-6);
      assert.equal(pool.workers[0].restarts, 1);
      // The replacement is configured and takes work. It starts a backend first (hundreds of ms)
      // while the other worker may finish a small tile in a few (the SIMD model on wasm), so work
      // keeps coming, in batches of new tiles, until the replacement has taken some.
      const served = new Set<number>();
      for (let i = 0; i < 400 && !served.has(0); i += 4) {
        const batch = await Promise.all(
          [0, 1, 2, 3].map((k) =>
            pool.predictTile({
              slide,
              level: 0,
              tile: { x: 64 * ((i + k) % 100), y: 4096 + 64 * Math.floor((i + k) / 100), width: 64, height: 64 },
            }),
          ),
        );
        batch.forEach((b) => b.worker !== undefined && served.add(b.worker));
      }
      assert.includeMembers([...served], [0, 1]);
    } finally {
      pool.close();
    }
  });

  it('replaces a worker that crashes, gives up a job that crashes every worker, and goes on', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: SMALL, workerUrl: crashingWorkerUrl, maxAttempts: 2 });
    try {
      const doomed = pool.predictTile({ slide, level: 0, tile: { x: 4242, y: 0, width: 16, height: 16 } });
      const fine = pool.predictTile({ slide, level: 0, tile: { x: 4000, y: 0, width: 16, height: 16 }, priority: 1 });
      const err = await doomed.catch((e) => e);
      assert.match(String(err), /given up: its worker died 2 times/);
      assert.equal((await fine).probabilities.length, 256);
      assert.equal(pool.workers[0].restarts, 2);
      assert.equal(pool.workers[0].backend, 'wasm');
    } finally {
      pool.close();
    }
  });

  it('drops queued jobs of a replaced head', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: SMALL });
    try {
      const jobs = [0, 1, 2].map((i) =>
        pool.predictTile({ slide, level: 0, tile: { x: 64 * i, y: 1024, width: 32, height: 32 } }).then(
          () => 'ok',
          (e) => (isAbort(e) ? 'aborted' : e),
        ),
      );
      await pool.setHead({ W: [1, 1, 1, 1, 1], b: 0 });
      assert.deepEqual(await Promise.all(jobs), ['aborted', 'aborted', 'aborted']);
      const after = await pool.predictTile({ slide, level: 0, tile: { x: 0, y: 1024, width: 32, height: 32 } });
      assert.isFalse(after.cached, 'a tile of the old head is not served for the new one');
    } finally {
      pool.close();
    }
  });

  it('holds the same TF.js memory after 100 small jobs as after 10', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: { patchSize: 32, stride: 16 } });
    try {
      const run = (from: number, to: number) =>
        Promise.all(
          Array.from({ length: to - from }, (_, k) =>
            pool.predictTile({ slide, level: 0, tile: { x: 16 * (from + k), y: 100, width: 16, height: 16 } }),
          ),
        );
      await run(0, 10);
      const after10 = await pool.memory(0);
      await run(10, 100);
      const after100 = await pool.memory(0);
      assert.equal(after100.backend, 'wasm');
      assert.equal(after100.numTensors, after10.numTensors);
      assert.equal(after100.numBytes, after10.numBytes);
    } finally {
      pool.close();
    }
  });

  it('falls back to wasm where WebGPU is missing', async () => {
    const { pool, slide } = await configured({
      workers: 1,
      grid: SMALL,
      workerUrl: noWebgpuWorkerUrl,
      backends: ['webgpu', 'wasm'],
    });
    try {
      const [w] = pool.workers;
      assert.equal(w.backend, 'wasm');
      assert.match(w.failures[0], /webgpu/);
      const tile = { x: 300, y: 300, width: 40, height: 40 };
      const r = await pool.predictTile({ slide, level: 0, tile });
      assert.isAtMost(maxDiff(r.probabilities, await inThread(tile, SMALL)), 1e-6);
    } finally {
      pool.close();
    }
  });

  it('shares one job among callers of the same tile; a caller leaving drops only itself', async () => {
    const { pool, slide } = await configured({ workers: 1, grid: SMALL });
    try {
      const tile = (i: number) => ({ x: 64 * i, y: 2048, width: 64, height: 64 });
      const ask = (i: number, extra: { signal?: AbortSignal; priority?: number; version?: number | null } = {}) =>
        pool.predictTile({ slide, level: 0, tile: tile(i), ...extra });
      const settle = (p: Promise<unknown>) =>
        p.then(
          () => 'delivered',
          (e) => (isAbort(e) ? 'aborted' : Promise.reject(e)),
        );
      const [a, b] = await Promise.all([ask(0), ask(0)]);
      assert.strictEqual(a.probabilities, b.probabilities, 'both callers got the one result');
      assert.isFalse(a.cached || b.cached);
      assert.deepEqual(pool.stats, { jobs: 1, shared: 1, cacheHits: 0, blocks: 0 });

      // One of two callers aborts while the job runs: the other still gets the right tile.
      const leaving = new AbortController();
      const gone = ask(1, { signal: leaving.signal });
      const stays = ask(1);
      leaving.abort();
      assert.equal(await settle(gone), 'aborted');
      assert.isAtMost(maxDiff((await stays).probabilities, await inThread(tile(1), SMALL)), 1e-5);
      assert.deepEqual(pool.stats, { jobs: 2, shared: 2, cacheHits: 0, blocks: 0 });

      // Both callers abort: the job is dropped and the worker takes the next one.
      const c1 = new AbortController(),
        c2 = new AbortController();
      const both = [ask(2, { signal: c1.signal }), ask(2, { signal: c2.signal })].map(settle);
      const next = ask(3);
      c1.abort();
      c2.abort();
      assert.deepEqual(await Promise.all(both), ['aborted', 'aborted']);
      assert.isFalse((await next).cached);

      // A view's caller and a background caller (version null) of one tile: the view moving drops only the first.
      const viewCaller = settle(ask(4));
      const background = ask(4, { version: null });
      pool.newViewport();
      assert.equal(await viewCaller, 'aborted');
      assert.isFalse((await background).cached);

      // A shared job runs at its most urgent caller's priority.
      const order: number[] = [];
      const record = (i: number, p: Promise<unknown>) => p.then(() => order.push(i));
      const running = record(5, ask(5));
      const six = record(6, ask(6, { priority: 5 }));
      const seven = record(7, ask(7, { priority: 3 }));
      const sixAgain = ask(6, { priority: 1 });
      await Promise.all([running, six, seven, sixAgain]);
      assert.deepEqual(order, [5, 6, 7]);
    } finally {
      pool.close();
    }
  });

  it(
    'computes tiles of the inference grid (0.5 µm/px slide, 0.25 µm/px extractors) ' +
      'as the main thread does over the resampled level',
    async () => {
      const { pool, slide } = await configured({ workers: 2, grid: SMALL }, fineSource);
      try {
        const grid = pool.inferenceGrid(slide);
        assert.deepInclude(grid, { level: 0, width: 16384, height: 16384, scaleX: 0.5, mppSource: 'file' });
        const tiles = [
          { x: 4001, y: 6000, width: 64, height: 48 },
          { x: 16384 - 40, y: 100, width: 40, height: 30 },
        ];
        const results = await Promise.all(tiles.map((tile) => pool.predictTile({ slide, inference: grid, tile })));
        for (const [i, tile] of tiles.entries()) {
          assert.isAtMost(maxDiff(results[i].probabilities, await inThread(tile, SMALL, grid)), 1e-5, `tile ${i}`);
        }
        // The same numbers as a tile of level 0 itself are other pixels, another job.
        const plain = await pool.predictTile({ slide, level: 0, tile: tiles[0] });
        assert.isFalse(plain.cached);
        assert.isAbove(maxDiff(plain.probabilities, results[0].probabilities), 1e-3);
        assert.isTrue((await pool.predictTile({ slide, inference: grid, tile: tiles[0] })).cached);
      } finally {
        pool.close();
      }
    },
  );

  it("computes the tissue mask in a worker, equal to the main thread's", async () => {
    const { pool, slide } = await configured({ workers: 1 });
    try {
      const mask = await pool.tissueMask(slide, { maxSide: 256 });
      const expected = await readTissueMask(await openTiff({ kind: 'url', url: slideUrl }), { maxSide: 256 });
      assert.deepEqual([mask.width, mask.height, mask.slideWidth, mask.slideHeight], [256, 256, 8192, 8192]);
      assert.deepEqual(mask.data, expected.data);
      const share = mask.data.reduce((s, v) => s + v, 0) / mask.data.length;
      assert.isTrue(share > 0.3 && share < 0.9, `tissue share ${share}`);
    } finally {
      pool.close();
    }
  });

  for (const backend of ['webgl', 'webgpu'] as const) {
    it(`runs on ${backend} (SwiftShader here) and agrees with wasm on the main thread`, async () => {
      const grid = { patchSize: 32, stride: 16 };
      const { pool, slide } = await configured({ workers: 1, grid, backends: [backend] });
      try {
        assert.equal(pool.workers[0].backend, backend);
        // Every worker names the WebGPU adapter it sees (here the one webgpu just started on).
        if (backend === 'webgpu') assert.isString(pool.workers[0].gpu?.name);
        // Live tiles on webgpu run on the fused WGSL kernels; webgl keeps TF.js.
        assert.equal(pool.workers[0].headEngine, backend === 'webgpu' ? 'msd-webgpu' : 'tfjs');
        const tile = { x: 5000, y: 3000, width: 32, height: 32 };
        const r = await pool.predictTile({ slide, level: 0, tile });
        assert.isAtMost(maxDiff(r.probabilities, await inThread(tile, grid)), 1e-5);
        const memory = await pool.memory(0);
        assert.equal(memory.backend, backend);
      } finally {
        pool.close();
      }
    });
  }

  // Whole-forward tiles: an inner tile (its margin all slide pixels) and one at the slide's right
  // edge (mirror padding there); the margin of depths 2 and 3 is the deeper one's, 1 + 2 + 3 = 6 px.
  const wholeTiles = [
    { x: 5000, y: 3000, width: 64, height: 48 },
    { x: 8192 - 40, y: 0, width: 40, height: 30 },
  ];

  it('computes whole-forward tiles on wasm (the SIMD engine) as TF.js wasm does on the main thread', async () => {
    const { pool, slide } = await configured({ workers: 2, tiling: 'whole' });
    try {
      assert.deepEqual(
        pool.workers.map((w) => w.headEngine),
        ['msd-simd', 'msd-simd'],
      );
      const results = await Promise.all(wholeTiles.map((tile) => pool.predictTile({ slide, level: 0, tile })));
      for (const [i, tile] of wholeTiles.entries()) {
        assert.equal(results[i].patches, 1, 'one forward');
        assert.isAtMost(maxDiff(results[i].probabilities, await inThreadWhole(tile)), 1e-5, `tile ${i}`);
      }
      // Whole and patches are other numbers for one tile: computed and cached apart.
      const patches = await pool.predictTile({ slide, level: 0, tile: wholeTiles[0], tiling: 'patches' });
      assert.isFalse(patches.cached);
      assert.isAbove(maxDiff(patches.probabilities, results[0].probabilities), 1e-4);
    } finally {
      pool.close();
    }
  });

  for (const backend of ['webgl', 'webgpu'] as const) {
    it(`computes whole-forward tiles on ${backend} (SwiftShader here) that agree with wasm`, async () => {
      const { pool, slide } = await configured({ workers: 1, backends: [backend], tiling: 'whole' });
      try {
        assert.equal(pool.workers[0].backend, backend);
        assert.equal(pool.workers[0].headEngine, backend === 'webgpu' ? 'msd-webgpu' : 'tfjs');
        for (const tile of wholeTiles) {
          const r = await pool.predictTile({ slide, level: 0, tile });
          const d = maxDiff(r.probabilities, await inThreadWhole(tile));
          console.log(`whole ${tile.width}×${tile.height} tile on ${backend} vs wasm: max |Δp| ${d.toExponential(2)}`);
          assert.isAtMost(d, 1e-5);
        }
      } finally {
        pool.close();
      }
    });
  }

  after(() => tf.disposeVariables());
});
