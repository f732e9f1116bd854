import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellContours, thresholdMask } from '../../../core/cells/cell-contours.js';
import { labelComponents } from '../../../core/cells/connected-components.js';
import { traceRings } from '../../../core/cells/contour-trace.js';
import { rasterisePolygon } from '../../../core/cells/polygon-raster.js';
import { isValidPolygon } from '../../../core/cells/polygon-validity.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { simplifyRing } from '../../../core/cells/simplify-ring.js';
import { pairs, randomMask, sampleLabelImages } from './mask-fixtures.js';
import { ringsSimpleAndDisjoint } from './segment-reference.js';

test(
  'the sample slide’s nuclei: exact at tolerance 0, Dice ≥ 0.98 simplified, ' +
    'valid polygons, exact areas and bounds',
  () => {
    let cells = 0,
      vertices = 0,
      exactVertices = 0;
    let both = 0,
      inMask = 0,
      inRaster = 0;
    for (const image of sampleLabelImages()) {
      const { width, height } = image;
      const mask = image.classes.map((c) => (c ? 1 : 0));
      const exact = cellContours(mask, width, height, { tolerance: 0 });
      const exactRaster = new Uint8Array(mask.length);
      for (const cell of exact) rasterisePolygon(exactRaster, width, height, cell.rings.map(pairs), 1);
      assert.deepEqual(exactRaster, mask, `${image.name}: the exact outlines do not rasterise back to the mask`);

      const simplified = cellContours(mask, width, height);
      const components = labelComponents(mask, width, height);
      assert.equal(simplified.length, components.count);
      const raster = new Uint8Array(mask.length);
      for (const [k, cell] of simplified.entries()) {
        assert.equal(cell.label, k + 1);
        assert.ok(
          isValidPolygon(cell.rings as Float64Array[]),
          `${image.name}: cell ${cell.label} is not a valid polygon`,
        );
        assert.equal(cell.area, components.areas[cell.label]);
        rasterisePolygon(raster, width, height, cell.rings.map(pairs), 1);
        vertices += cell.rings[0].length / 2;
        exactVertices += exact[k].rings[0].length / 2;
      }
      // Bounds against the labels themselves.
      const bounds = new Map<number, number[]>();
      for (let i = 0; i < mask.length; i++) {
        const l = components.labels[i];
        if (!l) continue;
        const x = i % width,
          y = (i - x) / width;
        const b = bounds.get(l) ?? [x, y, x, y];
        bounds.set(l, [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)]);
      }
      for (const cell of simplified) {
        const [x0, y0, x1, y1] = bounds.get(cell.label)!;
        assert.deepEqual(cell.bounds, { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
      }
      for (let i = 0; i < mask.length; i++) {
        if (mask[i]) inMask++;
        if (raster[i]) inRaster++;
        if (mask[i] && raster[i]) both++;
      }
      cells += simplified.length;
      // Brute force over all edge pairs is quadratic: the first 40 cells of one image.
      if (image.name === 'test_1')
        assert.ok(
          ringsSimpleAndDisjoint(simplified.slice(0, 40).flatMap((c) => c.rings)),
          'simplified outlines of different cells touch',
        );
    }
    const d = (2 * both) / (inMask + inRaster);
    assert.ok(d >= 0.98, `Dice of the simplified outlines against the mask: ${d}`);
    assert.ok(vertices < 0.7 * exactVertices, `simplification kept ${vertices} of ${exactVertices} vertices`);
    assert.ok(cells > 1000, `${cells} cells`);
  },
);

test('disc perimeters come within 5% of 2πr (pixel-edge outlines would be 27% long); area is the pixel count', () => {
  for (const r of [4, 7, 12, 25, 60]) {
    const n = 2 * r + 6;
    const mask = new Uint8Array(n * n);
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) if (Math.hypot(x + 0.5 - n / 2 - 0.3, y + 0.5 - n / 2 + 0.2) < r) mask[y * n + x] = 1;
    const [cell, ...rest] = cellContours(mask, n, n);
    assert.equal(rest.length, 0);
    assert.ok(
      Math.abs(cell.perimeter / (2 * Math.PI * r) - 1) < 0.05,
      `r ${r}: perimeter ${cell.perimeter}, 2πr ${2 * Math.PI * r}`,
    );
    assert.equal(
      cell.area,
      mask.reduce((s, v) => s + v, 0),
    );
  }
});

test('probabilities are cells strictly above the threshold', () => {
  const random = new SeededRandom(4);
  const p = Float32Array.from({ length: 64 * 64 }, () => random.next());
  p[5] = 0.25;
  const fromP = cellContours(p, 64, 64, { threshold: 0.25, tolerance: 0 });
  const binary = thresholdMask(p, 0.25);
  assert.equal(binary[5], 0);
  assert.deepEqual(
    binary,
    Uint8Array.from(p, (v) => (v > 0.25 ? 1 : 0)),
  );
  const fromMask = cellContours(binary, 64, 64, { tolerance: 0 });
  assert.deepEqual(fromP, fromMask);
  assert.throws(() => thresholdMask(p, Number.NaN), /threshold/);
});

test('minArea drops small components; 4-connectivity splits corner contacts', () => {
  const mask = new Uint8Array([1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1]);
  assert.deepEqual(
    cellContours(mask, 5, 3).map((c) => c.area),
    [2, 4],
  );
  assert.deepEqual(
    cellContours(mask, 5, 3, { connectivity: 4 }).map((c) => c.area),
    [1, 1, 4],
  );
  assert.deepEqual(
    cellContours(mask, 5, 3, { connectivity: 4, minArea: 2 }).map((c) => c.label),
    [3],
  );
  assert.throws(() => cellContours(mask, 5, 3, { tolerance: -1 }), /tolerance/);
});

test(
  'coarse tolerances on ragged masks: where plain Douglas–Peucker breaks a polygon, ' + 'a valid one comes out instead',
  () => {
    const random = new SeededRandom(6);
    let repaired = 0,
      checked = 0;
    for (let trial = 0; trial < 60; trial++) {
      const mask = randomMask(random, 48, 48, 0.35, 4);
      const tolerance = [1.5, 2.5, 4][trial % 3];
      const traced = traceRings(labelComponents(mask, 48, 48));
      for (const cell of cellContours(mask, 48, 48, { tolerance })) {
        assert.ok(isValidPolygon(cell.rings as Float64Array[]), `trial ${trial}: cell ${cell.label} is invalid`);
        const naive = traced[cell.label - 1].map((ring) => simplifyRing(ring, tolerance));
        if (!isValidPolygon(naive)) repaired++;
        checked++;
      }
    }
    assert.ok(repaired > 20, `only ${repaired} of ${checked} cells needed repair; the fallback went untested`);
  },
);

test('an empty mask has no cells', () => {
  assert.deepEqual(cellContours(new Uint8Array(100), 10, 10), []);
});
