import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeBundle } from '../../../core/msd/bundle.js';
import type { Rect } from '../../../core/math/rect.js';
import type { SlideDescription } from '../../../core/slide/pixel-source.js';
import { defaultWorkerCount, WorkerPool, type JobEvent, type PoolSlide } from '../../../plugin/pool/worker-pool.js';
import { displayReads } from '../../../plugin/slide/display-reads.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// The pool's scheduling, counted through its `job` events: a new viewport that rejoins a tile
// keeps that tile's job (queued or running) and lets go only of what it left out; while the
// display waits for slide reads (display-reads.ts) no tile job starts. The real pool over one
// worker served in this thread (worker/in-thread-worker.ts) on TF.js cpu.
const weights = [randomWeights(3, 3, 71)];
const head = { W: [0.5, -0.4, 0.3], b: -0.1 };
const encoded = encodeBundle({ classes: [{ name: 'c0', weights: weights[0] }], mpp: 0.5, metadata: {} });
const SIZE = 128;
const tiff = encodeTiff([
  {
    options: { width: SIZE, height: SIZE, samplesPerPixel: 3 },
    pixels: new Uint8Array(SIZE * SIZE * 3).map((_, i) => (i * 53) % 241),
  },
]);
const description = (): SlideDescription => ({
  kind: 'blob',
  blob: new Blob([tiff as Uint8Array<ArrayBuffer>]),
  name: 'scheduling.tif',
});

let pool: WorkerPool;
let slide: PoolSlide;
const events: JobEvent[] = [];

before(async () => {
  pool = await WorkerPool.create({ workers: 1, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  slide = await pool.openSlide(description());
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  pool.addEventListener('job', (e) => events.push(e.detail));
});

after(() => pool.close());

/** A fresh head: nothing of it is cached, so every tile is a new job. */
let heads = 0;
const freshHead = () => pool.setHead({ W: head.W, b: head.b + 1e-3 * ++heads });

const nextEvent = (type: JobEvent['type']) =>
  new Promise<JobEvent>((resolve) => {
    const on = (e: CustomEvent<JobEvent>) => {
      if (e.detail.type !== type) return;
      pool.removeEventListener('job', on);
      resolve(e.detail);
    };
    pool.addEventListener('job', on);
  });

const ask = (tile: Rect, version: number, priority = 0) =>
  pool.predictTile({ slide, level: 0, tile, version, priority });
const settled = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: Error) => e.name,
  );
const A = { x: 0, y: 0, width: 64, height: 64 };
const B = { x: 64, y: 0, width: 64, height: 64 };
const C = { x: 0, y: 64, width: 64, height: 64 };
const count = (from: number, type: JobEvent['type'], tile?: Rect) =>
  events.slice(from).filter((e) => e.type === type && (!tile || (e.tile.x === tile.x && e.tile.y === tile.y))).length;

test('a viewport rejoining the running tile and a queued one keeps both jobs; one left out never runs', async () => {
  await freshHead();
  const from = events.length;
  const v1 = pool.newViewport();
  const started = nextEvent('started');
  const oldA = ask(A, v1, 0);
  const oldB = ask(B, v1, 1);
  const oldC = ask(C, v1, 2);
  assert.deepEqual((await started).tile, A, 'the most urgent tile starts first');
  // The view moves: it still shows A (running) and B (queued), no longer C.
  let newA!: Promise<unknown>, newB!: Promise<unknown>;
  const v2 = pool.newViewport((version) => {
    newA = ask(A, version, 1);
    newB = ask(B, version, 0);
  });
  assert.equal(v2, v1 + 1);
  assert.deepEqual(await Promise.all([oldA, oldB, oldC].map(settled)), ['AbortError', 'AbortError', 'AbortError']);
  assert.deepEqual(await Promise.all([newA, newB].map(settled)), ['resolved', 'resolved']);
  assert.equal(count(from, 'started', A), 1, 'A ran once, for both views');
  assert.equal(count(from, 'started', B), 1);
  assert.equal(count(from, 'started', C), 0, 'C, left out, was dropped from the queue');
  assert.equal(count(from, 'aborted'), 0);
  assert.equal(count(from, 'finished'), 2);
});

test('a viewport without a rejoin aborts the running tile: asked again, it starts over (or is cached)', async () => {
  await freshHead();
  const from = events.length;
  const v1 = pool.newViewport();
  const started = nextEvent('started');
  const old = ask(A, v1);
  await started;
  const aborted = nextEvent('aborted');
  const v2 = pool.newViewport();
  assert.equal(await settled(old), 'AbortError');
  await aborted;
  const again = await ask(A, v2);
  // A worker that finished before the abort reached it leaves its result in the cache (its callers
  // had left): then the second ask is a cache hit; otherwise it is a second job.
  assert.equal(count(from, 'started', A), again.cached ? 1 : 2);
  assert.equal(count(from, 'aborted', A), 1);
});

test('no tile job starts while the display waits for reads; the queue goes on when the last read ends', async () => {
  await freshHead();
  const from = events.length;
  const endFirst = displayReads.begin();
  const endSecond = displayReads.begin();
  const version = pool.newViewport();
  const a = ask(A, version, 0);
  const b = ask(B, version, 1);
  // pump() runs within predictTile: a job it started would be counted by now.
  assert.equal(count(from, 'started'), 0);
  endFirst();
  endFirst(); // a second call of the same end does nothing
  assert.equal(displayReads.pending, 1);
  assert.equal(count(from, 'started'), 0, 'one read still pending');
  endSecond();
  assert.equal(displayReads.pending, 0);
  assert.equal(count(from, 'started'), 1, 'the idle event started the most urgent job at once');
  assert.deepEqual(events[from].tile, A);
  assert.deepEqual(await Promise.all([a, b].map(settled)), ['resolved', 'resolved']);
  assert.equal(count(from, 'finished'), 2);
});

test('in a pool of two, one worker computes while the display waits; both once it has caught up', async () => {
  const two = await WorkerPool.create({ workers: 2, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  try {
    const s = await two.openSlide(description());
    await two.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
    await two.setHead(head);
    const seen: JobEvent[] = [];
    two.addEventListener('job', (e) => seen.push(e.detail));
    const end = displayReads.begin();
    const asked = [A, B, C].map((tile, i) => two.predictTile({ slide: s, level: 0, tile, priority: i }));
    assert.deepEqual(
      seen.map((e) => e.tile),
      [A],
      'one job, the most urgent, started; the other worker waits',
    );
    end();
    assert.deepEqual(
      seen.filter((e) => e.type === 'started').map((e) => e.tile),
      [A, B],
      'the second worker started at once',
    );
    assert.deepEqual(await Promise.all(asked.map(settled)), ['resolved', 'resolved', 'resolved']);
  } finally {
    two.close();
  }
});

test('a pool made with displayFirst: false does not wait for the display', async () => {
  const batch = await WorkerPool.create({
    workers: 1,
    createWorker: () => createInThreadWorker(),
    backends: ['cpu'],
    displayFirst: false,
  });
  try {
    const s = await batch.openSlide(description());
    await batch.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
    await batch.setHead(head);
    const seen: JobEvent[] = [];
    batch.addEventListener('job', (e) => seen.push(e.detail));
    const end = displayReads.begin();
    try {
      const p = batch.predictTile({ slide: s, level: 0, tile: A });
      assert.equal(seen.filter((e) => e.type === 'started').length, 1);
      assert.equal(await settled(p), 'resolved');
    } finally {
      end();
    }
  } finally {
    batch.close();
  }
});

test('the default worker count: every core on 1 or 2, one left for the page beyond; 2 when unknown', () => {
  assert.deepEqual([1, 2, 3, 4, 8, 16].map(defaultWorkerCount), [1, 2, 2, 3, 7, 15]);
  assert.deepEqual([undefined, 0, -1, 2.5].map(defaultWorkerCount), [2, 2, 2, 2]);
});
