import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inferenceGrid } from '../../../core/inference/inference-grid.js';
import { planRegion } from '../../../core/inference/region-plan.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import type { TissueMask } from '../../../core/slide/tissue-mask.js';

const slide = (w: number, h: number, mpp: number) => ({
  levels: [{ width: w, height: h, downsample: 1, tileWidth: 256, tileHeight: 256 }],
  mpp: { x: mpp, y: mpp },
});

test('the whole slide: every tile once, in raster order, covering the grid exactly', () => {
  const grid = inferenceGrid(slide(1500, 700, 0.5), 0.25);
  const plan = planRegion({ grid, tileSize: 512 });
  const tiles = [...plan];
  assert.equal(plan.count, Math.ceil(3000 / 512) * Math.ceil(1400 / 512));
  assert.equal(tiles.length, plan.count);
  assert.ok(Math.abs(plan.megapixels - (3000 * 1400) / 1e6) < 1e-9);
  assert.deepEqual(
    tiles.slice(0, 7).map((t) => [t.tile.x, t.tile.y, t.tile.width, t.tile.height]),
    [
      [0, 0, 512, 512],
      [512, 0, 512, 512],
      [1024, 0, 512, 512],
      [1536, 0, 512, 512],
      [2048, 0, 512, 512],
      [2560, 0, 440, 512],
      [0, 512, 512, 512],
    ],
  );
  assert.equal(new Set(tiles.map((t) => t.key)).size, tiles.length);
  assert.deepEqual(tiles[6].level0, { x: 0, y: 256, width: 256, height: 256 });
});

test('in bands of two rows: each band column by column, the same tiles as raster order', () => {
  const grid = inferenceGrid(slide(1500, 700, 0.5), 0.25);
  const raster = [...planRegion({ grid, tileSize: 512 })];
  const banded = [...planRegion({ grid, tileSize: 512, bandRows: 2 })];
  // 6 columns × 3 rows: rows 0–1 as one band, then row 2 alone.
  assert.deepEqual(
    banded.slice(0, 5).map((t) => [t.tile.x, t.tile.y]),
    [
      [0, 0],
      [0, 512],
      [512, 0],
      [512, 512],
      [1024, 0],
    ],
  );
  assert.deepEqual(
    banded.slice(12).map((t) => t.tile.y),
    Array.from({ length: 6 }, () => 1024),
  );
  assert.deepEqual(banded.map((t) => t.key).sort(), raster.map((t) => t.key).sort());
  assert.throws(() => planRegion({ grid, bandRows: 0 }), RangeError);
});

test('random regions and tissue masks: exactly the tiles that overlap the region and some tissue', () => {
  const random = new SeededRandom(21);
  let someTissueDropped = 0;
  for (let trial = 0; trial < 120; trial++) {
    const w0 = 100 + random.int(5000),
      h0 = 100 + random.int(5000);
    const grid = inferenceGrid(slide(w0, h0, [0.5, 0.33, 0.25, 0.12][random.int(4)]), 0.25, { snap: 0 });
    const tileSize = [512, 200, 97][random.int(3)];
    const x = random.next() * w0,
      y = random.next() * h0;
    const region =
      trial % 4 === 0 ? undefined : { x, y, width: 1 + random.next() * (w0 - x), height: 1 + random.next() * (h0 - y) };
    const mw = 1 + random.int(120),
      mh = 1 + random.int(120);
    // Blobs of tissue, sometimes none at all.
    const data = new Uint8Array(mw * mh);
    const blobs = random.int(4);
    for (let b = 0; b < blobs; b++) {
      const cx = random.int(mw),
        cy = random.int(mh),
        r = 1 + random.int(20);
      for (let j = 0; j < mh; j++)
        for (let i = 0; i < mw; i++) if ((i - cx) ** 2 + (j - cy) ** 2 <= r * r) data[j * mw + i] = 1;
    }
    const mask: TissueMask = { width: mw, height: mh, data, slideWidth: w0, slideHeight: h0 };
    const label =
      `trial ${trial}: ${w0}×${h0} → ${grid.width}×${grid.height}, tile ${tileSize}, ` +
      `region ${JSON.stringify(region)}, mask ${mw}×${mh}`;

    // Reference in level-0 coordinates, brute force over every tile and every mask pixel.
    const r = region ?? { x: 0, y: 0, width: w0, height: h0 };
    const expected: string[] = [];
    const expectedTissue: string[] = [];
    for (let ty = 0; ty < grid.height; ty += tileSize) {
      for (let tx = 0; tx < grid.width; tx += tileSize) {
        const tw = Math.min(tileSize, grid.width - tx),
          th = Math.min(tileSize, grid.height - ty);
        const [ax, bx, ay, by] = [tx * grid.scaleX, (tx + tw) * grid.scaleX, ty * grid.scaleY, (ty + th) * grid.scaleY];
        if (!(ax < r.x + r.width && bx > r.x && ay < r.y + r.height && by > r.y)) continue;
        const key = `${tx},${ty}`;
        expected.push(key);
        let tissue = false;
        for (let j = 0; j < mh && !tissue; j++) {
          for (let i = 0; i < mw; i++) {
            if (!data[j * mw + i]) continue;
            const [px0, px1, py0, py1] = [(i * w0) / mw, ((i + 1) * w0) / mw, (j * h0) / mh, ((j + 1) * h0) / mh];
            if (px0 < bx && px1 > ax && py0 < by && py1 > ay) {
              tissue = true;
              break;
            }
          }
        }
        if (tissue) expectedTissue.push(key);
      }
    }
    const all = planRegion({ grid, region, tileSize });
    assert.deepEqual(
      [...all].map((t) => `${t.tile.x},${t.tile.y}`),
      expected,
      `${label}: region`,
    );
    assert.equal(all.count, expected.length, label);
    const onTissue = planRegion({ grid, region, tileSize, tissue: mask });
    const got = [...onTissue];
    assert.deepEqual(
      got.map((t) => `${t.tile.x},${t.tile.y}`),
      expectedTissue,
      `${label}: tissue`,
    );
    assert.equal(onTissue.count, expectedTissue.length, label);
    assert.ok(Math.abs(onTissue.megapixels - got.reduce((s, t) => s + t.megapixels, 0)) < 1e-9, label);
    if (expectedTissue.length > 0 && expectedTissue.length < expected.length) someTissueDropped++;
  }
  assert.ok(someTissueDropped >= 20, `only ${someTissueDropped} trials kept some tiles and dropped others`);
});

test('a region off the slide has no tiles', () => {
  const grid = inferenceGrid(slide(1000, 1000, 0.25), 0.25);
  const plan = planRegion({ grid, region: { x: -500, y: 0, width: 400, height: 100 } });
  assert.deepEqual([plan.count, plan.megapixels, [...plan].length], [0, 0, 0]);
  assert.throws(() => planRegion({ grid, tileSize: 0 }), RangeError);
});
