import assert from 'node:assert/strict';
import test from 'node:test';
import type { EvaluationState } from '../../tools/evaluation-state.js';
import { compareTilings, tilingTable } from '../../tools/tiling-comparison.js';

// Two heads of one target scored on two test images both ways; the Dice of each is worked out by
// hand below from the pooled counts: 2·overlap / (predicted + truth).
const head = (logistic: [number, number], bfgs: [number, number]) => ({ logistic, bfgs });
const adaptation = (draw: number) =>
  ({ target: 'a', instance: 1, shots: 1, draw }) as unknown as EvaluationState['adaptations'][string];
const state = {
  version: 2,
  protocol: { targets: [{ name: 'a', ids: [1] }] },
  extractors: {},
  adaptations: { 'a/1/1/0': adaptation(0), 'a/1/1/1': adaptation(1) },
  counts: {
    // truth 10 + 30 = 40 class pixels over the two images.
    'whole/1/i1': {
      truth: { a: 10 },
      upper: {},
      heads: { 'a/1/1/0': head([5, 10], [6, 8]), 'a/1/1/1': head([2, 4], [2, 4]) },
    },
    'whole/1/i2': {
      truth: { a: 30 },
      upper: {},
      heads: { 'a/1/1/0': head([15, 30], [24, 32]), 'a/1/1/1': head([8, 16], [8, 16]) },
    },
    'patches/1/i1': {
      truth: { a: 10 },
      upper: {},
      heads: { 'a/1/1/0': head([4, 10], [4, 10]), 'a/1/1/1': head([2, 4], [2, 4]) },
    },
    'patches/1/i2': {
      truth: { a: 30 },
      upper: {},
      heads: { 'a/1/1/0': head([16, 30], [16, 30]), 'a/1/1/1': head([8, 16], [8, 16]) },
    },
  },
} as unknown as EvaluationState;

test('each head is compared with itself: pooled Dice per tiling and the paired difference', () => {
  const cells = compareTilings(state, ['i1', 'i2']);
  assert.equal(cells.length, 2);
  const [logistic, bfgs] = cells;
  // logistic, head 0: whole 2·20/(40+40) = 0.5, patches 2·20/(40+40) = 0.5; head 1: 2·10/(20+40) = 1/3 both.
  assert.equal(logistic.method, 'logistic');
  assert.deepEqual(
    [logistic.whole.q1, logistic.whole.q3],
    [1 / 3 + (0.5 - 1 / 3) / 4, 1 / 3 + (3 * (0.5 - 1 / 3)) / 4],
  );
  assert.equal(logistic.difference.median, 0);
  // bfgs, head 0: whole 2·30/(40+40) = 0.75, patches 0.5: +0.25; head 1: 1/3 both, 0.
  assert.equal(bfgs.whole.median, (0.75 + 1 / 3) / 2);
  assert.equal(bfgs.patches.median, (0.5 + 1 / 3) / 2);
  assert.equal(bfgs.difference.median, 0.125);
  assert.equal(bfgs.difference.n, 2);
  assert.match(
    tilingTable(cells),
    /\| a \| 1 \| bfgs \| 54\.2 \[43\.8–64\.6\] \| 41\.7 \[37\.5–45\.8\] \| \+12\.5 \[\+6\.3–\+18\.8\] \| 2 \|/,
  );
});

test('a head not scored on every image with both tilings is left out', () => {
  const partial = structuredClone(state) as unknown as { counts: Record<string, { heads: Record<string, unknown> }> };
  delete partial.counts['patches/1/i2'].heads['a/1/1/1'];
  const cells = compareTilings(partial as unknown as EvaluationState, ['i1', 'i2']);
  assert.deepEqual(
    cells.map((c) => c.difference.n),
    [1, 1],
  );
});
