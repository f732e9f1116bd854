import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classCellRows,
  classCellsToGeoJson,
  classMap,
  composeClasses,
  measureClassCells,
} from '../../../core/cells/class-composition.js';
import { cellsToCsv, parseCellsCsv } from '../../../core/cells/cell-csv.js';
import { maskPlacement } from '../../../core/cells/mask-placement.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

/** The rule written out per pixel: the classes above their thresholds, the most probable, lowest label on a tie. */
function referenceLabel(values: readonly number[], thresholds: readonly number[]): number {
  const above = values.map((v, k) => ({ v, label: k + 1 })).filter(({ v, label }) => v > thresholds[label - 1]);
  if (above.length === 0) return 0;
  above.sort((a, b) => b.v - a.v || a.label - b.label);
  return above[0].label;
}

test('composeClasses gives each pixel the most probable class above its own threshold, as the per-pixel rule', () => {
  const random = new SeededRandom(15);
  for (const classes of [1, 2, 3, 5]) {
    const n = 4000;
    // Quantised to 1/8 so that ties between classes happen; some NaN (unknown) pixels.
    const maps = Array.from({ length: classes }, () =>
      Float32Array.from({ length: n }, () => (random.next() < 0.02 ? NaN : Math.floor(random.next() * 9) / 8)),
    );
    const thresholds = Array.from({ length: classes }, (_, k) => [0.5, 0.25, 0.75, 0.375, 0.625][k]);
    const labels = composeClasses(maps, thresholds);
    for (let i = 0; i < n; i++) {
      const expected = referenceLabel(
        maps.map((m) => m[i]),
        thresholds,
      );
      assert.equal(labels[i], expected, `pixel ${i} with ${classes} classes`);
    }
    if (classes === 1)
      assert.deepEqual(
        labels,
        Uint8Array.from(maps[0], (p) => (p > 0.5 ? 1 : 0)),
        'one class: p > t',
      );
  }
  assert.throws(() => composeClasses([], []), /0 classes/);
  assert.throws(() => composeClasses([new Float32Array(4)], [0.5, 0.5]), /2 thresholds for 1 classes/);
  const labels = Uint8Array.from([0, 1, 2, 1]);
  assert.deepEqual(
    [...classMap(labels, Float32Array.from([0.1, 0.9, 0.8, 0.7]), 1)],
    [0, 0.8999999761581421, 0, 0.699999988079071],
  );
});

/** A width × height map with discs of probability `p` (and 0 around them). */
function discs(width: number, height: number, centres: readonly [number, number][], radius: number, p: number) {
  const map = new Float32Array(width * height);
  for (const [cx, cy] of centres)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2) map[y * width + x] = p;
  return map;
}

test('cells, measurements and exports are per class: GeoJSON classifications and the CSV class column', () => {
  const width = 120,
    height = 80;
  // Class 1: three discs; class 2: two discs, one overlapping class 1's third disc where it is more probable.
  const tumour = discs(
    width,
    height,
    [
      [20, 20],
      [60, 20],
      [95, 55],
    ],
    8,
    0.7,
  );
  const immune = discs(
    width,
    height,
    [
      [20, 60],
      [100, 55],
    ],
    6,
    0.9,
  );
  const placement = maskPlacement(1000, 2000, 2, 2);
  const classes = measureClassCells(
    [
      { name: 'Tumour', color: [255, 0, 0], threshold: 0.5, probabilities: tumour },
      { name: 'Immune', color: [0, 0, 255], threshold: 0.8, probabilities: immune },
    ],
    width,
    height,
    { placement, mpp: { x: 0.25, y: 0.25 } },
  );
  assert.deepEqual(
    classes.map((c) => c.instances.cells.length),
    [3, 2],
  );
  const labels = composeClasses([tumour, immune], [0.5, 0.8]);
  const pixelsOf = (label: number) => labels.reduce((s, v) => s + (v === label ? 1 : 0), 0);
  classes.forEach((c, k) => {
    const area = c.instances.cells.reduce((s, cell) => s + cell.area, 0);
    assert.equal(area, pixelsOf(k + 1), `class ${k + 1}'s cells cover exactly its pixels`);
  });
  // The overlap went to Immune: Tumour's third cell lost those pixels.
  const third = classes[0].instances.cells.map((c) => c.area).sort((a, b) => a - b)[0];
  const whole = classes[0].instances.cells.map((c) => c.area).sort((a, b) => b - a)[0];
  assert.ok(third < whole, 'the disc Immune overlaps is smaller');
  // Mean probability is the class's own.
  assert.ok(classes[0].measures.every((m) => Math.abs(m.meanProbability! - 0.7) < 1e-6));
  assert.ok(classes[1].measures.every((m) => Math.abs(m.meanProbability! - 0.9) < 1e-6));

  const { collection, droppedCells } = classCellsToGeoJson(classes, { placement, mpp: { x: 0.25, y: 0.25 } });
  assert.equal(droppedCells, 0);
  assert.deepEqual(
    collection.features.map((f) => f.properties.classification),
    [
      { name: 'Tumour', color: [255, 0, 0] },
      { name: 'Tumour', color: [255, 0, 0] },
      { name: 'Tumour', color: [255, 0, 0] },
      { name: 'Immune', color: [0, 0, 255] },
      { name: 'Immune', color: [0, 0, 255] },
    ],
  );
  const csv = cellsToCsv(classCellRows(classes, true));
  const rows = parseCellsCsv(csv);
  assert.deepEqual(
    rows.map((r) => [r.id, r.className]),
    [
      ['1', 'Tumour'],
      ['2', 'Tumour'],
      ['3', 'Tumour'],
      ['4', 'Immune'],
      ['5', 'Immune'],
    ],
  );
  assert.ok(csv.startsWith('Object ID,Class,'));
});
