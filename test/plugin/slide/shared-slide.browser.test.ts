import { assert } from 'chai';
import { fromUrl } from 'geotiff';
import { decodeBundle, encodeBundle } from '../../../core/msd/bundle.js';
import { createHeadPatchModel } from '../../../core/inference/head-patch-model.js';
import { predictTile } from '../../../core/inference/predict-tile.js';
import type { GridOptions } from '../../../core/inference/patch-grid.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { WorkerPool, type WorkerStatus } from '../../../plugin/pool/worker-pool.js';
import { sharedBytesStats } from '../../../plugin/slide/shared-slide.js';
import { openInWorker } from '../../../plugin/slide/worker-pixel-source.js';
import { isAbortError, SlideError } from '../../../core/slide/slide-error.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// The page reads a URL slide once (plugin/slide/shared-slide.ts): the display's worker and every
// pool worker read through ports of one block cache on the main thread. The server counts what it
// is asked for (web-test-runner.config.mjs, /counted/<tag>/ and /request-counts/<tag>).
const workerUrl = new URL('/worker/worker-entry.ts', location.origin);
const SLIDE_PATH = '.cache/sample/sample-slide.tif';
const directUrl = new URL(`/files/${SLIDE_PATH}`, location.origin).href;
const encoded = encodeBundle({
  classes: [
    { name: 'a', weights: randomWeights(3, 2, 41) },
    { name: 'b', weights: randomWeights(3, 3, 42) },
  ],
  mpp: 0.5,
  metadata: {},
});
const head = { W: [0.8, -0.5, 0.3, 0.6, -0.9], b: -0.1 };
/** Patches overlap their neighbours, so a tile's read reaches into the file tiles of its neighbours. */
const GRID: GridOptions = { patchSize: 64, stride: 32 };
/** The levels of the pass: 2048² and 1024² on the 8192² sample, 80 file tiles, 8.1 MB of its 99 MB. */
const PASS_LEVELS = [2, 3];

interface Counted {
  readonly requests: readonly { readonly start: number; readonly end: number; readonly status: number }[];
}

async function counts(tag: string): Promise<Counted> {
  return (await fetch(`/request-counts/${tag}`)).json();
}

/** Bytes asked for, and the bytes of the file that covers (each counted once). */
function measure(c: Counted): { requests: number; bytes: number; distinct: number } {
  const sorted = [...c.requests].sort((a, b) => a.start - b.start);
  let distinct = 0;
  let reach = 0;
  for (const { start, end } of sorted) {
    if (end > reach) distinct += end - Math.max(start, reach);
    reach = Math.max(reach, end);
  }
  return { requests: c.requests.length, bytes: c.requests.reduce((s, r) => s + r.end - r.start, 0), distinct };
}

/** Compressed bytes of the file tiles of the pass's levels: what any pass over them must read. */
async function tileBytes(levels: readonly number[]): Promise<number> {
  const tiff = await fromUrl(directUrl);
  let sum = 0;
  for (const level of levels) {
    const counts = (await (await tiff.getImage(level)).fileDirectory.loadValue('TileByteCounts')) as ArrayLike<number>;
    for (let i = 0; i < counts.length; i++) sum += Number(counts[i]);
  }
  return sum;
}

/** Every `size`² tile of a level, row by row. */
function tilesOf(source: PixelSource, level: number, size: number) {
  const { width, height } = source.levels[level];
  const tiles = [];
  for (let y = 0; y < height; y += size)
    for (let x = 0; x < width; x += size)
      tiles.push({ x, y, width: Math.min(size, width - x), height: Math.min(size, height - y) });
  return tiles;
}

/**
 * A full pass as a page makes it, all at once: the display reads every 256² tile of the pass's
 * levels (what OpenSeadragon asks for when the whole of those levels is shown) while a pool of
 * two workers predicts every 512² output tile of the same levels (a region run; each tile reads
 * its margin too).
 */
async function fullPass(tag: string) {
  const url = new URL(`/counted/${tag}/${SLIDE_PATH}`, location.origin).href;
  const display = await openInWorker({ kind: 'url', url }, { workerUrl });
  // The reference below is the stride-32 patch grid computed here, so the pool computes patches too.
  const pool = await WorkerPool.create({ workerUrl, backends: ['wasm'], workers: 2, grid: GRID, tiling: 'patches' });
  try {
    const slide = await pool.openSlide({ kind: 'url', url });
    await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
    await pool.setHead(head);
    const reads = PASS_LEVELS.flatMap((level) =>
      tilesOf(display, level, 256).map(async (tile) => ({
        level,
        tile,
        pixels: await display.readRegion({ level, ...tile }),
      })),
    );
    const predictions = PASS_LEVELS.flatMap((level) =>
      tilesOf(display, level, 512).map(async (tile) => ({
        level,
        tile,
        result: await pool.predictTile({ slide, level, tile, version: null }),
      })),
    );
    const started = performance.now();
    const [shown, predicted] = await Promise.all([Promise.all(reads), Promise.all(predictions)]);
    const ms = performance.now() - started;
    const poolPixels = await pool.readRegion(slide, 2, { x: 700, y: 900, width: 300, height: 200 });
    const shared = await sharedBytesStats(url);
    return {
      shared,
      shown,
      predicted,
      poolPixels,
      ms,
      counted: measure(await counts(tag)),
    };
  } finally {
    display.close();
    pool.close();
  }
}

/** The same tile on this thread over a direct read of the file, with the worker's code (TF.js wasm). */
async function inThread(
  source: PixelSource,
  level: number,
  tile: { x: number; y: number; width: number; height: number },
): Promise<Float32Array> {
  await initBackend('wasm');
  const bundle = decodeBundle(encoded.manifest, encoded.weights);
  const model = createHeadPatchModel(
    head,
    bundle.classes.map((c) => c.weights),
  );
  try {
    return await predictTile(source, level, tile, model.model, GRID);
  } finally {
    model.dispose();
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('one read of a URL slide for the display and every worker', function () {
  before(async function (this: Mocha.Context) {
    const r = await fetch(directUrl, { headers: { Range: 'bytes=0-0' } });
    await r.body?.cancel();
    if (!r.ok) {
      console.log('skipped: the sample slide is not generated (npm run sample)');
      this.skip();
    }
  });

  it('a full pass of the display and two workers reads each byte once, and the same pixels', async () => {
    const needed = await tileBytes(PASS_LEVELS);
    const { shown, predicted, poolPixels, ms, counted, shared } = await fullPass(crypto.randomUUID());
    console.log(
      `full pass (display + 2 workers, levels ${PASS_LEVELS.join(', ')}): ${counted.requests} requests, ` +
        `${(counted.bytes / 1e6).toFixed(2)} MB asked for, ${(counted.distinct / 1e6).toFixed(2)} MB distinct, ` +
        `${(needed / 1e6).toFixed(2)} MB of file tiles needed, ${(ms / 1000).toFixed(1)} s`,
    );
    assert.deepEqual(
      [shared?.holders, shared?.links],
      [2, 3],
      'the display and the pool hold one reader, a link per worker',
    );
    assert.deepEqual(
      [shared?.requests, shared?.bytes],
      [counted.requests, counted.bytes],
      "its counts are the server's",
    );
    // Each byte once: no range asked for twice, and little beyond the tiles (the header, the
    // directories and tile tables, and the blocks' rounding at the ends of the levels).
    assert.equal(counted.bytes, counted.distinct, 'no byte was fetched twice');
    assert.isAtMost(counted.bytes, needed * 1.1, 'bytes fetched ≤ 1.1 × the compressed tiles of the pass');
    assert.isAtLeast(counted.bytes, needed, 'every tile was read');

    const direct = await openTiff({ kind: 'url', url: directUrl });
    for (const { level, tile, pixels } of shown) {
      const expected = await direct.readRegion({ level, ...tile });
      assert.isTrue(
        pixels.length === expected.length && pixels.every((v, i) => v === expected[i]),
        `display tile (${tile.x}, ${tile.y}) of level ${level} equals a direct read`,
      );
    }
    const expected = await direct.readRegion({ level: 2, x: 700, y: 900, width: 300, height: 200 });
    assert.isTrue(
      poolPixels.every((v, i) => v === expected[i]),
      'a pool worker reads the same pixels',
    );
    // One tile of each worker, against the same computation over a direct read.
    const workers = new Set(predicted.map((p) => p.result.worker));
    assert.equal(workers.size, 2, 'both workers computed tiles');
    for (const worker of workers) {
      const { level, tile, result } = predicted.find((p) => p.result.worker === worker)!;
      assert.isAtMost(maxDiff(result.probabilities, await inThread(direct, level, tile)), 1e-6, `worker ${worker}`);
    }
  });

  it('says what is wrong with a URL, aborts reads through the port, and ends the links of dead workers', async () => {
    const code = (e: unknown) => (e instanceof SlideError ? e.code : String(e));
    const missing = await openInWorker({ kind: 'url', url: '/files/nothing-here.tif' }, { workerUrl }).catch(code);
    assert.equal(missing, 'network');
    const noRange = await openInWorker({ kind: 'url', url: `/no-range/${SLIDE_PATH}` }, { workerUrl }).catch(code);
    assert.equal(noRange, 'no-range-support');

    const url = new URL(`/counted/${crypto.randomUUID()}/${SLIDE_PATH}`, location.origin).href;
    const display = await openInWorker({ kind: 'url', url }, { workerUrl });
    const pool = await WorkerPool.create({ workerUrl, backends: ['wasm'], workers: 2 });
    try {
      const slide = await pool.openSlide({ kind: 'url', url });
      // An aborted read (64 file tiles) rejects as an abort; the same read again gets every pixel.
      const region = { level: 0, x: 1024, y: 1024, width: 2048, height: 2048 };
      const stop = new AbortController();
      const aborted = display.readRegion({ ...region, signal: stop.signal });
      stop.abort();
      assert.isTrue(await aborted.then(() => false, isAbortError), 'the read rejects as an abort');
      const [shown, fromPool] = await Promise.all([display.readRegion(region), pool.readRegion(slide, 0, region)]);
      const expected = await (await openTiff({ kind: 'url', url: directUrl })).readRegion(region);
      assert.isTrue(shown.every((v, i) => v === expected[i]) && fromPool.every((v, i) => v === expected[i]));

      // A dead worker's link ends at once; its replacement opens the slide over a new one.
      const links = async () => (await sharedBytesStats(url))?.links;
      assert.equal(await links(), 3);
      const replaced = new Promise<void>((resolve) => {
        const listener = (event: CustomEvent<readonly WorkerStatus[]>) => {
          if (event.detail[0].backend === undefined) return;
          pool.removeEventListener('workers', listener);
          resolve();
        };
        pool.addEventListener('workers', listener);
      });
      pool.terminateWorker(0);
      assert.equal(await links(), 2);
      await replaced;
      assert.equal(await links(), 3);
    } finally {
      pool.close();
      display.close();
    }
    assert.isUndefined(await sharedBytesStats(url), 'with its holders gone, the reader goes');
  });
});
