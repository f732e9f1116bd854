import assert from 'node:assert/strict';
import { test } from 'node:test';
import { axisPatches, outputTiles, patchesCovering, planTile } from '../../../core/inference/patch-grid.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

// Written independently of the grid: all origins of a whole axis.
function allOrigins(length: number, size: number, stride: number): number[] {
  if (length <= size) return [0];
  const origins: number[] = [];
  for (let o = 0; o + size <= length; o += stride) origins.push(o);
  if (origins[origins.length - 1] !== length - size) origins.push(length - size);
  return origins;
}

test('the default grid: 256 patches, stride 64, last one shifted back to the edge', () => {
  assert.deepEqual(axisPatches(1000, 0, 1000), {
    origins: [0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 744],
    extent: 256,
  });
  assert.deepEqual(axisPatches(512, 0, 512).origins, [0, 64, 128, 192, 256]);
  assert.deepEqual(axisPatches(100, 10, 20), { origins: [0], extent: 100 });
  // An interior pixel lies in 256/64 = 4 patches per axis.
  assert.deepEqual(axisPatches(1000, 300, 301).origins, [64, 128, 192, 256]);
});

test(
  'for many random images and regions, patches cover every pixel, stay inside, and are exactly the global ' +
    'patches that touch the region',
  () => {
    const random = new SeededRandom(7);
    for (let trial = 0; trial < 300; trial++) {
      const size = [256, 64, 32, 17][random.int(4)];
      const stride = Math.max(1, Math.floor(size / [4, 2, 1, 3][random.int(4)]));
      const image = {
        width: 1 + random.int(trial % 3 === 0 ? size : 4 * size),
        height: 1 + random.int(trial % 5 === 0 ? size : 4 * size),
      };
      const x = random.int(image.width),
        y = random.int(image.height);
      const region = { x, y, width: 1 + random.int(image.width - x), height: 1 + random.int(image.height - y) };
      const patches = patchesCovering(region, image, { patchSize: size, stride });
      const label =
        `trial ${trial}: image ${image.width}×${image.height}, ` +
        `region ${JSON.stringify(region)}, patch ${size}/${stride}`;
      const covered = new Uint8Array(region.width * region.height);
      for (const p of patches) {
        assert.ok(
          p.x >= 0 && p.y >= 0 && p.x + p.width <= image.width && p.y + p.height <= image.height,
          `${label}: patch ${JSON.stringify(p)} leaves the image`,
        );
        assert.equal(p.width, Math.min(size, image.width), label);
        assert.equal(p.height, Math.min(size, image.height), label);
        for (let py = Math.max(p.y, region.y); py < Math.min(p.y + p.height, region.y + region.height); py++) {
          for (let px = Math.max(p.x, region.x); px < Math.min(p.x + p.width, region.x + region.width); px++)
            covered[(py - region.y) * region.width + px - region.x] = 1;
        }
      }
      assert.ok(
        covered.every((c) => c === 1),
        `${label}: a pixel is uncovered`,
      );
      const expected = allOrigins(image.height, size, stride)
        .flatMap((py) => allOrigins(image.width, size, stride).map((px) => ({ px, py })))
        .filter(
          ({ px, py }) =>
            px < region.x + region.width &&
            px + Math.min(size, image.width) > region.x &&
            py < region.y + region.height &&
            py + Math.min(size, image.height) > region.y,
        )
        .map(({ px, py }) => `${px},${py}`);
      assert.deepEqual(
        patches.map((p) => `${p.x},${p.y}`),
        expected,
        label,
      );
    }
  },
);

test('a tile plan reads exactly the span of its patches', () => {
  const plan = planTile({ x: 512, y: 0, width: 512, height: 512 }, { width: 8192, height: 700 });
  assert.deepEqual(plan.read, { x: 320, y: 0, width: 192 + 512 + 192, height: 700 });
  assert.equal(plan.patches.length, 11 * 8);
});

test('output tiles form a fixed grid clipped to the image', () => {
  assert.deepEqual(outputTiles({ x: 500, y: 10, width: 30, height: 600 }, { width: 530, height: 700 }), [
    { x: 0, y: 0, width: 512, height: 512 },
    { x: 512, y: 0, width: 18, height: 512 },
    { x: 0, y: 512, width: 512, height: 188 },
    { x: 512, y: 512, width: 18, height: 188 },
  ]);
  assert.throws(() => outputTiles({ x: 0, y: 0, width: 600, height: 1 }, { width: 530, height: 700 }), RangeError);
  assert.throws(
    () =>
      patchesCovering(
        { x: 0, y: 0, width: 10, height: 10 },
        { width: 100, height: 100 },
        { patchSize: 32, stride: 64 },
      ),
    RangeError,
  );
});
