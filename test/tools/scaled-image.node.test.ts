import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabelledImage } from '../../tools/dataset.js';
import { scaleImage, scaledLabels } from '../../tools/scaled-image.js';

/** Deterministic pseudo-random bytes (a 32-bit LCG), so a failure reproduces. */
function bytes(n: number, seed: number, max = 256): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 24) % max;
  });
}

function image(width: number, height: number, seed: number): LabelledImage {
  return {
    name: 'im',
    split: 'train',
    width,
    height,
    rgb: bytes(width * height * 3, seed),
    labels: bytes(width * height, seed + 1, 4),
  };
}

/** The reference for a reduction by 2: each 2×2 block's mean; its most frequent id, a tie to the top-left. */
function halved(im: LabelledImage): { rgb: number[]; labels: number[] } {
  const w = im.width / 2;
  const h = im.height / 2;
  const rgb: number[] = [];
  const labels: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const at = [
        [2 * x, 2 * y],
        [2 * x + 1, 2 * y],
        [2 * x, 2 * y + 1],
        [2 * x + 1, 2 * y + 1],
      ].map(([a, b]) => b * im.width + a);
      for (let c = 0; c < 3; c++) rgb.push(Math.round(at.reduce((s, i) => s + im.rgb[3 * i + c], 0) / 4));
      const ids = at.map((i) => im.labels[i]);
      const count = (id: number) => ids.filter((v) => v === id).length;
      const most = Math.max(...ids.map(count));
      labels.push(count(ids[0]) === most ? ids[0] : ids.find((id) => count(id) === most)!);
    }
  return { rgb, labels };
}

test('reducing by 2 gives each 2×2 block its mean colour and its majority class', async () => {
  const im = image(12, 8, 3);
  const small = await scaleImage(im, 0.5);
  assert.equal(small.width, 6);
  assert.equal(small.height, 4);
  const want = halved(im);
  assert.deepEqual([...small.rgb], want.rgb);
  assert.deepEqual([...small.labels], want.labels);
  assert.equal(small.name, im.name);
});

test('a label tie goes to the block’s top-left pixel, a majority wins wherever it sits', () => {
  // Four 2×2 blocks side by side (rows of 8): [1 1 / 0 2], [0 3 / 3 0], [3 0 / 0 3], [2 5 / 7 9].
  const labels = Uint8Array.from([1, 1, 0, 3, 3, 0, 2, 5, 0, 2, 3, 0, 0, 3, 7, 9]);
  assert.deepEqual([...scaledLabels(labels, 8, 2, 4, 1)], [1, 0, 3, 2]);
  assert.deepEqual([...scaledLabels(Uint8Array.from([0, 4, 4, 4]), 2, 2, 1, 1)], [4]);
});

test('an odd side reduces to the pixels whose centres fall in each output pixel', () => {
  // 5 → 3 (r = 5/3): output pixels hold source columns {0, 1}, {2}, {3, 4}.
  const row = Uint8Array.from([7, 7, 1, 2, 2]);
  assert.deepEqual([...scaledLabels(row, 5, 1, 3, 1)], [7, 1, 2]);
});

test('enlarging keeps nearest-neighbour labels, and zoom 1 returns the image itself', async () => {
  const im = image(3, 2, 9);
  const big = await scaleImage(im, 2);
  assert.equal(big.width, 6);
  for (let y = 0; y < 4; y++)
    for (let x = 0; x < 6; x++)
      assert.equal(big.labels[y * 6 + x], im.labels[Math.floor(y / 2) * 3 + Math.floor(x / 2)]);
  assert.equal(await scaleImage(im, 1), im);
});
