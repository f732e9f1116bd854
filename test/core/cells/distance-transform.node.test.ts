import assert from 'node:assert/strict';
import { test } from 'node:test';
import { squaredDistanceTransform } from '../../../core/cells/distance-transform.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

/** Brute force: the nearest background pixel, the image's outside (one pixel beyond it) counting as background. */
function reference(mask: Uint8Array, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      let best = Math.min(x + 1, y + 1, width - x, height - y) ** 2;
      for (let v = 0; v < height; v++)
        for (let u = 0; u < width; u++)
          if (mask[v * width + u] === 0) best = Math.min(best, (u - x) ** 2 + (v - y) ** 2);
      out[y * width + x] = best;
    }
  }
  return out;
}

test('squared distances equal a brute-force search on random masks, edges counting as background', () => {
  const random = new SeededRandom(7);
  for (const [width, height, fill] of [
    [1, 1, 1],
    [7, 3, 0.9],
    [20, 17, 0.8],
    [33, 9, 0.97],
    [16, 16, 1],
  ] as const) {
    const mask = Uint8Array.from({ length: width * height }, () => (random.next() < fill ? 1 : 0));
    assert.deepEqual(
      squaredDistanceTransform(mask, width, height),
      reference(mask, width, height),
      `${width}×${height}`,
    );
  }
});
