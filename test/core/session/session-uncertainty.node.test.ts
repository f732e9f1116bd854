import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { serializeHead, type HeadEnsemble } from '../../../core/adaptation/head.js';
import type { ResultTile } from '../../../core/session/result-tiles.js';
import type { EnsembleOutcome, Session } from '../../../core/session/session.js';
import type { SupportSetStore } from '../../../core/support-set/support-set.js';
import type { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { referenceForward } from '../msd/msd-reference.js';
import { extractors, HEIGHT, openSmallSlideSession, pixels, weights, WIDTH } from './small-slide-session.js';

// The uncertainty layer's numbers on the real pool over two in-thread workers (the worker's own
// code: SIMD patch model, whole tiles, quantised uncertainty transferred), against a float64
// reference computed here from plain-loop features and the heads, on small-slide-session.ts's
// slide: six 512² output tiles, and a whole-slide reference forward the whole tiles must equal.
// Large enough that p is sure over much of the slide, where only the members can show doubt.
const W = [0.9, -0.7, 0.5, -0.6, 0.8, -0.4, 0.6].map((w) => 12 * w);
const baseHead = {
  W,
  b: -0.1,
  featureStats: { mean: Array(7).fill(0), std: Array(7).fill(1) },
  threshold: 0.5,
  metadata: { extractors },
};
// A hand-made ensemble: the head's weights moved by fixed amounts, so members disagree by known sums.
const ensemble: HeadEnsemble = {
  version: 1,
  method: 'bootstrap',
  seed: 1,
  rows: 100,
  members: [0.3, -0.2, 0.5].map((d, k) => ({
    W: W.map((w, j) => w + d * ((j + k) % 3 === 0 ? 1 : -0.5)),
    b: -0.1 + d,
  })),
};
let pool: WorkerPool;
let support: SupportSetStore;
let session: Session;

before(async () => {
  ({ pool, support, session } = await openSmallSlideSession('u.tif', { ensemble: { members: 4, seed: 3 } }));
});

after(() => pool?.close());

/** H₂(p) in bits, float64. */
const entropy = (p: number) => (p <= 0 || p >= 1 ? 0 : -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p)));

/** Features of the whole slide from the plain-loop reference (pixel-major, each extractor's depth). */
const reference = weights.map((w) => referenceForward(w, { height: HEIGHT, width: WIDTH, pixels }).features);

/** σ(b + Σ W·g(x)) at slide pixel p, float64. */
function probability(head: { W: readonly number[]; b: number }, p: number): number {
  let z = head.b;
  let k = 0;
  weights.forEach((w, i) => {
    const depth = w.layers.length;
    for (let c = 0; c < depth; c++) z += head.W[k++] * reference[i][p * depth + c];
  });
  return 1 / (1 + Math.exp(-z));
}

async function predictSlide(): Promise<ResultTile[]> {
  const run = await session.predictRegion('slide');
  assert.equal((await run.finished).state, 'finished');
  assert.equal(session.results.size, 6);
  return [...session.results.values()];
}

/** Largest |bytes − 255·u_ref| over a tile, u_ref from `u(p)` at each of its slide pixels. */
function worst(tile: ResultTile, bytes: Uint8Array, u: (p: number) => number): number {
  const { x, y, width, height } = tile.tile;
  let max = 0;
  for (let r = 0; r < height; r++)
    for (let c = 0; c < width; c++)
      max = Math.max(max, Math.abs(bytes[r * width + c] - 255 * u((y + r) * WIDTH + x + c)));
  return max;
}

test(
  'a head without an ensemble (as saved before it existed) loads; its uncertainty is H₂(p) alone',
  { timeout: 120_000 },
  async () => {
    const old = JSON.parse(JSON.stringify(serializeHead(baseHead)));
    assert.equal('ensemble' in old, false);
    await session.loadHead(old);
    assert.equal(session.head!.ensemble, undefined);
    for (const tile of await predictSlide()) {
      assert.equal(tile.uncertainty, undefined, 'no ensemble: the worker sends none');
      const u = session.uncertaintyOf(tile);
      // p is float32 in the tile; rounding to bytes of the reference can differ by one step.
      assert.ok(worst(tile, u, (p) => entropy(probability(baseHead, p))) <= 0.5 + 1e-2, tile.key);
      // And exactly H₂ of the tile's own probabilities, rounded.
      tile.probabilities.forEach((p, i) => assert.ok(Math.abs(u[i] - 255 * entropy(p)) <= 0.5 + 1e-3));
    }
  },
);

test(
  "a head with an ensemble: each tile's uncertainty equals a float64 reference from the features and the heads",
  { timeout: 120_000 },
  async () => {
    await session.loadHead(serializeHead({ ...baseHead, ensemble }));
    assert.deepEqual(session.ensemble, ensemble);
    // Uncertainty off (the default): the workers do not compute the members.
    assert.equal(session.uncertainty, false);
    for (const tile of await predictSlide()) assert.equal(tile.uncertainty, undefined);
    const heads: unknown[] = [];
    session.addEventListener('head', (e) => heads.push(e.detail), { once: true });
    await session.setUncertainty(true);
    assert.deepEqual([heads.length, session.results.size], [1, 0], 'installed with the members: results dropped');
    let spread = 0;
    for (const tile of await predictSlide()) {
      assert.ok(tile.uncertainty, 'the worker computed it with the probabilities');
      assert.equal(session.uncertaintyOf(tile), tile.uncertainty);
      const u = (p: number) => {
        const h = entropy(probability(baseHead, p));
        const m = ensemble.members.map((head) => probability(head, p));
        const mean = m.reduce((s, v) => s + v, 0) / m.length;
        const sd = Math.sqrt(m.reduce((s, v) => s + (v - mean) ** 2, 0) / m.length);
        const u = 1 - (1 - h) * (1 - Math.min(1, 2 * sd));
        spread = Math.max(spread, u - h);
        return u;
      };
      // Within a rounding step (float32 features and logits against float64).
      assert.ok(worst(tile, tile.uncertainty, u) <= 0.5 + 1e-2, tile.key);
    }
    assert.ok(spread > 0.05, `the members add doubt beyond H₂(p) somewhere (at most ${spread.toFixed(3)})`);
    // The next patch's proposals rank by this uncertainty where the tiles carry it. u ≥ H₂(p) at
    // every pixel, so no window's benefit (the mean of u·p) is below its benefit from H₂(p) alone
    // (but for u's rounding to bytes), and some are above.
    const byWindow = (o: { uncertainty?: () => undefined }) =>
      new Map(
        session.proposePatches(undefined, { limit: 10_000, ...o }).map((w) => [w.level0.x + ',' + w.level0.y, w]),
      );
    const ensembleRanked = byWindow({});
    const entropyRanked = byWindow({ uncertainty: () => undefined });
    assert.ok(ensembleRanked.size > 4 && ensembleRanked.size === entropyRanked.size, `${ensembleRanked.size} windows`);
    let above = 0;
    for (const [key, w] of ensembleRanked) {
      const h = entropyRanked.get(key)!.benefit;
      assert.ok(w.benefit >= h - 0.5 / 255, `${key}: ${w.benefit} < ${h}`);
      if (w.benefit > h + 1e-3) above++;
    }
    assert.ok(above > 0, 'the ensemble raises some windows');
  },
);

test(
  'after adapt the ensemble follows: fitted by the fitter, installed (uncertainty on), and the tiles carry it',
  { timeout: 300_000 },
  async () => {
    // One patch labelled from the image itself: dark pixels are the class.
    const id = support.addPatch({ x: 300, y: 200 });
    const labels = new Uint8Array(256 * 256);
    for (let r = 0; r < 256; r++)
      for (let c = 0; c < 256; c++) labels[r * 256 + c] = pixels[3 * ((200 + r) * WIDTH + 300 + c)] < 110 ? 1 : 0;
    assert.ok(support.prefillPatch(id, labels));
    const ended = new Promise<EnsembleOutcome>((resolve) =>
      session.addEventListener('ensemble', (e) => resolve(e.detail), { once: true }),
    );
    const progress: number[] = [];
    session.addEventListener('ensemble-progress', (e) => progress.push(e.detail.done));
    const heads: unknown[] = [];
    session.addEventListener('head', (e) => heads.push(e.detail));
    const outcome = await session.adapt();
    assert.equal(outcome.head.ensemble, undefined, 'adapt resolves with the head alone');
    assert.equal(session.ensemblePending, true, 'its ensemble is being fitted');
    const fitted = await ended;
    assert.equal(fitted.outcome, 'fitted', JSON.stringify(fitted));
    assert.equal(session.ensemblePending, false);
    assert.deepEqual(progress, [1, 2, 3, 4]);
    assert.equal(fitted.ensemble, session.ensemble);
    assert.equal(session.head, outcome.head, 'the same head');
    if (heads.length < 2) await new Promise((resolve) => session.addEventListener('head', resolve, { once: true }));
    assert.equal(heads.length, 2, "the head, then the same head with its ensemble's members ('head' both times)");
    assert.equal(session.ensemble!.members.length, 4);
    assert.equal(session.ensemble!.seed, 3);
    assert.equal(session.saveHead().ensemble!.members.length, 4, 'saved with the head');
    for (const tile of await predictSlide())
      assert.ok(tile.uncertainty, `${tile.key} carries the ensemble's uncertainty`);

    // Cancelled when asked (or by another adapt): the head stays as delivered.
    const cancelled = new Promise<EnsembleOutcome>((resolve) =>
      session.addEventListener('ensemble', (e) => resolve(e.detail), { once: true }),
    );
    session.addEventListener('adapted', () => session.cancelEnsemble(), { once: true });
    const second = await session.adapt();
    assert.equal((await cancelled).outcome, 'cancelled');
    assert.equal(session.ensemble, undefined);
    assert.equal(session.head, second.head);
  },
);
