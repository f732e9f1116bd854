import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adapt } from '../../../core/adaptation/adapt.js';
import { AdaptError } from '../../../core/adaptation/adapt-error.js';
import { ensembleBasis, fitHeadEnsemble, type EnsembleBasis } from '../../../core/adaptation/head-ensemble.js';
import { parseHead, serializeHead } from '../../../core/adaptation/head.js';
import { SupportRows } from '../../../core/adaptation/support-rows.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { SMALL_OPTIONS, smallExtractors, smallSupport } from './adapt-test-cases.js';

/** The small case's fit (real MSD features, the kernels engine) and the basis it leaves. */
async function fitSmall(): Promise<{ basis: EnsembleBasis; W: number[]; b: number }> {
  await initBackend('wasm');
  let basis: EnsembleBasis | undefined;
  const result = await adapt(smallSupport(), smallExtractors(), SMALL_OPTIONS, { onEnsembleBasis: (b) => (basis = b) });
  assert.ok(basis, 'the kernels engine leaves a basis');
  return { basis, W: [...result.head.W], b: result.head.b };
}

/** Logit b + x·W of raw features x (float64). */
const logit = (x: ArrayLike<number>, W: readonly number[], b: number) => {
  let z = b;
  for (let j = 0; j < W.length; j++) z += x[j] * W[j];
  return z;
};

test("the basis holds the fit's own solution: its folded θ is the head", async () => {
  const { basis, W, b } = await fitSmall();
  const { theta, stats } = basis;
  const d = theta.length;
  assert.equal(d, W.length + 1);
  // Fold by hand in float64: W_j = w_j/σ_j, b' = b − Σ W_j μ_j.
  let bias = theta[d - 1];
  for (let j = 0; j < d - 1; j++) {
    assert.ok(Math.abs(theta[j] / stats.std[j] - W[j]) <= 1e-12 * Math.max(1, Math.abs(W[j])));
    bias -= (theta[j] / stats.std[j]) * stats.mean[j];
  }
  assert.ok(Math.abs(bias - b) < 1e-9);
  // The small support is far below the cap: the basis is every labelled row, class first.
  const support = smallSupport();
  const labelled = support.reduce((n, p) => n + p.mask.filter((v) => v !== 255).length, 0);
  const positives = support.reduce((n, p) => n + p.mask.filter((v) => v === 1).length, 0);
  assert.equal(basis.rows.rows, labelled);
  assert.equal(basis.rows.positives, positives);
});

test('the ensemble is deterministic for a seed, and its members differ from the head and from each other', async () => {
  const { basis, W, b } = await fitSmall();
  const options = { members: 4, seed: 7, maxIterations: 25 };
  const progress: number[] = [];
  const first = await fitHeadEnsemble(basis, options, { onProgress: (p) => progress.push(p.done) });
  const again = await fitHeadEnsemble(basis, options);
  const other = await fitHeadEnsemble(basis, { ...options, seed: 8 });
  assert.deepEqual(progress, [1, 2, 3, 4]);
  assert.equal(first.members.length, 4);
  assert.deepEqual(again, first, 'the same seed gives the same members, bit for bit');
  assert.notDeepEqual(other.members, first.members, 'another seed gives other members');
  assert.equal(first.rows, basis.rows.rows);

  const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const distance = (u: readonly number[], v: readonly number[]) => norm(u.map((x, j) => x - v[j]));
  for (const m of first.members) {
    // Refits on resampled rows move: not the head, but near it (warm-started on the same objective).
    const moved = distance(m.W, W) / norm(W);
    assert.ok(moved > 1e-4, `a member moved only ${moved} from the head`);
    assert.ok(moved < 1, `a member moved ${moved} from the head`);
    assert.ok(Math.abs(m.b - b) > 0 || moved > 0);
  }
  for (let i = 0; i < first.members.length; i++)
    for (let k = i + 1; k < first.members.length; k++)
      assert.ok(distance(first.members[i].W, first.members[k].W) > 0, `members ${i} and ${k} are the same`);

  // The members are refits of the same problem, not other classifiers: on the support's pixels
  // (raw features x = zσ + μ from the basis, logits in float64) they call most pixels as the head does.
  const { rows, stats } = basis;
  let agree = 0;
  let total = 0;
  for (let i = 0; i < rows.rows; i++) {
    const x = Array.from(
      { length: W.length },
      (_, j) => rows.matrix[i * rows.width + j] * stats.std[j] + stats.mean[j],
    );
    const head = logit(x, W, b) > 0;
    for (const m of first.members) {
      total++;
      if (logit(x, m.W, m.b) > 0 === head) agree++;
    }
  }
  assert.ok(agree / total > 0.9, `members agree with the head on ${((100 * agree) / total).toFixed(1)} % of pixels`);

  // The ensemble is a valid part of a head file and survives saving.
  const saved = JSON.parse(
    JSON.stringify(
      serializeHead({
        W,
        b,
        featureStats: stats,
        threshold: 0.5,
        metadata: { extractors: smallExtractors().map((e) => ({ name: e.name, depth: e.weights.layers.length })) },
        ensemble: first,
      }),
    ),
  );
  assert.deepEqual(parseHead(saved).ensemble, first);
});

test('a larger support gives a stratified subsample basis of the cap, seeded', () => {
  // Synthetic standardised rows: 300 of the class, 700 of background, row i's feature 0 = i.
  const rows = new SupportRows(3, 300, 700);
  for (let i = 0; i < 1000; i++) rows.matrix.set([i, 1, 2], i * rows.width);
  rows.standardise();
  const fit = {
    theta: new Float64Array(4),
    stats: { mean: [0, 0, 0], std: [1, 1, 1] },
    lambda: 1e-4,
    gradientTolerance: 1e-5,
  };
  const a = ensembleBasis(rows, fit, 100);
  const b = ensembleBasis(rows, fit, 100);
  assert.equal(a.rows.rows, 100);
  assert.equal(a.rows.positives, 30, 'each class in proportion');
  assert.deepEqual(a.rows.matrix, b.rows.matrix, 'the same support gives the same basis');
  // Every kept row is one of the originals, of its class, none twice.
  const seen = new Set<number>();
  for (let k = 0; k < 100; k++) {
    const row = a.rows.matrix.subarray(k * a.rows.width, (k + 1) * a.rows.width);
    const match = [...Array(1000).keys()].find((i) => row.every((v, j) => v === rows.matrix[i * rows.width + j]));
    assert.ok(match !== undefined, `kept row ${k} is not a support row`);
    assert.equal(match < 300, k < 30, `kept row ${k} is in the wrong class`);
    assert.ok(!seen.has(match));
    seen.add(match);
  }
});

test('bad ensemble options are refused, and an abort stops the fit', async () => {
  const { basis } = await fitSmall();
  await assert.rejects(
    fitHeadEnsemble(basis, { members: 0 }),
    (e: unknown) => e instanceof AdaptError && e.code === 'bad-options',
  );
  await assert.rejects(fitHeadEnsemble(basis, { members: 33 }), (e: unknown) => e instanceof AdaptError);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(fitHeadEnsemble(basis, {}, { signal: controller.signal }), { name: 'AbortError' });
});
