import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outputTiles } from '../../../core/inference/patch-grid.js';
import { PatchMemo } from '../../../core/inference/patch-memo.js';
import { predictTile } from '../../../core/inference/predict-tile.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { memorySource, positionalModel } from './engine-fixtures.js';

/**
 * The naive reference, written without the engine: every patch of the image's whole grid, cut
 * from the full image and predicted alone, accumulated into a full-image sum and count.
 */
async function naive(
  pixels: Uint8Array,
  width: number,
  height: number,
  size: number,
  stride: number,
): Promise<Float64Array> {
  const origins = (length: number) => {
    if (length <= size) return [0];
    const o: number[] = [];
    for (let v = 0; v + size <= length; v += stride) o.push(v);
    if (o[o.length - 1] !== length - size) o.push(length - size);
    return o;
  };
  const pw = Math.min(size, width),
    ph = Math.min(size, height);
  const sum = new Float64Array(width * height),
    count = new Float64Array(width * height);
  for (const y of origins(height)) {
    for (const x of origins(width)) {
      const patch = new Uint8Array(pw * ph * 3);
      for (let r = 0; r < ph; r++)
        for (let c = 0; c < pw; c++)
          for (let k = 0; k < 3; k++) patch[(r * pw + c) * 3 + k] = pixels[((y + r) * width + x + c) * 3 + k];
      const p = await positionalModel(patch, pw, ph);
      for (let r = 0; r < ph; r++)
        for (let c = 0; c < pw; c++) {
          sum[(y + r) * width + x + c] += p[r * pw + c];
          count[(y + r) * width + x + c]++;
        }
    }
  }
  return sum.map((s, i) => s / count[i]);
}

const cases = [
  { width: 700, height: 530, size: 256, stride: 64, region: { x: 100, y: 37, width: 600, height: 450 } },
  { width: 300, height: 200, size: 256, stride: 64, region: { x: 0, y: 0, width: 300, height: 200 } },
  { width: 180, height: 90, size: 256, stride: 64, region: { x: 5, y: 7, width: 100, height: 80 } },
  { width: 97, height: 131, size: 32, stride: 8, region: { x: 3, y: 60, width: 94, height: 71 } },
];

for (const { width, height, size, stride, region } of cases) {
  test(
    `stitched ${region.width}×${region.height} of a ${width}×${height} image (patch ${size}, stride ${stride}) ` +
      `equals the naive reference; tiles alone equal the region exactly`,
    async () => {
      const source = memorySource(width, height, width * 31 + height);
      const grid = { patchSize: size, stride };
      const reference = await naive(source.pixels, width, height, size, stride);
      source.reads = 0;
      const whole = await predictTile(source, 0, region, positionalModel, grid);
      assert.equal(source.reads, 1, 'a tile reads its pixels once');
      let worst = 0;
      for (let y = 0; y < region.height; y++) {
        for (let x = 0; x < region.width; x++)
          worst = Math.max(
            worst,
            Math.abs(whole[y * region.width + x] - reference[(region.y + y) * width + region.x + x]),
          );
      }
      assert.ok(worst < 1e-6, `max difference from the naive reference ${worst}`);

      for (const tileSize of size >= 256 ? [300] : [13, 50]) {
        for (const tile of outputTiles(region, { width, height }, tileSize)) {
          const alone = await predictTile(source, 0, tile, positionalModel, grid);
          const x0 = Math.max(tile.x, region.x),
            x1 = Math.min(tile.x + tile.width, region.x + region.width);
          const y0 = Math.max(tile.y, region.y),
            y1 = Math.min(tile.y + tile.height, region.y + region.height);
          for (let y = y0; y < y1; y++) {
            for (let x = x0; x < x1; x++) {
              const a = alone[(y - tile.y) * tile.width + x - tile.x],
                b = whole[(y - region.y) * region.width + x - region.x];
              if (a !== b)
                assert.fail(`tile ${JSON.stringify(tile)} differs from the whole region at ${x},${y}: ${a} vs ${b}`);
            }
          }
        }
      }
    },
  );
}

test('random small rectangles agree with the reference', async () => {
  const random = new SeededRandom(3);
  const width = 150,
    height = 120,
    grid = { patchSize: 40, stride: 10 };
  const source = memorySource(width, height, 5);
  const reference = await naive(source.pixels, width, height, 40, 10);
  for (let trial = 0; trial < 40; trial++) {
    const x = random.int(width),
      y = random.int(height);
    const rect = {
      x,
      y,
      width: 1 + random.int(Math.min(50, width - x)),
      height: 1 + random.int(Math.min(50, height - y)),
    };
    const got = await predictTile(source, 0, rect, positionalModel, grid);
    got.forEach((v, i) => {
      const expected = reference[(y + Math.floor(i / rect.width)) * width + x + (i % rect.width)];
      if (Math.abs(v - expected) > 1e-6) assert.fail(`${JSON.stringify(rect)} pixel ${i}: ${v} vs ${expected}`);
    });
  }
});

test('an aborted tile stops between patches and rejects', async () => {
  const source = memorySource(600, 600, 1);
  const controller = new AbortController();
  let calls = 0;
  const slow = async (rgb: Uint8Array, w: number, h: number) => {
    if (++calls === 3) controller.abort();
    return positionalModel(rgb, w, h);
  };
  await assert.rejects(
    predictTile(source, 0, { x: 0, y: 0, width: 512, height: 512 }, slow, { signal: controller.signal }),
    { name: 'AbortError' },
  );
  assert.equal(calls, 3);
});

test('a patch memo shared by neighbouring tiles changes no value and saves the shared margins', async () => {
  const source = memorySource(1200, 700, 9);
  const region = { x: 0, y: 0, width: 1200, height: 700 };
  const tiles = outputTiles(region, source.levels[0], 512);
  const cache = new PatchMemo(256 * 2 ** 20);
  let evaluated = 0,
    total = 0;
  for (const tile of tiles) {
    const plain = await predictTile(source, 0, tile, positionalModel);
    const withMemo = await predictTile(source, 0, tile, positionalModel, {
      memo: { cache, scope: 'a' },
      onPatch: (_d, _t, reused) => {
        total++;
        if (!reused) evaluated++;
      },
    });
    assert.deepEqual(withMemo, plain);
  }
  // The 256/64 grid of a 1200×700 image has 16 × 8 patches (origins 0…896 and 944; 0…384 and 444); each is
  // evaluated once.
  assert.equal(evaluated, 16 * 8);
  assert.ok(total > evaluated);
  // Another scope sees none of them.
  let other = 0;
  await predictTile(source, 0, tiles[0], positionalModel, {
    memo: { cache, scope: 'b' },
    onPatch: (_d, _t, reused) => void (reused || other++),
  });
  assert.equal(other, 8 * 8);
  // A small memo keeps at most its budget.
  const small = new PatchMemo(3 * 256 * 256 * 4);
  await predictTile(source, 0, tiles[0], positionalModel, { memo: { cache: small, scope: 'a' } });
  assert.equal(small.bytes, 3 * 256 * 256 * 4);
});
