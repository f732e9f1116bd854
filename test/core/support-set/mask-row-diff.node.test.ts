import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRowDiff, diffRowRange, recordRows } from '../../../core/support-set/mask-row-diff.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

test('a recorded edit keeps only the changed column run of each changed row, and undoes and redoes exactly', () => {
  const random = new SeededRandom(3);
  const width = 64;
  const height = 50;
  for (let trial = 0; trial < 50; trial++) {
    const mask = Uint8Array.from({ length: width * height }, () => [0, 1, 255][random.int(3)]);
    const before = mask.slice();
    const recorder = recordRows(mask, width, height);
    let changedPixels = 0;
    const touched = new Set<number>();
    for (let w = 0; w < 20; w++) {
      const row = random.int(height);
      const col = random.int(width);
      recorder.touch(row);
      touched.add(row);
      mask[row * width + col] = [0, 1, 255][random.int(3)];
    }
    // A touched row written back to what it was is no change.
    const row = random.int(height);
    recorder.touch(row);
    mask[row * width] = mask[row * width];
    const after = mask.slice();
    for (let i = 0; i < mask.length; i++) if (before[i] !== after[i]) changedPixels++;
    const diff = recorder.finish();
    if (changedPixels === 0) {
      assert.equal(diff, null);
      continue;
    }
    assert.ok(diff);
    let runLength = 0;
    for (let i = 0; i < diff.spans.length; i += 3) {
      const [r, first, length] = [diff.spans[i], diff.spans[i + 1], diff.spans[i + 2]];
      assert.ok(touched.has(r));
      assert.notEqual(before[r * width + first], after[r * width + first], 'a run starts at a change');
      assert.notEqual(before[r * width + first + length - 1], after[r * width + first + length - 1], 'and ends at one');
      runLength += length;
    }
    assert.equal(diff.before.length, runLength);
    assert.ok(diff.bytes < 2 * width * height, 'far less than two copies of the mask');
    const [first, last] = diffRowRange(diff);
    assert.ok(first <= last);
    applyRowDiff(mask, width, diff, 'before');
    assert.deepEqual(mask, before);
    applyRowDiff(mask, width, diff, 'after');
    assert.deepEqual(mask, after);
  }
});

test('revert puts back every touched row', () => {
  const mask = new Uint8Array(8 * 4);
  const recorder = recordRows(mask, 8, 4);
  recorder.touchAll();
  mask.fill(1);
  recorder.revert();
  assert.deepEqual(mask, new Uint8Array(32));
  assert.equal(recorder.finish(), null);
});
