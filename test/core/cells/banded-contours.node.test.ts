import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bandedCellContours } from '../../../core/cells/banded-contours.js';
import { cellContours } from '../../../core/cells/cell-contours.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { randomMask, sampleLabelImages } from './mask-fixtures.js';

// The reference is cellContours over the whole mask: cut into bands anywhere, the same cells in
// the same order, the same numbers.

/** `mask` cut into bands of the given row counts (the last takes what is left). */
function* bandsOf(mask: Uint8Array, width: number, rows: readonly number[]): Generator<Uint8Array> {
  let y = 0;
  const height = mask.length / width;
  for (let k = 0; y < height; k++) {
    const n = Math.min(rows[k % rows.length], height - y);
    yield mask.subarray(y * width, (y + n) * width);
    y += n;
  }
}

test('random masks with discs and rings, in bands of 1 to 40 rows: the cells of the whole mask', () => {
  const random = new SeededRandom(17);
  for (let trial = 0; trial < 60; trial++) {
    const width = 5 + Math.floor(random.next() * 60);
    const height = 5 + Math.floor(random.next() * 80);
    const mask = randomMask(random, width, height, random.next() * 0.6, Math.floor(random.next() * 4));
    const rows = Array.from({ length: 3 }, () => 1 + Math.floor(random.next() * 40));
    for (const options of [{}, { tolerance: 0 }, { connectivity: 4 as const, minArea: 3 }]) {
      const whole = cellContours(mask, width, height, options);
      const banded = bandedCellContours(bandsOf(mask, width, rows), width, options);
      assert.deepEqual(banded, whole, `trial ${trial} (${width}×${height}, bands ${rows}, ${JSON.stringify(options)})`);
    }
  }
});

test('a cell taller than many bands, and the sample slide’s nuclei in bands of 7 rows', () => {
  const width = 9;
  const mask = new Uint8Array(width * 50);
  for (let y = 2; y < 48; y++) mask[y * width + 4] = 1;
  mask[10 * width + 1] = 1;
  const whole = cellContours(mask, width, 50);
  assert.equal(whole.length, 2);
  assert.deepEqual(bandedCellContours(bandsOf(mask, width, [3]), width), whole);
  for (const image of sampleLabelImages()) {
    const binary = image.classes.map((c) => (c ? 1 : 0));
    assert.deepEqual(
      bandedCellContours(bandsOf(binary, image.width, [7]), image.width),
      cellContours(binary, image.width, image.height),
      image.name,
    );
  }
});

test('bands that are not whole rows are refused', () => {
  assert.throws(() => bandedCellContours([new Uint8Array(7)], 3), /not whole rows of 3/);
});
