import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { encodeBundle } from '../../../core/msd/bundle.js';
import { createSession, type Session, type SessionEvents } from '../../../core/session/session.js';
import { supportSetToText } from '../../../core/support-set/support-set-file.js';
import { createSupportSet, type SupportSetStore } from '../../../core/support-set/support-set.js';
import { WorkerDied } from '../../../plugin/pool/worker-channel.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../../core/msd/msd-test-cases.js';

// Work is never lost: the worker fitting a head is terminated in the middle of the fit (as the
// pool's own terminateWorker does to a hung or crashed worker). The session's adapt then either
// resolves by a retry on another worker, with the head an undisturbed fit gives, or — once the
// attempts are spent — rejects with a WorkerDied saying so; the support set is the same either
// way. Real pool, real (in-thread) workers, real fit; small random extractors on a small slide.
const weights = [randomWeights(3, 4, 51), randomWeights(3, 3, 52)];
const encoded = encodeBundle({
  classes: weights.map((w, i) => ({ name: `c${i}`, weights: w })),
  mpp: 0.5,
  metadata: {},
});
const extractors = weights.map((w, i) => ({ name: `c${i}`, depth: w.layers.length }));
const SIZE = 160;
const pixels = new Uint8Array(SIZE * SIZE * 3);
for (let y = 0; y < SIZE; y++) {
  for (let x = 0; x < SIZE; x++) {
    const inDisc = ((x % 40) - 20) ** 2 + ((y % 40) - 20) ** 2 < 120;
    const base = inDisc ? [90, 40, 140] : [230, 170, 200];
    for (let c = 0; c < 3; c++)
      pixels[3 * (y * SIZE + x) + c] = Math.max(0, base[c] - ((x * 7 + y * 13 + c * 29) % 37));
  }
}
const tiff = encodeTiff([{ options: { width: SIZE, height: SIZE, samplesPerPixel: 3 }, pixels }]);
const NAME = 'discs.tif';

const pools: WorkerPool[] = [];
after(() => pools.forEach((p) => p.close()));

/** A session over a fresh pool, its support set three patches with class and background strokes. */
async function setUp(workers: number, maxAttempts?: number): Promise<{ pool: WorkerPool; session: Session }> {
  const pool = await WorkerPool.create({ workers, maxAttempts, createWorker: () => createInThreadWorker() });
  pools.push(pool);
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  const slide = await pool.openSlide({ kind: 'blob', blob: new Blob([tiff as Uint8Array<ArrayBuffer>]), name: NAME });
  const grid = pool.inferenceGrid(slide);
  const support = createSupportSet({
    slide: { name: NAME, width: SIZE, height: SIZE },
    extractorMpp: 0.5,
    patchSize: 48,
    scale: 1,
  });
  for (const [x, y] of [
    [0, 0],
    [50, 20],
    [100, 90],
  ]) {
    const id = support.addPatch({ x, y });
    // A disc centre lies at (20, 20) mod 40 on the slide: paint it as the class, a corner as background.
    const cx = 20 + 40 * Math.ceil((x - 20) / 40) - x,
      cy = 20 + 40 * Math.ceil((y - 20) / 40) - y;
    support.paintStroke(id, { label: 'class', size: 8 }, [
      [cx - 3, cy],
      [cx + 3, cy],
    ]);
    support.paintStroke(id, { label: 'background', size: 6 }, [
      [cx + 20, cy + 20],
      [cx + 22, cy + 22],
    ]);
  }
  const session = createSession({ compute: pool, slide, grid, extractors, support });
  return { pool, session };
}

/** Everything a support set holds, as its file's text, and its revision. */
const snapshot = (s: SupportSetStore) => ({ text: supportSetToText(s.state()), revision: s.revision });

/** Terminates worker `index` as the fit (not the features) reports its first step. */
function killFitterOnFirstStep(pool: WorkerPool, session: Session, index: number): { killed: () => boolean } {
  let killed = false;
  const onProgress = (e: CustomEvent<SessionEvents['progress']>) => {
    if (killed || e.detail.task !== 'adapt' || e.detail.phase === 'features') return;
    killed = true;
    session.removeEventListener('progress', onProgress);
    pool.terminateWorker(index);
  };
  session.addEventListener('progress', onProgress);
  return { killed: () => killed };
}

test('a fitter terminated mid-fit: the adaptation is retried on the other worker and gives the same head', async () => {
  const { pool, session } = await setUp(2);
  const before = snapshot(session.support);
  // Both workers are idle: worker 0 fits, worker 1 computes a share of the features and is free again.
  const kill = killFitterOnFirstStep(pool, session, 0);
  const outcome = await session.adapt();
  assert.ok(kill.killed(), 'the fit reported a step and its worker was terminated');
  assert.equal(pool.workers[0].restarts, 1, 'worker 0 was replaced');
  assert.deepEqual(snapshot(session.support), before, 'the support set is unchanged');
  // Nobody is killed this time: the head of the retried fit is the undisturbed one (same engine, same rows).
  const undisturbed = await session.adapt();
  assert.deepEqual(outcome.head.W, undisturbed.head.W);
  assert.equal(outcome.head.b, undisturbed.head.b);
  assert.equal(session.state, 'idle');
});

test("a one-worker pool's fitter terminated mid-fit: the fit waits for the replacement and runs there", async () => {
  const { pool, session } = await setUp(1);
  const before = snapshot(session.support);
  const kill = killFitterOnFirstStep(pool, session, 0);
  const outcome = await session.adapt();
  assert.ok(kill.killed());
  assert.equal(pool.workers[0].restarts, 1);
  assert.deepEqual(snapshot(session.support), before);
  const undisturbed = await session.adapt();
  assert.deepEqual(outcome.head.W, undisturbed.head.W);
  // The replacement predicts with the head the retried fit installed.
  const tile = await pool.predictTile({
    slide: session.slide,
    inference: session.grid,
    tile: { x: 0, y: 0, width: 64, height: 64 },
  });
  assert.equal(tile.probabilities.length, 64 * 64);
});

test('attempts spent: the adaptation rejects with a WorkerDied saying so; the support set is intact', async () => {
  const { pool, session } = await setUp(2, 1);
  const before = snapshot(session.support);
  killFitterOnFirstStep(pool, session, 0);
  await assert.rejects(session.adapt(), (err: unknown) => {
    assert.ok(err instanceof WorkerDied, `${err}`);
    assert.match(err.message, /the adaptation was given up: its worker died 1 times \(worker 0 was terminated\)/);
    return true;
  });
  assert.equal(session.state, 'idle');
  assert.equal(session.lastAdapt, undefined);
  assert.deepEqual(snapshot(session.support), before);
  // The pool goes on: the next adaptation (nobody killed) succeeds.
  await session.adapt();
});
