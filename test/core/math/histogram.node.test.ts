import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histogram } from '../../../core/math/histogram.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

test('histogram: counts per bin equal a count of the values between each pair of bin edges', () => {
  const random = new SeededRandom(7);
  const values = Float64Array.from({ length: 5000 }, () => Math.round(random.next() * 1000) / 10);
  values[17] = NaN;
  values[18] = Infinity;
  const h = histogram(values, 20);
  const finite = [...values].filter(Number.isFinite);
  assert.equal(h.min, Math.min(...finite));
  assert.equal(h.max, Math.max(...finite));
  // Reference: the bin of v is the number of inner edges ≤ v (edges min + k·width).
  const width = (h.max - h.min) / 20;
  const expected = new Array(20).fill(0);
  for (const v of finite) {
    let bin = 0;
    for (let k = 1; k < 20; k++) if (v - h.min >= k * width) bin = k;
    expected[bin]++;
  }
  assert.deepEqual([...h.counts], expected);
  assert.equal(
    h.counts.reduce((a, b) => a + b, 0),
    values.length - 2,
  );
});

test('histogram of a subset by indices; equal values in one bin; nothing finite', () => {
  const values = [5, 1, 2, 3, 4];
  assert.deepEqual([...histogram(values, 2, [1, 2, 3]).counts], [1, 2]);
  assert.deepEqual(histogram([3, 3, 3], 4), { min: 3, max: 3, counts: Uint32Array.from([3, 0, 0, 0]) });
  const none = histogram([NaN], 3);
  assert.ok(Number.isNaN(none.min) && Number.isNaN(none.max));
  assert.deepEqual([...none.counts], [0, 0, 0]);
  assert.throws(() => histogram(values, 0), RangeError);
});
