import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchInstances } from '../../../core/cells/instance-metrics.js';

test('F1 at IoU 0.5 and AJI of a hand-worked 6×4 example', () => {
  // Truth: A (id 1) 4 px, B (id 2) 6 px, C (id 3) 2 px.
  // Predicted: a (7) = A exactly; b (8) covers 4 of B and 2 background px; c (9) is 2 px of background.
  // prettier-ignore
  const truth = [
    1, 1, 0, 2, 2, 2,
    1, 1, 0, 2, 2, 2,
    0, 0, 0, 0, 0, 0,
    3, 3, 0, 0, 0, 0,
  ];
  // prettier-ignore
  const predicted = [
    7, 7, 0, 8, 8, 0,
    7, 7, 0, 8, 8, 0,
    0, 0, 0, 8, 8, 0,
    0, 0, 0, 0, 9, 9,
  ];
  const m = matchInstances(truth, predicted);
  // A–a: IoU 4/4 = 1; B–b: 4 / (6 + 6 − 4) = 0.5, not > 0.5; C: no partner.
  assert.equal(m.truths, 3);
  assert.equal(m.predictions, 3);
  assert.equal(m.matched, 1);
  assert.equal(m.f1, (2 * 1) / (3 + 3));
  // AJI: A–a ∩ 4 ∪ 4; B–b ∩ 4 ∪ 8; C ∪ 2; c never chosen ∪ 2: 8 / 16.
  assert.equal(m.intersection, 8);
  assert.equal(m.union, 16);
  assert.equal(m.aji, 0.5);
});

test('identical maps score 1; one merged prediction over two truths is matched at most once', () => {
  const truth = Uint16Array.from([1, 1, 1, 2, 2, 2, 0, 0]);
  assert.deepEqual([matchInstances(truth, truth).f1, matchInstances(truth, truth).aji], [1, 1]);
  const merged = Uint16Array.from([5, 5, 5, 5, 5, 5, 0, 0]);
  const m = matchInstances(truth, merged);
  // Each truth has IoU 3/6 = 0.5 with the merged one: no match. AJI: (3 + 3) / (6 + 6).
  assert.equal(m.matched, 0);
  assert.equal(m.aji, 0.5);
  assert.deepEqual([matchInstances([0, 0], [0, 0]).f1, matchInstances([0, 0], [0, 0]).aji], [1, 1]);
});
