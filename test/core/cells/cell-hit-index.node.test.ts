import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellHitIndex } from '../../../core/cells/cell-hit-index.js';
import { pointInRing } from '../../../core/cells/ring-geometry.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

const random = new SeededRandom(11);

/** A regular polygon (as a traced cell's outer ring) around (cx, cy). */
function polygon(cx: number, cy: number, r: number, sides = 12): Float64Array {
  return Float64Array.from({ length: 2 * sides }, (_, k) => {
    const a = (2 * Math.PI * Math.floor(k / 2)) / sides;
    return k % 2 === 0 ? cx + r * Math.cos(a) : cy + r * Math.sin(a);
  });
}

test('cellAt agrees with testing every ring (smallest box wins) at random points, dense and sparse', () => {
  const rings: Float64Array[] = [];
  // A dense field of touching cells, a few far away, and one big cell holding small ones.
  for (let i = 0; i < 2000; i++) rings.push(polygon(random.next() * 1000, random.next() * 1000, 4 + random.next() * 8));
  for (let i = 0; i < 5; i++) rings.push(polygon(1e5 + random.next() * 1e5, 1e5 + random.next() * 1e5, 6));
  rings.push(polygon(500, 500, 300, 40));
  const index = cellHitIndex(rings);
  const area = (i: number) => {
    const [x0, y0, x1, y1] = index.bounds(i);
    return (x1 - x0) * (y1 - y0);
  };
  const brute = (x: number, y: number) => {
    let best = -1;
    for (let i = 0; i < rings.length; i++)
      if (pointInRing(rings[i], x, y) && (best < 0 || area(i) < area(best))) best = i;
    return best;
  };
  let hits = 0;
  for (let k = 0; k < 3000; k++) {
    const far = k % 10 === 0;
    const x = far ? 1e5 + random.next() * 1e5 : random.next() * 1100 - 50;
    const y = far ? 1e5 + random.next() * 1e5 : random.next() * 1100 - 50;
    const expected = brute(x, y);
    assert.equal(index.cellAt(x, y), expected, `at (${x}, ${y})`);
    if (expected >= 0) hits++;
  }
  assert.ok(hits > 1000, `${hits} points hit a cell`);
  // Each far cell's centre finds it.
  for (let i = 2000; i < 2005; i++) {
    const [x0, y0, x1, y1] = index.bounds(i);
    assert.equal(index.cellAt((x0 + x1) / 2, (y0 + y1) / 2), i);
  }
});

test('cellAt with no cells, one cell, and an empty ring', () => {
  assert.equal(cellHitIndex([]).cellAt(0, 0), -1);
  const one = cellHitIndex([new Float64Array([0, 0, 10, 0, 10, 10, 0, 10]), new Float64Array(0)]);
  assert.equal(one.cellAt(5, 5), 0);
  assert.equal(one.cellAt(15, 5), -1);
  assert.deepEqual(one.bounds(0), [0, 0, 10, 10]);
  assert.throws(() => one.bounds(2), RangeError);
});
