import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patchesCovering } from '../../core/inference/patch-grid.js';
import { Stitcher } from '../../core/inference/stitch.js';
import { SeededRandom } from '../../core/math/seeded-random.js';
import { PatchAverageCounter } from '../../tools/patch-counts.js';

// The band-by-band counter of `--tiling patches` against the product's own averaging (one
// Stitcher per map over the whole image, then the threshold), on a grid whose last row and column
// of patches are shifted back to the image edge and whose patches overlap 4 × 4.
test('PatchAverageCounter counts what a Stitcher per map and a threshold count', () => {
  const image = { width: 150, height: 133 };
  const grid = { patchSize: 40, stride: 10 };
  const channels = 3;
  const thresholds = [0.5, 0.3, 0.7];
  const random = new SeededRandom(7);
  const truth = Uint8Array.from({ length: image.width * image.height }, () => random.int(2));
  const patches = patchesCovering({ x: 0, y: 0, ...image }, image, grid);
  const counter = new PatchAverageCounter(image, truth, thresholds, grid.patchSize);
  const stitchers = thresholds.map(() => new Stitcher({ x: 0, y: 0, ...image }));
  let row = -1;
  for (const patch of patches) {
    if (patch.y !== row) counter.finishRowsBefore((row = patch.y));
    const n = patch.width * patch.height;
    // Values of one patch, pixel-major with the maps interleaved, as a [pixels, maps] tensor gives.
    const values = Float32Array.from({ length: n * channels }, () => random.next());
    counter.add(patch, values);
    stitchers.forEach((s, c) =>
      s.add(
        patch,
        Float32Array.from({ length: n }, (_, i) => values[i * channels + c]),
      ),
    );
  }
  const expected = stitchers.map((s, c) => {
    let overlap = 0;
    let predicted = 0;
    s.result().forEach((p, i) => {
      if (p > thresholds[c]) {
        predicted++;
        overlap += truth[i];
      }
    });
    return [overlap, predicted];
  });
  assert.deepEqual(counter.counts(), expected);
  assert.ok(
    expected.every(([o, q]) => o > 0 && q > o),
    JSON.stringify(expected),
  );
});

test('PatchAverageCounter refuses patches out of raster order and pixels no patch covered', () => {
  const image = { width: 8, height: 8 };
  const counter = new PatchAverageCounter(image, new Uint8Array(64), [0.5], 4);
  counter.add({ x: 0, y: 0, width: 4, height: 4 }, new Float32Array(16));
  // Columns 4..7 were never covered.
  assert.throws(() => counter.finishRowsBefore(2), /pixel 4,0 was covered by no patch/);
  const other = new PatchAverageCounter(image, new Uint8Array(64), [0.5], 4);
  other.add({ x: 0, y: 0, width: 8, height: 4 }, new Float32Array(32));
  other.finishRowsBefore(4);
  assert.throws(() => other.add({ x: 0, y: 2, width: 8, height: 4 }, new Float32Array(32)), /raster order/);
  assert.throws(() => other.add({ x: 0, y: 4, width: 8, height: 4 }, new Float32Array(31)), /has 32 values/);
});
