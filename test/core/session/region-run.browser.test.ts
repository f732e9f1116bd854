import { assert } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { createRegionRun, type RegionRun, type RunProgress, type TileDone } from '../../../core/session/region-run.js';
import { WorkerPool, type PoolSlide } from '../../../plugin/pool/worker-pool.js';
import { decodeBundle, encodeBundle } from '../../../core/msd/bundle.js';
import { createHeadPatchModel } from '../../../core/inference/head-patch-model.js';
import type { InferenceGrid } from '../../../core/inference/inference-grid.js';
import type { GridOptions } from '../../../core/inference/patch-grid.js';
import type { Rect } from '../../../core/math/rect.js';
import { predictTile } from '../../../core/inference/predict-tile.js';
import { planRegion } from '../../../core/inference/region-plan.js';
import { resampledSource } from '../../../core/inference/resampled-source.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { plannedTile, tileSetOf } from '../../../core/inference/tile-set.js';
import { planView } from '../../../core/inference/view-plan.js';
import { randomWeights } from '../msd/msd-test-cases.js';
import { sampleSlideExists } from '../../plugin/sample-viewer.js';

// Tiny random extractors declared for 0.25 µm/px on the 0.5 µm/px sample slide: tiles live in
// the 2× upsampled inference grid. Small patches and tiles keep a run of a dozen tiles quick.
const workerUrl = new URL('/worker/worker-entry.ts', location.origin);
const slideUrl = new URL('/files/.cache/sample/sample-slide.tif', location.origin).href;
const encoded = encodeBundle({
  classes: [
    { name: 'a', weights: randomWeights(3, 2, 31) },
    { name: 'b', weights: randomWeights(3, 2, 32) },
  ],
  mpp: 0.25,
  metadata: {},
});
const head = { W: [0.7, -0.4, 0.5, -0.8], b: 0.2 };
const PATCHES: GridOptions = { patchSize: 32, stride: 16 };
const TILE = 32;

async function setUp(workers = 2): Promise<{ pool: WorkerPool; slide: PoolSlide; grid: InferenceGrid }> {
  const pool = await WorkerPool.create({ workerUrl, backends: ['wasm'], workers, tiling: 'patches', grid: PATCHES });
  const slide = await pool.openSlide({ kind: 'url', url: slideUrl });
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  await pool.setHead(head);
  return { pool, slide, grid: pool.inferenceGrid(slide) };
}

/** A tile of the inference grid on the main thread, with the code the workers run. */
async function inThread(grid: InferenceGrid, tile: Rect): Promise<Float32Array> {
  await initBackend('wasm');
  const slide = await openTiff({ kind: 'url', url: slideUrl });
  const bundle = decodeBundle(encoded.manifest, encoded.weights);
  const model = createHeadPatchModel(
    head,
    bundle.classes.map((c) => c.weights),
  );
  try {
    return await predictTile(
      resampledSource(slide, grid.level, grid.width, grid.height),
      0,
      tile,
      model.model,
      PATCHES,
    );
  } finally {
    model.dispose();
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function record(run: RegionRun) {
  const tiles: TileDone[] = [];
  const progress: RunProgress[] = [];
  const states: string[] = [];
  run.addEventListener('tile', (e) => tiles.push(e.detail));
  run.addEventListener('progress', (e) => progress.push(e.detail));
  run.addEventListener('state', (e) => states.push(e.detail));
  return { tiles, progress, states };
}

/** Resolves once the run has no tile with the pool. */
function drained(run: RegionRun): Promise<void> {
  if (run.progress.runningTiles === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const check = (e: CustomEvent<RunProgress>) => {
      if (e.detail.runningTiles > 0) return;
      run.removeEventListener('progress', check);
      resolve();
    };
    run.addEventListener('progress', check);
  });
}

const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('region run', function () {
  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
  });

  it('runs every tile of a region once, streaming, with pause and resume, and the tiles are right', async () => {
    const { pool, slide, grid } = await setUp();
    try {
      // 60×40 level-0 pixels = 120×80 inference pixels from (4000, 6000): 4 × 3 tiles of 32².
      const tiles = planRegion({ grid, region: { x: 2000, y: 3000, width: 60, height: 40 }, tileSize: TILE });
      assert.equal(tiles.count, 12);
      const run = createRegionRun(pool, { slide, grid, tiles, concurrency: 2, paused: true });
      const seen = record(run);
      assert.equal(run.state, 'paused');
      await macrotask();
      assert.equal(pool.stats.jobs, 0, 'a run started paused hands out nothing');

      run.resume();
      await new Promise<void>((resolve) => run.addEventListener('tile', () => resolve(), { once: true }));
      run.pause();
      await drained(run);
      await macrotask();
      const atPause = seen.tiles.length;
      assert.equal(run.state, 'paused');
      assert.isBelow(atPause, 12);
      assert.equal(pool.stats.jobs, atPause, 'nothing more went to the pool while paused');
      assert.equal(run.progress.doneTiles, atPause);
      assert.isUndefined(run.progress.etaSeconds, 'no ETA while paused');

      run.resume();
      const summary = await run.finished;
      assert.equal(summary.state, 'finished');
      assert.deepEqual(seen.states, ['running', 'paused', 'running', 'finished']);
      assert.sameMembers(
        seen.tiles.map((t) => t.key),
        [...tiles].map((t) => t.key),
      );
      assert.equal(new Set(seen.tiles.map((t) => t.key)).size, 12, 'each tile once');
      assert.sameMembers(
        run.completed(),
        [...tiles].map((t) => t.key),
      );
      const last = seen.progress[seen.progress.length - 1];
      assert.deepInclude(last, { doneTiles: 12, totalTiles: 12, failedTiles: 0, runningTiles: 0 });
      assert.closeTo(last.doneMegapixels, tiles.megapixels, 1e-12);
      assert.isAbove(last.megapixelsPerSecond ?? 0, 0);
      assert.equal(last.etaSeconds, 0);
      for (const t of [seen.tiles[0], seen.tiles[11]]) {
        assert.equal(t.probabilities.length, t.tile.width * t.tile.height);
        assert.isAtMost(maxDiff(t.probabilities, await inThread(grid, t.tile)), 1e-5, t.key);
        assert.deepEqual(t.level0, {
          x: t.tile.x / 2,
          y: t.tile.y / 2,
          width: t.tile.width / 2,
          height: t.tile.height / 2,
        });
      }
    } finally {
      pool.close();
    }
  });

  it('keeps what finished when cancelled; a new run given completed() computes only the rest', async () => {
    const { pool, slide, grid } = await setUp();
    try {
      const tiles = planRegion({ grid, region: { x: 5008, y: 1008, width: 64, height: 32 }, tileSize: TILE });
      assert.equal(tiles.count, 8);
      const first = createRegionRun(pool, { slide, grid, tiles, concurrency: 1 });
      const seen = record(first);
      await new Promise<void>((resolve) => first.addEventListener('tile', () => seen.tiles.length === 2 && resolve()));
      first.cancel();
      const cancelled = await first.finished;
      assert.equal(cancelled.state, 'cancelled');
      const done = first.completed();
      assert.equal(done.length, 2);
      // Whatever was with the pool is aborted and never delivered.
      await pool.predictTile({ slide, inference: grid, tile: { x: 0, y: 0, width: 8, height: 8 } });
      assert.equal(seen.tiles.length, 2);

      const jobsBefore = pool.stats.jobs;
      const second = createRegionRun(pool, { slide, grid, tiles, completed: done });
      const again = record(second);
      const summary = await second.finished;
      assert.equal(summary.state, 'finished');
      assert.equal(again.tiles.length, 6);
      assert.sameMembers(
        [...done, ...again.tiles.map((t) => t.key)],
        [...tiles].map((t) => t.key),
      );
      assert.equal(summary.progress.doneTiles, 8, 'tiles of the earlier run count as done');
      assert.equal(pool.stats.jobs - jobsBefore, 6);
    } finally {
      pool.close();
    }
  });

  it('reports a failing tile and goes on; stops as interrupted when the model is replaced', async () => {
    const { pool, slide, grid } = await setUp(1);
    try {
      const good = [...planRegion({ grid, region: { x: 100, y: 100, width: 32, height: 16 }, tileSize: TILE })];
      // A tile past the grid's edge: the worker refuses it.
      const bad = plannedTile(grid, { x: grid.width - 8, y: 0, width: 16, height: 16 });
      const run = createRegionRun(pool, { slide, grid, tiles: tileSetOf([good[0], bad, ...good.slice(1)]) });
      const seen = record(run);
      const failures: unknown[] = [];
      run.addEventListener('failure', (e) => failures.push(e.detail.error));
      const summary = await run.finished;
      assert.equal(summary.state, 'finished');
      assert.equal(failures.length, 1);
      assert.match(String(failures[0]), /not a non-empty rectangle inside/);
      assert.deepEqual([summary.progress.doneTiles, summary.progress.failedTiles], [good.length, 1]);
      assert.equal(seen.tiles.length, good.length);

      const more = planRegion({ grid, region: { x: 3000, y: 3000, width: 64, height: 64 }, tileSize: TILE });
      const doomed = createRegionRun(pool, { slide, grid, tiles: more, concurrency: 2 });
      await new Promise<void>((resolve) => doomed.addEventListener('tile', () => resolve(), { once: true }));
      await pool.setHead({ W: [1, 1, 1, 1], b: 0 });
      const stopped = await doomed.finished;
      assert.equal(stopped.state, 'interrupted');
      assert.match(String(stopped.reason), /head changed/);
      assert.isAtLeast(doomed.completed().length, 1);
      assert.isBelow(doomed.completed().length, more.count);
    } finally {
      pool.close();
    }
  });

  it('runs what a view budget left out, so view and run together cover the view', async () => {
    const { pool, slide, grid } = await setUp();
    try {
      const visible = { x: 7000, y: 7000, width: 50, height: 30 };
      const plan = planView({ grid, visible, budgetMegapixels: (3 * (TILE * TILE)) / 1e6, tileSize: TILE });
      assert.equal(plan.now.count, 3);
      assert.isAbove(plan.later.count, 0);
      const now = await Promise.all(
        [...plan.now].map((t, i) => pool.predictTile({ slide, inference: grid, tile: t.tile, priority: i })),
      );
      assert.lengthOf(now, 3);
      const run = createRegionRun(pool, { slide, grid, tiles: plan.later });
      const seen = record(run);
      assert.equal((await run.finished).state, 'finished');
      const all = planView({ grid, visible, budgetMegapixels: Infinity, tileSize: TILE });
      assert.sameMembers(
        [...[...plan.now].map((t) => t.key), ...seen.tiles.map((t) => t.key)],
        [...all.now].map((t) => t.key),
      );
      // Planned again with what is done, nothing is left.
      const again = planView({
        grid,
        visible,
        budgetMegapixels: 0,
        tileSize: TILE,
        done: new Set([...[...plan.now].map((t) => t.key), ...run.completed()]),
      });
      assert.deepEqual([again.later.count, again.done.tiles], [0, all.visible.tiles]);
    } finally {
      pool.close();
    }
  });

  after(() => tf.disposeVariables());
});
