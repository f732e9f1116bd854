import assert from 'node:assert/strict';
import { test } from 'node:test';
import { regionDescriptors } from '../../../core/active/region-descriptors.js';
import { imageFeatureRows } from '../../../core/inference/image-features.js';
import { receptiveMargin } from '../../../core/inference/receptive-field.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { randomWeights, TOLERANCE } from '../msd/msd-test-cases.js';

// The product's window descriptors against a plain reference: the extractors' features of the
// WHOLE image (one forward), then each window's mean over the pixels of the global 4-pixel grid
// inside it, by a loop over every pixel. regionDescriptors reads only its region and the margin.
const WIDTH = 160;
const HEIGHT = 120;
const random = new SeededRandom(11);
const rgb = Uint8Array.from({ length: WIDTH * HEIGHT * 3 }, () => Math.floor(random.next() * 256));
const reads: { x: number; y: number; width: number; height: number }[] = [];
const source: PixelSource = {
  name: 'random',
  levels: [{ width: WIDTH, height: HEIGHT, downsample: 1, tileWidth: WIDTH, tileHeight: HEIGHT }],
  async readRegion({ x, y, width, height }) {
    reads.push({ x, y, width, height });
    const out = new Uint8Array(width * height * 3);
    for (let r = 0; r < height; r++)
      out.set(rgb.subarray(((y + r) * WIDTH + x) * 3, ((y + r) * WIDTH + x + width) * 3), r * width * 3);
    return out;
  },
};
const extractors = [randomWeights(3, 3, 1), randomWeights(3, 2, 2)];
const margin = receptiveMargin(extractors);

function reference(w: { x: number; y: number; width: number }): number[] {
  const { rows, channels } = imageFeatureRows(extractors, { rgb, width: WIDTH, height: HEIGHT });
  const sum = new Array<number>(channels).fill(0);
  let n = 0;
  for (let y = w.y; y < w.y + w.width; y++)
    for (let x = w.x; x < w.x + w.width; x++) {
      if (x % 4 !== 0 || y % 4 !== 0) continue;
      for (let c = 0; c < channels; c++) sum[c] += rows[(y * WIDTH + x) * channels + c];
      n++;
    }
  return sum.map((s) => s / n);
}

test('window descriptors from a region and its margin: the mean of whole-image features on the 4-grid', async () => {
  assert.ok(margin > 0 && margin < 20, `margin ${margin}`);
  const regions = [
    // Inside the image with its margin: two windows of one region, one forward.
    {
      region: { x: 40, y: 32, width: 64, height: 48 },
      windows: [40, 72].map((x) => ({ x, y: 32, width: 32, height: 32 })),
    },
    // At the image's corner (mirror padding there, as the whole image has), a window off the grid.
    { region: { x: 124, y: 84, width: 36, height: 36 }, windows: [{ x: 127, y: 86, width: 33, height: 33 }] },
  ];
  const got = await regionDescriptors(source, 0, regions, extractors, { margin });
  assert.deepEqual(
    got.map((r) => r.length),
    [2, 1],
  );
  regions.forEach((r, i) =>
    r.windows.forEach((w, j) => {
      const want = reference(w);
      assert.equal(got[i][j].length, 5, 'C′ = 3 + 2');
      want.forEach((v, c) => assert.ok(Math.abs(got[i][j][c] - v) <= TOLERANCE, `region ${i} window ${j} c${c}`));
    }),
  );
  // Each region read once, with its margin, clipped to the image.
  assert.deepEqual(reads, [
    { x: 40 - margin, y: 32 - margin, width: 64 + 2 * margin, height: 48 + 2 * margin },
    { x: 124 - margin, y: 84 - margin, width: 36 + margin, height: 36 + margin },
  ]);
});

test('a region off the sample grid or a window outside its region is refused', async () => {
  const off = { region: { x: 2, y: 0, width: 32, height: 32 }, windows: [{ x: 2, y: 0, width: 32, height: 32 }] };
  await assert.rejects(regionDescriptors(source, 0, [off], extractors, { margin }), /4-pixel grid/);
  const out = { region: { x: 0, y: 0, width: 32, height: 32 }, windows: [{ x: 8, y: 0, width: 32, height: 32 }] };
  await assert.rejects(regionDescriptors(source, 0, [out], extractors, { margin }), /not inside its region/);
});
