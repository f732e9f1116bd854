import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  effortSummary,
  effortTable,
  selectionResults,
  selectionTable,
  type RoundRecord,
  type SelectionRun,
} from '../../tools/selection-summary.js';

const round = (shots: number, classPixels: number, changed: number | null, skipped: number, dice: number) =>
  ({
    shots,
    window: { image: 'a', x: 0, y: 0 },
    classPixels,
    changedPixels: changed,
    skipped,
    seconds: { select: 0, prefill: 0, adapt: 1 },
    dice,
  }) satisfies RoundRecord;

// Two draws per selection, three rounds each; numbers chosen so the sums are easy by hand.
const runs: SelectionRun[] = [
  {
    target: 'c',
    selection: 'random',
    draw: 0,
    rounds: [round(1, 500, null, 0, 0.2), round(2, 100, 40, 0, 0.3), round(3, 300, 60, 0, 0.4)],
  },
  {
    target: 'c',
    selection: 'random',
    draw: 1,
    rounds: [round(1, 500, null, 0, 0.4), round(2, 200, 50, 0, 0.5), round(3, 200, 150, 0, 0.6)],
  },
  {
    target: 'c',
    selection: 'active',
    draw: 0,
    rounds: [round(1, 500, null, 0, 0.2), round(2, 100, 900, 3, 0.5), round(3, 400, 100, 1, 0.7)],
  },
  {
    target: 'c',
    selection: 'active',
    draw: 1,
    rounds: [round(1, 500, null, 0, 0.4), round(2, 300, 30, 0, 0.6), round(3, 300, 70, 2, 0.8)],
  },
];

test('effort over rounds 2…K: changed after pre-fill, painted from scratch, saved share, the lesser, skips', () => {
  const [random, active] = effortSummary(runs);
  assert.equal(random.selection, 'random');
  // Random: changed 100 and 200, from scratch 400 and 400, saved 75 % and 50 %.
  assert.deepEqual([random.changed.median, random.fromScratch.median, random.saved.median], [150, 400, 0.625]);
  assert.equal(random.fillOrScratch.median, 150);
  // Active: changed 1000 and 100; from scratch 500 and 600; the lesser per window 100+100 and 30+70.
  assert.deepEqual([active.changed.median, active.fromScratch.median], [550, 550]);
  assert.equal(active.fillOrScratch.median, 150);
  assert.ok(Math.abs(active.saved.median - (1 - 1000 / 500 + (1 - 100 / 600)) / 2) < 1e-12);
  assert.equal(active.skipped.median, 3);
  const table = effortTable([random, active]);
  assert.match(table, /\| c +\| active +\| 550 \[325–775\] +\|/);
});

test('Dice by K and selection: medians and quartiles over draws, one table row per selection', () => {
  const [c] = selectionResults(runs, ['c'], [1, 2, 3]);
  assert.equal(c.shots[3].random!.median, 0.5);
  assert.equal(c.shots[3].active!.median, 0.75);
  assert.equal(c.shots[2].active!.q1, 0.525);
  const table = selectionTable([c], [1, 2, 3]);
  assert.match(table, /\| c +\| random +\| 30\.0 \[25\.0–35\.0\] \| 40\.0 \[35\.0–45\.0\] \| 50\.0 \[45\.0–55\.0\] \|/);
  assert.match(table, /\| c +\| active +\| 30\.0 .* \| 75\.0 \[72\.5–77\.5\] \|/);
});
