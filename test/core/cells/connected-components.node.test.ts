import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelComponents } from '../../../core/cells/connected-components.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { floodLabels, randomMask, sampleLabelImages } from './mask-fixtures.js';

function checkAgainstFlood(
  mask: Uint8Array,
  width: number,
  height: number,
  connectivity: 4 | 8,
  label: string,
): number {
  const got = labelComponents(mask, width, height, connectivity);
  const expected = floodLabels(width, height, (i) => mask[i] !== 0, connectivity);
  assert.equal(got.count, expected.count, `${label}: component count`);
  // Both number components by their first pixel in raster order, so the labels must be identical.
  for (let i = 0; i < mask.length; i++) {
    if (got.labels[i] !== expected.labels[i])
      assert.fail(
        `${label}: pixel (${i % width}, ${Math.floor(i / width)}) labelled ${got.labels[i]}, ` +
          `flood fill says ${expected.labels[i]}`,
      );
  }
  const areas = new Int32Array(expected.count + 1);
  for (const l of expected.labels) if (l) areas[l]++;
  assert.deepEqual(got.areas, areas, `${label}: areas`);
  return got.count;
}

test(
  'random masks of every density: the same components as a breadth-first flood fill, ' + 'with 8 and with 4 neighbours',
  () => {
    const random = new SeededRandom(21);
    let components = 0;
    for (let trial = 0; trial < 300; trial++) {
      const width = 1 + random.int(48);
      const height = 1 + random.int(48);
      const mask = randomMask(random, width, height, [0.1, 0.3, 0.5, 0.6, 0.8][trial % 5], trial % 3);
      for (const connectivity of [8, 4] as const)
        components += checkAgainstFlood(
          mask,
          width,
          height,
          connectivity,
          `trial ${trial} ${width}×${height} ${connectivity}-conn`,
        );
    }
    assert.ok(components > 10000, `only ${components} components in all; too few to prove anything`);
  },
);

test('U, spiral and comb shapes whose provisional labels need many merges', () => {
  const width = 40,
    height = 30;
  const mask = new Uint8Array(width * height);
  // A comb whose teeth hang down from a spine at the bottom: each tooth starts a new provisional label.
  for (let x = 0; x < width; x += 2) for (let y = 0; y < height - 1; y++) mask[y * width + x] = 1;
  for (let x = 0; x < width; x++) mask[(height - 1) * width + x] = 1;
  assert.equal(checkAgainstFlood(mask, width, height, 8, 'comb'), 1);
  assert.equal(checkAgainstFlood(mask, width, height, 4, 'comb'), 1);
  // A diagonal staircase: one component with 8 neighbours, one per pixel with 4.
  const stairs = new Uint8Array(20 * 20);
  for (let i = 0; i < 20; i++) stairs[i * 20 + (19 - i)] = 1;
  assert.equal(checkAgainstFlood(stairs, 20, 20, 8, 'anti-diagonal'), 1);
  assert.equal(checkAgainstFlood(stairs, 20, 20, 4, 'anti-diagonal'), 20);
});

test('the sample slide’s nuclei: the same components as a flood fill', () => {
  for (const image of sampleLabelImages().slice(0, 4)) {
    const mask = image.classes.map((c) => (c ? 1 : 0));
    const count = checkAgainstFlood(mask, image.width, image.height, 8, image.name);
    assert.ok(count > 50, `${image.name}: ${count} nuclei`);
  }
});

test('empty, full and degenerate masks; bad arguments are refused', () => {
  assert.equal(labelComponents(new Uint8Array(0), 0, 0).count, 0);
  assert.equal(labelComponents(new Uint8Array(12), 3, 4).count, 0);
  const full = labelComponents(new Uint8Array(12).fill(255), 4, 3);
  assert.equal(full.count, 1);
  assert.equal(full.areas[1], 12);
  assert.throws(() => labelComponents(new Uint8Array(5), 2, 2), /4/);
  assert.throws(() => labelComponents(new Uint8Array(4), 2, 2, 6 as 4), /connectivity/);
});
