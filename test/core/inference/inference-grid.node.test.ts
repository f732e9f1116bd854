import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  gridToLevel0,
  inferenceGrid,
  level0ToGrid,
  type SlideGeometry,
} from '../../../core/inference/inference-grid.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

/** A pyramid with the given level sizes (downsample from the width ratio, as the readers report it). */
function pyramid(sizes: [number, number][], mpp?: number): SlideGeometry {
  return {
    levels: sizes.map(([width, height]) => ({
      width,
      height,
      downsample: sizes[0][0] / width,
      tileWidth: 256,
      tileHeight: 256,
    })),
    mpp: mpp === undefined ? undefined : { x: mpp, y: mpp },
  };
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('the sample slide (0.5 µm/px) for 0.25 µm/px extractors: level 0 upsampled 2×', () => {
  const g = inferenceGrid(
    pyramid(
      [
        [8192, 8192],
        [4096, 4096],
        [2048, 2048],
        [1024, 1024],
      ],
      0.5,
    ),
    0.25,
  );
  assert.equal(g.level, 0);
  assert.deepEqual([g.width, g.height, g.scaleX, g.scaleY], [16384, 16384, 0.5, 0.5]);
  assert.deepEqual(g.mpp, { x: 0.25, y: 0.25 });
  assert.equal(g.mppSource, 'file');
  assert.equal(g.note, undefined);
});

test('a 20× Aperio slide (0.499 µm/px, levels /4 /16): level 0, size worked out by hand', () => {
  const g = inferenceGrid(
    pyramid(
      [
        [46000, 32914],
        [11500, 8228],
        [2875, 2057],
      ],
      0.499,
    ),
    0.25,
  );
  assert.equal(g.level, 0);
  // 46000 · 0.499 / 0.25 = 91816; 32914 · 1.996 = 65696.344 → 65696.
  assert.deepEqual([g.width, g.height], [91816, 65696]);
  close(g.scaleX, 46000 / 91816, 'scale x');
  close(g.mpp.y, (0.499 * 32914) / 65696, 'mpp y');
});

test(
  'within 2% the level is used as it is; ' + 'a finer scan uses the level nearest the target, never a coarser one',
  () => {
    const forty = inferenceGrid(
      pyramid(
        [
          [80000, 60000],
          [20000, 15000],
          [5000, 3750],
        ],
        0.2527,
      ),
      0.25,
    );
    assert.deepEqual([forty.level, forty.width, forty.height, forty.scaleX], [0, 80000, 60000, 1]);
    close(forty.mpp.x, 0.2527, 'mpp kept');
    // Without the snap the same scan is resampled to 1.0108×.
    const exact = inferenceGrid(pyramid([[80000, 60000]], 0.2527), 0.25, { snap: 0 });
    assert.deepEqual([exact.width, exact.height], [Math.round(80000 * 1.0108), Math.round(60000 * 1.0108)]);
    // 0.125 µm/px with levels 1, 2, 4: level 1 is exactly 0.25.
    const eighty = inferenceGrid(
      pyramid(
        [
          [40000, 40000],
          [20000, 20000],
          [10000, 10000],
        ],
        0.125,
      ),
      0.25,
    );
    assert.deepEqual([eighty.level, eighty.width, eighty.scaleX], [1, 20000, 2]);
    // 0.1 µm/px with levels 0.1, 0.2, 0.4: level 1 (0.2, the coarsest not coarser than 0.25), downsampled by 0.8.
    const fine = inferenceGrid(
      pyramid(
        [
          [50000, 30000],
          [25000, 15000],
          [12500, 7500],
        ],
        0.1,
      ),
      0.25,
    );
    assert.deepEqual([fine.level, fine.width, fine.height], [1, 20000, 12000]);
    close(fine.scaleX, 2.5, 'level-0 pixels per inference pixel');
    // A slide coarser than the target everywhere: level 0, upsampled.
    const coarse = inferenceGrid(
      pyramid(
        [
          [3000, 2000],
          [1500, 1000],
        ],
        1,
      ),
      0.25,
    );
    assert.deepEqual([coarse.level, coarse.width, coarse.height], [0, 12000, 8000]);
    // Real pyramids round level sizes (46001/11500 = 4.00009): still "exactly" 1 µm/px.
    const rounded = inferenceGrid(
      pyramid(
        [
          [46001, 32001],
          [11500, 8000],
        ],
        0.25,
      ),
      1,
    );
    assert.deepEqual([rounded.level, rounded.width, rounded.height], [1, 11500, 8000]);
  },
);

test('an unknown scale is assumed and said; a stated one wins over the file', () => {
  const unknown = inferenceGrid(
    pyramid([
      [9000, 7000],
      [4500, 3500],
    ]),
    0.25,
  );
  assert.deepEqual([unknown.level, unknown.width, unknown.height, unknown.mppSource], [0, 9000, 7000, 'assumed']);
  assert.match(unknown.note ?? '', /does not say its microns per pixel.*slideMpp/);
  const stated = inferenceGrid(
    pyramid(
      [
        [9000, 7000],
        [4500, 3500],
      ],
      0.25,
    ),
    0.25,
    { slideMpp: 0.5 },
  );
  assert.deepEqual([stated.level, stated.width, stated.height, stated.mppSource], [0, 18000, 14000, 'stated']);
  const anisotropic = inferenceGrid(pyramid([[1000, 1000]]), 0.25, { slideMpp: { x: 0.5, y: 0.25 } });
  assert.deepEqual([anisotropic.width, anisotropic.height], [2000, 1000]);
  assert.throws(() => inferenceGrid(pyramid([[10, 10]]), 0), RangeError);
  assert.throws(() => inferenceGrid(pyramid([[10, 10]]), 0.25, { slideMpp: -1 }), RangeError);
});

test(
  'level-0 ↔ grid: tiles map back exactly, ' + 'and a level-0 rectangle maps to exactly the grid pixels it touches',
  () => {
    const random = new SeededRandom(11);
    for (let trial = 0; trial < 200; trial++) {
      const w0 = 50 + random.int(3000),
        h0 = 50 + random.int(3000);
      const slideMpp = [0.5, 0.499, 0.25, 0.1, 0.33][random.int(5)];
      const g = inferenceGrid(pyramid([[w0, h0]], slideMpp), 0.25, { snap: 0 });
      const label = `trial ${trial}: ${w0}×${h0} at ${slideMpp} → ${g.width}×${g.height}`;
      // Grid → level 0 → grid is the identity for any grid rectangle.
      const x = random.int(g.width),
        y = random.int(g.height);
      const tile = { x, y, width: 1 + random.int(g.width - x), height: 1 + random.int(g.height - y) };
      assert.deepEqual(level0ToGrid(g, gridToLevel0(g, tile)), tile, label);
      // Any level-0 rectangle (fractional, partly outside): brute force over the grid's pixels.
      const r = {
        x: random.next() * w0 * 1.2 - 0.1 * w0,
        y: random.next() * h0 * 1.2 - 0.1 * h0,
        width: random.next() * w0 * 0.3 + 0.01,
        height: random.next() * h0 * 0.3 + 0.01,
      };
      const touched = (n: number, s: number, a: number, b: number) => {
        const hit: number[] = [];
        for (let u = 0; u < n; u++) if (u * s < b && (u + 1) * s > a) hit.push(u);
        return hit;
      };
      const xs = touched(g.width, w0 / g.width, r.x, r.x + r.width);
      const ys = touched(g.height, h0 / g.height, r.y, r.y + r.height);
      const expected = xs.length && ys.length ? { x: xs[0], y: ys[0], width: xs.length, height: ys.length } : undefined;
      assert.deepEqual(level0ToGrid(g, r), expected, `${label}, rect ${JSON.stringify(r)}`);
    }
  },
);
