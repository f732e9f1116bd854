import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabelledImage } from '../../tools/dataset.js';
import { classWindows, drawSupportSet } from '../../tools/support-set.js';
import { SeededRandom } from '../../core/math/seeded-random.js';

function randomImage(name: string, width: number, height: number, seed: number): LabelledImage {
  const rng = new SeededRandom(seed);
  const labels = new Uint8Array(width * height);
  // Blobs of classes 1–3 so that windows differ in their counts.
  for (let b = 0; b < 40; b++) {
    const cx = rng.int(width);
    const cy = rng.int(height);
    const r = 2 + rng.int(9);
    const id = 1 + rng.int(3);
    for (let y = Math.max(0, cy - r); y < Math.min(height, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x < Math.min(width, cx + r); x++)
        if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) labels[y * width + x] = id;
    }
  }
  const rgb = Uint8Array.from({ length: 3 * width * height }, (_, i) => (i * 7 + seed) & 255);
  return { name, split: 'train', width, height, rgb, labels };
}

test(
  'classWindows finds exactly the stride-grid windows ' + '(last one flush with the edge) with enough class pixels',
  () => {
    const images = [randomImage('a', 100, 70, 1), randomImage('b', 64, 90, 2)];
    const ids = [1, 3];
    const edge = 32;
    const stride = 12;
    const minPositive = 25;
    const got = classWindows(images, ids, { edge, stride, minPositive });
    // Brute force: every start on the grid, plus the flush one, counted pixel by pixel.
    const expected: string[] = [];
    images.forEach((im, i) => {
      const starts = (n: number) => {
        const s = new Set<number>();
        for (let v = 0; v + edge <= n; v += stride) s.add(v);
        s.add(n - edge);
        return [...s].sort((a, b) => a - b);
      };
      for (const y of starts(im.height)) {
        for (const x of starts(im.width)) {
          let count = 0;
          for (let r = y; r < y + edge; r++)
            for (let c = x; c < x + edge; c++) count += ids.includes(im.labels[r * im.width + c]) ? 1 : 0;
          if (count >= minPositive) expected.push(`${i}:${x},${y}:${count}`);
        }
      }
    });
    assert.ok(expected.length > 5, `the fixture has windows (${expected.length})`);
    assert.deepEqual(got.map((w) => `${w.image}:${w.x},${w.y}:${w.count}`).sort(), expected.sort());
  },
);

test('drawSupportSet draws distinct windows, the same for the same seed, and cuts them with their class mask', () => {
  const images = [randomImage('a', 120, 120, 3), randomImage('b', 120, 120, 4)];
  const ids = [2];
  const windows = classWindows(images, ids, { edge: 40, stride: 8, minPositive: 10 });
  assert.ok(windows.length >= 12);
  const first = drawSupportSet(images, windows, ids, { shots: 6, seed: 7, edge: 40, zoom: 2 });
  const again = drawSupportSet(images, windows, ids, { shots: 6, seed: 7, edge: 40, zoom: 2 });
  const other = drawSupportSet(images, windows, ids, { shots: 6, seed: 8, edge: 40, zoom: 2 });
  assert.deepEqual(first.windows, again.windows);
  assert.notDeepEqual(first.windows, other.windows);
  assert.equal(new Set(first.windows).size, 6);
  first.patches.forEach((patch, k) => {
    const w = first.windows[k];
    const im = images[w.image];
    assert.equal(patch.width, 80);
    let positives = 0;
    for (let r = 0; r < 80; r++) {
      for (let c = 0; c < 80; c++) {
        const s = (w.y + (r >> 1)) * im.width + w.x + (c >> 1);
        assert.equal(patch.mask[r * 80 + c], im.labels[s] === 2 ? 1 : 0);
        assert.equal(patch.rgb[3 * (r * 80 + c) + 1], im.rgb[3 * s + 1]);
        positives += patch.mask[r * 80 + c];
      }
    }
    assert.equal(positives, 4 * w.count);
  });
  assert.throws(
    () => drawSupportSet(images, windows.slice(0, 3), ids, { shots: 4, seed: 1, edge: 40, zoom: 1 }),
    /only 3 windows hold the class; 4 shots/,
  );
});
