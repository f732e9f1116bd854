import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CellIndex } from '../../../core/cells/cell-index.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { insideByWinding, randomCell } from './random-cells.js';

test('cellsAt gives the cells whose rings hold the point, as a winding-number test of every cell does', () => {
  const random = new SeededRandom(3);
  // A tile whose map is at half resolution, placed at (5000, 3000) in level-0 pixels.
  const origin = { x: 5000, y: 3000 },
    scale = 2;
  const cells = Array.from({ length: 1000 }, () => ({
    rings: randomCell(random, 4 + random.next() * 248, 4 + random.next() * 248),
  }));
  const boxes = new Float64Array(4 * cells.length);
  cells.forEach((c, i) => {
    const xs = [...c.rings[0]].filter((_, k) => k % 2 === 0).map((x) => origin.x + scale * x);
    const ys = [...c.rings[0]].filter((_, k) => k % 2 === 1).map((y) => origin.y + scale * y);
    boxes.set([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], 4 * i);
  });
  const index = new CellIndex({ cells, boxes, ...origin, scaleX: scale, scaleY: scale });
  let hits = 0,
    holes = 0;
  for (let k = 0; k < 5000; k++) {
    const x = origin.x + random.next() * 512,
      y = origin.y + random.next() * 512;
    const expected = cells
      .map((c, i) => (insideByWinding(c.rings, (x - origin.x) / scale, (y - origin.y) / scale) ? i : -1))
      .filter((i) => i >= 0);
    assert.deepEqual(
      index.cellsAt(x, y).sort((p, q) => p - q),
      expected,
      `point ${x}, ${y}`,
    );
    if (expected.length) hits++;
  }
  // A point at each hole's centre is in no cell, though inside the outer ring's box.
  cells.forEach((c, i) => {
    if (c.rings.length < 2) return;
    const h = c.rings[1];
    const x = origin.x + (scale * (h[0] + h[4])) / 2,
      y = origin.y + (scale * (h[1] + h[5])) / 2;
    assert.ok(!index.cellsAt(x, y).includes(i), `hole of cell ${i}`);
    holes++;
  });
  assert.ok(hits > 1000 && holes > 200, `${hits} points in cells, ${holes} holes`);
});

test('an empty tile holds no cell', () => {
  const index = new CellIndex({ cells: [], boxes: new Float64Array(0), x: 0, y: 0, scaleX: 1, scaleY: 1 });
  assert.deepEqual(index.cellsAt(1, 1), []);
});
