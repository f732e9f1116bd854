import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bandedCells } from '../../../core/cells/banded-cells.js';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import type { CellContour } from '../../../core/cells/cell-contours.js';
import { measureCells, type CellMeasures } from '../../../core/cells/cell-measurements.js';
import { labelBoxes, labelComponents } from '../../../core/cells/connected-components.js';
import { maskPlacement } from '../../../core/cells/mask-placement.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

const placement = maskPlacement(1000.5, 2000.25, 0.5);
const mpp = { x: 0.25, y: 0.26 };

interface MapFixture {
  readonly width: number;
  readonly height: number;
  readonly mask: Uint8Array;
  readonly probability: Uint8Array;
}

/** Discs (some overlapping: nuclei to split), probabilities random bytes above 127 inside. */
function discs(random: SeededRandom, width: number, height: number, n: number): MapFixture {
  const mask = new Uint8Array(width * height);
  const probability = new Uint8Array(width * height);
  for (let k = 0; k < n; k++) {
    const cx = random.next() * width;
    const cy = random.next() * height;
    const r = 1.5 + 6 * random.next();
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(height, cy + r + 1); y++)
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(width, cx + r + 1); x++)
        if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) mask[y * width + x] = 1;
  }
  for (let i = 0; i < mask.length; i++) probability[i] = mask[i] ? 128 + random.int(128) : random.int(128);
  return { width, height, mask, probability };
}

/** Draws `inside` into the fixture (mask 1, probability 200). */
function paint(map: MapFixture, inside: (x: number, y: number) => boolean): void {
  for (let y = 0; y < map.height; y++) {
    for (let x = 0; x < map.width; x++) {
      if (!inside(x, y)) continue;
      map.mask[y * map.width + x] = 1;
      map.probability[y * map.width + x] = 200;
    }
  }
}

/** The whole map at once (the reference): cellInstances and measureCells over all of it. */
function joined(map: MapFixture) {
  const probabilities = Float32Array.from(map.probability, (b) => b / 255);
  const instances = cellInstances(map.mask, map.width, map.height);
  return { cells: instances.cells, measures: measureCells(instances, { placement, mpp, probabilities }) };
}

/** bandedCells over the map; `emittedAtRead[k]`: how many cells were out when band k was read. */
async function banded(map: MapFixture, bandHeight: number) {
  const reads: [number, number][] = [];
  const cells: CellContour[] = [];
  const measures: CellMeasures[] = [];
  const emittedAtRead: number[] = [];
  const result = await bandedCells({
    width: map.width,
    height: map.height,
    bandHeight,
    placement,
    mpp,
    read: (y0, y1, mask, probability) => {
      reads.push([y0, y1]);
      emittedAtRead.push(cells.length);
      mask.set(map.mask.subarray(y0 * map.width, y1 * map.width));
      probability.set(map.probability.subarray(y0 * map.width, y1 * map.width));
    },
    emit: async (next, nextMeasures) => {
      await Promise.resolve();
      cells.push(...next);
      measures.push(...nextMeasures);
    },
  });
  assert.equal(result.count, cells.length);
  return { ...result, cells, measures, reads, emittedAtRead };
}

async function assertSame(map: MapFixture, bandHeight: number) {
  const expected = joined(map);
  const got = await banded(map, bandHeight);
  assert.equal(got.cells.length, expected.cells.length, `cells in bands of ${bandHeight}`);
  // Exact: the same rings, areas, perimeters, bounds and labels, and the same measurement values.
  assert.deepEqual(got.cells, expected.cells, `cells in bands of ${bandHeight}`);
  assert.deepEqual(got.measures, expected.measures, `measurements in bands of ${bandHeight}`);
  const rows = got.reads.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
  assert.deepEqual(
    rows,
    Array.from({ length: map.height }, (_, i) => i),
    'every row read once, in order',
  );
  return got;
}

test('random discs, split where they touch: the same cells and measurements in bands of any height', async () => {
  const random = new SeededRandom(17);
  const map = discs(random, 149, 83, 60);
  assert.ok(joined(map).cells.length > 30, 'many cells, many crossing band seams');
  assert.ok(joined(map).cells.length > labelComponents(map.mask, 149, 83).count, 'touching discs split');
  for (const bandHeight of [1, 2, 3, 5, 8, 16, 40, 83, 200]) await assertSame(map, bandHeight);
});

test('a snake down the whole map, a U and an arch, a ring with a hole: the same cells across many bands', async () => {
  const random = new SeededRandom(5);
  const map = discs(random, 64, 120, 25);
  // A snake 3 px wide zig-zagging from top to bottom: open through every band.
  paint(map, (x, y) => Math.abs(x - (32 + 20 * Math.sin(y / 9))) < 1.5);
  // A U (two arms that join only at their bottom) and an arch (joined at its top).
  paint(map, (x, y) => y >= 10 && y < 60 && (x === 2 || x === 10 || (y >= 57 && x >= 2 && x <= 10)));
  paint(map, (x, y) => y >= 62 && y < 110 && (x === 52 || x === 60 || (y <= 64 && x >= 52 && x <= 60)));
  // A ring whose hole spans several bands.
  paint(map, (x, y) => {
    const d = Math.hypot(x + 0.5 - 15, y + 0.5 - 90);
    return d <= 12 && d >= 6;
  });
  const whole = joined(map);
  const components = labelComponents(map.mask, map.width, map.height, 8);
  const spans = labelBoxes(components.labels, map.width, map.height, components.count);
  assert.ok(
    spans.y0.some((y0, l) => l > 0 && y0 === 0 && spans.y1[l] === 119),
    'one component spans the whole map',
  );
  assert.ok(
    whole.cells.some((c) => c.rings.length > 1),
    'a cell with a hole',
  );
  for (const bandHeight of [1, 4, 7, 13, 30, 120]) {
    const got = await assertSame(map, bandHeight);
    assert.ok(got.peakRows <= 120, `held ${got.peakRows} rows`);
  }
});

test('memory goes with band and open cells: bands of 8 hold < 100 of 400 rows; cells out when done', async () => {
  const random = new SeededRandom(9);
  const map = discs(random, 200, 400, 300);
  const got = await assertSame(map, 8);
  // Discs are at most 15 px tall; a merged clump can be taller, but the window never holds the map.
  const tallest = Math.max(...joined(map).cells.map((c) => c.bounds.height));
  assert.ok(got.peakRows < 8 + 2 * tallest + 8, `held ${got.peakRows} rows of 400`);
  assert.ok(got.peakRows < 100, `held ${got.peakRows} rows of 400`);
  // And the cells go out as they are done: when the last band is read, nearly all are out.
  assert.ok(got.emittedAtRead.at(-1)! > 0.9 * got.cells.length, `${got.emittedAtRead.at(-1)} of ${got.cells.length}`);
});

test('an empty map and a full one', async () => {
  const empty = { width: 10, height: 10, mask: new Uint8Array(100), probability: new Uint8Array(100) };
  assert.deepEqual((await banded(empty, 3)).cells, []);
  const full = { width: 10, height: 10, mask: new Uint8Array(100).fill(1), probability: new Uint8Array(100).fill(255) };
  await assertSame(full, 3);
  await assert.rejects(banded(full, 0), RangeError);
});
