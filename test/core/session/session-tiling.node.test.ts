import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { serializeHead } from '../../../core/adaptation/head.js';
import type { InferenceGrid } from '../../../core/inference/inference-grid.js';
import type { PoolSlide } from '../../../core/session/compute.js';
import { createSession, type Session, type SessionEvents } from '../../../core/session/session.js';
import type { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { extractors, openSmallSlideSession } from './small-slide-session.js';

// The session's tiling on the real pool over two in-thread workers: region runs compute the
// session's tiling, a change drops the results of the other one (as a new head does) and stops
// the runs still computing them, on small-slide-session.ts's slide: six 512² output tiles, a few
// ms each when whole.
const head = serializeHead({
  W: [0.9, -0.7, 0.5, -0.6, 0.8, -0.4, 0.6],
  b: -0.1,
  featureStats: { mean: Array(7).fill(0), std: Array(7).fill(1) },
  threshold: 0.5,
  metadata: { extractors },
});

let pool: WorkerPool;
let slide: PoolSlide;
let grid: InferenceGrid;
let session: Session;

before(async () => {
  ({ pool, slide, grid, session } = await openSmallSlideSession('tiling.tif'));
  await session.loadHead(head);
});

after(() => pool?.close());

/** Every result of the session, by key. */
const resultsOf = (s: Session) => new Map([...s.results.values()].map((t) => [t.key, t.probabilities]));

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test(
  "region runs compute the session's tiling; changing it drops the results and stops the runs of the other one",
  { timeout: 120_000 },
  async () => {
    assert.equal(session.tiling, 'whole', 'the default');
    const first = await session.predictRegion('slide');
    assert.deepEqual((await first.finished).state, 'finished');
    assert.equal(session.results.size, 6);
    const whole = resultsOf(session);
    for (const t of session.results.values()) {
      const asked = await pool.predictTile({ slide, inference: grid, tile: t.tile, tiling: 'whole' });
      assert.equal(asked.cached, true, `${t.key}: the run asked the pool for whole tiles`);
      assert.equal(asked.probabilities, t.probabilities);
    }

    const seen: { type: string; detail: unknown }[] = [];
    for (const type of ['tiling', 'tile', 'change'] as const)
      session.addEventListener(type, (e: CustomEvent<SessionEvents[typeof type]>) =>
        seen.push({ type, detail: e.detail }),
      );
    // A run in 'patches', stopped by the switch back to 'whole' as its first tile arrives.
    session.setTiling('patches');
    assert.deepEqual(seen, [
      { type: 'tiling', detail: 'patches' },
      { type: 'change', detail: {} },
    ]);
    assert.deepEqual([session.tiling, session.results.size], ['patches', 0], 'results of the other tiling are dropped');
    seen.length = 0;
    const stopped = await session.predictRegion('slide');
    stopped.addEventListener('tile', () => session.setTiling('whole'), { once: true });
    const summary = await stopped.finished;
    assert.equal(summary.state, 'interrupted');
    assert.ok(summary.progress.doneTiles < 6, `${summary.progress.doneTiles} tiles finished before it stopped`);
    assert.deepEqual(
      seen.map((s) => s.type),
      ['tile', 'change', 'tiling', 'change'],
      'one tile, then the switch; nothing of the stopped run joins the results after it',
    );
    assert.equal(session.results.size, 0);

    // Whole again: the same numbers as before (from the pool's cache where it kept them).
    const again = await session.predictRegion('slide');
    assert.equal((await again.finished).state, 'finished');
    assert.deepEqual(resultsOf(session), whole);

    // Patches to the end: predictTile's numbers, not the whole tiles'.
    session.setTiling('patches');
    const patched = await session.predictRegion('slide');
    assert.equal((await patched.finished).state, 'finished');
    assert.equal(session.results.size, 6);
    for (const t of session.results.values()) {
      const asked = await pool.predictTile({ slide, inference: grid, tile: t.tile, tiling: 'patches' });
      assert.equal(asked.probabilities, t.probabilities, `${t.key}: a patches tile of the pool`);
      assert.ok(maxDiff(t.probabilities, whole.get(t.key)!) > 1e-3, `${t.key}: other numbers than the whole tile`);
    }
  },
);

test('setting the tiling it has changes nothing; a tiling that is not one is refused', () => {
  const before = { tiling: session.tiling, results: session.results.size };
  const events: string[] = [];
  session.addEventListener('tiling', (e) => events.push(e.detail));
  session.addEventListener('change', () => events.push('change'));
  session.setTiling(session.tiling);
  assert.throws(() => session.setTiling('tiles' as never), RangeError);
  assert.deepEqual(events, []);
  assert.deepEqual({ tiling: session.tiling, results: session.results.size }, before);
  assert.throws(
    () =>
      createSession({ ...{ compute: pool, slide, grid, extractors }, support: session.support, tiling: 'x' as never }),
    RangeError,
  );
});
