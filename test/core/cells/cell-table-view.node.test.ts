import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tableView, type ValueRange } from '../../../core/cells/cell-table-view.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

const random = new SeededRandom(3);
const ROWS = 3000;
// Few distinct values, so ties are many; some NaN.
const columns = [0, 1, 2].map(() =>
  Float64Array.from({ length: ROWS }, () => (random.next() < 0.02 ? NaN : Math.floor(random.next() * 50))),
);

/** Reference: row objects, filtered with a loop over the ranges and ordered by (NaN last, value, row). */
function reference(sortBy: number | undefined, descending: boolean, ranges: Map<number, ValueRange>): number[] {
  const rows = Array.from({ length: ROWS }, (_, r) => r).filter((r) =>
    [...ranges].every(([c, { min, max }]) => {
      const v = columns[c][r];
      return !Number.isNaN(v) && (min === undefined || v >= min) && (max === undefined || v <= max);
    }),
  );
  if (sortBy === undefined) return rows;
  const key = (r: number) => {
    const v = columns[sortBy][r];
    return Number.isNaN(v) ? [1, 0, r] : [0, descending ? -v : v, r];
  };
  return rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
  });
}

test('tableView filters by inclusive ranges and sorts stably, NaN last, as a row-object reference does', () => {
  const cases: [number | undefined, boolean, Map<number, ValueRange>][] = [
    [undefined, false, new Map()],
    [0, false, new Map()],
    [0, true, new Map()],
    [1, false, new Map([[0, { min: 10, max: 20 }]])],
    [
      2,
      true,
      new Map<number, ValueRange>([
        [1, { min: 25 }],
        [2, { max: 30 }],
      ]),
    ],
    [undefined, false, new Map([[2, { min: 49, max: 49 }]])],
  ];
  for (const [sortBy, descending, ranges] of cases) {
    const shown = tableView(columns, ROWS, { sortBy, descending, ranges });
    assert.deepEqual([...shown], reference(sortBy, descending, ranges), `sort ${sortBy} ${descending}`);
  }
});

test('tableView: an empty range shows nothing; unknown columns and ragged columns are errors', () => {
  assert.equal(tableView(columns, ROWS, { ranges: new Map([[0, { min: 30, max: 20 }]]) }).length, 0);
  assert.throws(() => tableView(columns, ROWS, { sortBy: 3 }), RangeError);
  assert.throws(() => tableView(columns, ROWS, { ranges: new Map([[5, {}]]) }), RangeError);
  assert.throws(() => tableView([new Float64Array(2)], 3), RangeError);
});
