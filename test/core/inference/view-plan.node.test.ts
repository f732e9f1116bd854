import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inferenceGrid, type InferenceGrid } from '../../../core/inference/inference-grid.js';
import type { Rect } from '../../../core/math/rect.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { tileKey } from '../../../core/inference/keys.js';
import { centreOrder, planView } from '../../../core/inference/view-plan.js';

const slide = (w: number, h: number, mpp: number) => ({
  levels: [{ width: w, height: h, downsample: 1, tileWidth: 256, tileHeight: 256 }],
  mpp: { x: mpp, y: mpp },
});

/**
 * The reference, without the planner: every tile of the whole grid, kept if its level-0
 * rectangle overlaps the view, sorted by the distance of its centre to the view's centre
 * (inference pixels; distances within 2⁻¹² pixel count as ties, documented; ties by row, then
 * column), then a running sum against the budget.
 */
function reference(grid: InferenceGrid, visible: Rect, budget: number, tileSize: number, done: Set<string>) {
  const tiles: { key: string; d: number; mp: number; x: number; y: number }[] = [];
  const cx = (visible.x + visible.width / 2) / grid.scaleX,
    cy = (visible.y + visible.height / 2) / grid.scaleY;
  for (let y = 0; y < grid.height; y += tileSize) {
    for (let x = 0; x < grid.width; x += tileSize) {
      const w = Math.min(tileSize, grid.width - x),
        h = Math.min(tileSize, grid.height - y);
      const overlaps =
        x * grid.scaleX < visible.x + visible.width &&
        (x + w) * grid.scaleX > visible.x &&
        y * grid.scaleY < visible.y + visible.height &&
        (y + h) * grid.scaleY > visible.y;
      if (overlaps)
        tiles.push({
          key: tileKey(grid, { x, y, width: w, height: h }),
          d: Math.hypot(x + w / 2 - cx, y + h / 2 - cy),
          mp: (w * h) / 1e6,
          x,
          y,
        });
    }
  }
  tiles.sort((a, b) => Math.floor(a.d * 4096) - Math.floor(b.d * 4096) || a.y - b.y || a.x - b.x);
  const now: string[] = [],
    later: string[] = [];
  let spent = 0,
    full = false;
  for (const t of tiles) {
    if (done.has(t.key)) continue;
    if (!full && spent + t.mp <= budget + 1e-12) {
      spent += t.mp;
      now.push(t.key);
    } else {
      full = true;
      later.push(t.key);
    }
  }
  return { now, later, visible: tiles.length, visibleMp: tiles.reduce((s, t) => s + t.mp, 0) };
}

test('random views of random slides: centre first, cut at the budget, the rest deferred, amounts add up', () => {
  const random = new SeededRandom(5);
  let split = 0;
  for (let trial = 0; trial < 150; trial++) {
    const mpp = [0.5, 0.25, 0.4999, 0.1][random.int(4)];
    const grid = inferenceGrid(slide(200 + random.int(6000), 200 + random.int(6000), mpp), 0.25, { snap: 0 });
    const w0 = grid.width * grid.scaleX,
      h0 = grid.height * grid.scaleY;
    const tileSize = [512, 256, 300][random.int(3)];
    // Views partly off the slide, at random fractional positions and zooms.
    const visible = {
      x: random.next() * w0 * 1.1 - 0.3 * w0,
      y: random.next() * h0 * 1.1 - 0.3 * h0,
      width: 1 + random.next() * w0,
      height: 1 + random.next() * h0,
    };
    const budget = [0, 0.1, 1, 4, 1e9][random.int(5)] * random.next();
    // Some done keys inside the view, one of another grid, one of another tile size.
    const all = reference(grid, visible, Infinity, tileSize, new Set()).now;
    const done = new Set(all.filter(() => random.next() < 0.2));
    done.add('9:1x1/0,0,1,1');
    const label =
      `trial ${trial}: grid ${grid.width}×${grid.height}, view ${JSON.stringify(visible)}, ` +
      `budget ${budget}, tile ${tileSize}`;
    const expected = reference(grid, visible, budget, tileSize, done);
    const plan = planView({ grid, visible, budgetMegapixels: budget, tileSize, done });
    const now = [...plan.now],
      later = [...plan.later];
    assert.deepEqual(
      now.map((t) => t.key),
      expected.now,
      `${label}: now`,
    );
    assert.deepEqual(
      later.map((t) => t.key),
      expected.later,
      `${label}: later`,
    );
    assert.equal(plan.now.count, now.length, label);
    assert.equal(plan.later.count, later.length, label);
    assert.equal(plan.visible.tiles, expected.visible, label);
    const sum = (ts: { megapixels: number }[]) => ts.reduce((s, t) => s + t.megapixels, 0);
    assert.ok(
      Math.abs(plan.now.megapixels - sum(now)) < 1e-9 && Math.abs(plan.later.megapixels - sum(later)) < 1e-9,
      label,
    );
    assert.ok(plan.now.megapixels <= budget + 1e-9, label);
    assert.ok(
      Math.abs(plan.now.megapixels + plan.later.megapixels + plan.done.megapixels - expected.visibleMp) < 1e-9,
      label,
    );
    assert.equal(plan.done.tiles, done.size - 1, label);
    if (now.length > 0 && later.length > 0 && plan.done.tiles > 0) split++;
    for (const t of now) {
      assert.deepEqual(t.level0, {
        x: t.tile.x * grid.scaleX,
        y: t.tile.y * grid.scaleY,
        width: t.tile.width * grid.scaleX,
        height: t.tile.height * grid.scaleY,
      });
    }
  }
  assert.ok(split >= 30, `only ${split} trials had tiles now, later and done at once`);
});

test('ties go in raster order; a view off the slide plans nothing', () => {
  const grid = inferenceGrid(slide(2048, 1024, 0.25), 0.25);
  // Centre at (1024, 512): the four tiles around it are equally near.
  const plan = planView({ grid, visible: { x: 0, y: 0, width: 2048, height: 1024 }, budgetMegapixels: 4 * 0.262144 });
  assert.deepEqual(
    [...plan.now].map((t) => `${t.tile.x},${t.tile.y}`),
    ['512,0', '1024,0', '512,512', '1024,512'],
  );
  assert.equal(plan.later.count, 4);
  assert.equal(plan.later.megapixels.toFixed(6), (4 * 0.262144).toFixed(6));
  const off = planView({ grid, visible: { x: 3000, y: 0, width: 100, height: 100 }, budgetMegapixels: 10 });
  assert.deepEqual([off.now.count, off.later.count, off.visible.tiles, [...off.now].length], [0, 0, 0, 0]);
  assert.throws(
    () => planView({ grid, visible: { x: 0, y: 0, width: 1, height: 1 }, budgetMegapixels: -1 }),
    RangeError,
  );
});

test(
  'the packed sort and the comparator sort give the same order; ' + 'views too far for packing take the comparator',
  () => {
    const random = new SeededRandom(9);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + random.int(5000);
      // Plenty of exact ties (integers) and near values.
      const d = Float64Array.from({ length: n }, () => (random.next() < 0.5 ? random.int(50) : random.next() * 3000));
      const packed = centreOrder(d),
        compared = centreOrder(d, false);
      assert.deepEqual(packed, compared);
      for (let k = 1; k < n; k++) {
        const a = d[packed[k - 1]],
          b = d[packed[k]];
        assert.ok(
          a < b || (a === b && packed[k - 1] < packed[k]) || Math.abs(a - b) < 2 ** -12,
          `order broken at ${k}`,
        );
      }
    }
    const far = Float64Array.from([3e6, 1, 5e6, 1, 0]);
    assert.deepEqual(Array.from(centreOrder(far)), [4, 1, 3, 0, 2]);
  },
);

test('a done tile of a larger aligned size (a region run’s 512²) counts the smaller tiles it covers as done', () => {
  const grid = inferenceGrid(slide(3000, 2000, 0.25), 0.25, { snap: 0 });
  const visible = { x: 0, y: 0, width: 3000, height: 2000 };
  const done = new Set([
    // 512² at (512, 0): its four 256² tiles; the clipped 512² tile at the bottom right: those inside it.
    tileKey(grid, { x: 512, y: 0, width: 512, height: 512 }),
    tileKey(grid, { x: 2560, y: 1536, width: 440, height: 464 }),
    // Not aligned to 256, or not covering a whole 256² tile: nothing.
    tileKey(grid, { x: 300, y: 1024, width: 300, height: 300 }),
    tileKey(grid, { x: 1024, y: 1024, width: 200, height: 256 }),
  ]);
  const plan = planView({ grid, visible, budgetMegapixels: 1e9, tileSize: 256, done });
  const inDone = (t: Rect) =>
    [...done].some((k) => {
      const [x, y, w, h] = k
        .slice(k.lastIndexOf('/') + 1)
        .split(',')
        .map(Number);
      return (
        x % 256 === 0 && y % 256 === 0 && t.x >= x && t.y >= y && t.x + t.width <= x + w && t.y + t.height <= y + h
      );
    });
  const planned = [...plan.now];
  const expected = reference(grid, visible, Infinity, 256, new Set()).now.length;
  // 4 of the 512² tile; at the bottom right 256², 256×208, 184×256 and 184×208 (x 2560…3000, y 1536…2000).
  assert.equal(plan.done.tiles, 8);
  assert.equal(planned.length, expected - 8);
  assert.ok(planned.every((t) => !inDone(t.tile)));
});
