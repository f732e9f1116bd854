import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellContours, type CellContour } from '../../../core/cells/cell-contours.js';
import {
  cellsToGeoJson,
  cellsToGeoJsonReport,
  DEFAULT_CLASS_COLOR,
  type CellFeatureCollection,
  type Position,
} from '../../../core/cells/geojson-export.js';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import { measureCells } from '../../../core/cells/cell-measurements.js';
import { levelPlacement, maskPlacement } from '../../../core/cells/mask-placement.js';
import { rasterisePolygon } from '../../../core/cells/polygon-raster.js';
import { dice, pairs as pairsOf, sampleLabelImages } from './mask-fixtures.js';
import { ringsSimpleAndDisjoint } from './segment-reference.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LYMPHOCYTE = { name: 'Lymphocyte', color: [60, 180, 75] as [number, number, number] };

/** The exported text parsed back, with the checks every feature must pass for QuPath to take it. */
function parseAndCheck(text: string, count: number): CellFeatureCollection {
  const json = JSON.parse(text) as CellFeatureCollection;
  assert.equal(json.type, 'FeatureCollection');
  assert.equal(json.features.length, count);
  const ids = new Set<string>();
  for (const f of json.features) {
    assert.equal(f.type, 'Feature');
    assert.match(f.id, UUID);
    ids.add(f.id);
    assert.equal(f.geometry.type, 'Polygon');
    assert.equal(f.properties.objectType, 'detection');
    assert.deepEqual(f.properties.classification, { name: LYMPHOCYTE.name, color: LYMPHOCYTE.color });
    f.geometry.coordinates.forEach((ring, r) => {
      // JTS (QuPath's geometry) refuses rings that are not closed or have fewer than 4 positions.
      assert.ok(ring.length >= 4, 'a ring with fewer than 4 positions');
      assert.deepEqual(ring[ring.length - 1], ring[0], 'an open ring');
      const area = shoelace(ring);
      assert.ok(r === 0 ? area > 0 : area < 0, `ring ${r} has area ${area}`);
    });
  }
  assert.equal(ids.size, count, 'feature ids repeat');
  return json;
}

/** Signed area of a closed GeoJSON ring, computed from the positions written. */
function shoelace(ring: Position[]): number {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return s / 2;
}

function length(ring: Position[], ux: number, uy: number): number {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++)
    s += Math.hypot((ring[i + 1][0] - ring[i][0]) * ux, (ring[i + 1][1] - ring[i][1]) * uy);
  return s;
}

/** Rasterises every feature into a width × height grid whose pixel (i, j) covers level-0 [x + i·s, …). */
function rasterise(
  json: CellFeatureCollection,
  x: number,
  y: number,
  sx: number,
  sy: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  for (const f of json.features) {
    rasterisePolygon(
      out,
      width,
      height,
      f.geometry.coordinates.map((ring) => ring.map(([px, py]): [number, number] => [(px - x) / sx, (py - y) / sy])),
      1,
    );
  }
  return out;
}

/** A 2×-coarser mask, as the extractors see a 0.5 µm/px slide at 1 µm/px: on where ≥ 2 of 4 are on. */
function halve(mask: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array((width / 2) * (height / 2));
  for (let y = 0; y < height / 2; y++) {
    for (let x = 0; x < width / 2; x++) {
      const i = 2 * y * width + 2 * x;
      out[y * (width / 2) + x] = mask[i] + mask[i + 1] + mask[i + width] + mask[i + width + 1] >= 2 ? 1 : 0;
    }
  }
  return out;
}

test(
  'sample nuclei traced at half resolution and exported at a non-trivial origin: Dice ≥ 0.98 against the mask, ' +
    'and on the level-0 nuclei',
  () => {
    const mpp = { x: 0.5, y: 0.5 };
    let totalCells = 0;
    for (const image of sampleLabelImages().slice(0, 6)) {
      const full = image.classes.map((c) => (c ? 1 : 0));
      const w = image.width / 2,
        h = image.height / 2;
      const mask = halve(full, image.width, image.height);
      const cells = cellContours(mask, w, h);
      // The mask is level 1 of a 2× pyramid, cut at level-1 pixel (566, 1526).
      const placement = levelPlacement(
        { x: 566, y: 1526 },
        { width: 4096, height: 4096 },
        { width: 8192, height: 8192 },
      );
      assert.deepEqual(placement, { x: 1132, y: 3052, scaleX: 2, scaleY: 2 });
      const text = JSON.stringify(cellsToGeoJson(cells, { placement, classification: LYMPHOCYTE, mpp }));
      const json = parseAndCheck(text, cells.length);

      // Mapped back through the placement onto the mask's own grid: the outlines give back the mask.
      const back = dice(rasterise(json, 1132, 3052, 2, 2, w, h), mask);
      assert.ok(back >= 0.98, `${image.name}: Dice of the exported polygons against the mask ${back}`);
      // Rasterised on the level-0 grid of the window, they land on the full-resolution nuclei
      // (what is lost is the halving's detail and the simplification, not position).
      const level0 = rasterise(json, 1132, 3052, 1, 1, image.width, image.height);
      const dFull = dice(level0, full);
      assert.ok(dFull >= 0.9, `${image.name}: Dice against the level-0 nuclei ${dFull}`);
      // Off by a few level-0 pixels, the outlines would miss the nuclei.
      assert.ok(
        dice(rasterise(json, 1132 + 4, 3052 - 3, 1, 1, image.width, image.height), full) < dFull - 0.1,
        `${image.name}: a shifted window matches as well`,
      );

      for (const [k, f] of json.features.entries()) {
        const area = f.properties.measurements['Mask area µm^2'];
        const perimeter = f.properties.measurements['Perimeter µm'];
        assert.equal(area, cells[k].area * 4 * 0.25, 'mask area: mask pixels × 4 level-0 pixels × 0.25 µm²');
        const polygon = f.geometry.coordinates.reduce((sum, ring) => sum + shoelace(ring), 0) * 0.25;
        assert.ok(Math.abs(f.properties.measurements['Area µm^2'] - polygon) <= 1e-9 * polygon, 'area: the polygon’s');
        // The perimeter against the outline as written (rounded to 0.01 px).
        assert.ok(
          Math.abs(perimeter - length(f.geometry.coordinates[0], 0.5, 0.5)) < 0.01 * f.geometry.coordinates[0].length,
          `perimeter ${perimeter}`,
        );
      }
      totalCells += cells.length;
    }
    assert.ok(totalCells > 500, `${totalCells} cells`);
  },
);

test('an anisotropic, non-integer placement maps back to the mask with Dice ≥ 0.98; units follow mpp', () => {
  const [image] = sampleLabelImages();
  const mask = image.classes.map((c) => (c === 2 ? 1 : 0));
  const cells = cellContours(mask, image.width, image.height);
  const placement = maskPlacement(777.25, 4096.5, 4.0005, 3.999);
  const mpp = { x: 0.2521, y: 0.2519 };
  const withMpp = parseAndCheck(
    JSON.stringify(cellsToGeoJson(cells, { placement, classification: LYMPHOCYTE, mpp })),
    cells.length,
  );
  const back = rasterise(
    withMpp,
    placement.x,
    placement.y,
    placement.scaleX,
    placement.scaleY,
    image.width,
    image.height,
  );
  const d = dice(back, mask);
  assert.ok(d >= 0.98, `Dice ${d}`);
  for (const f of withMpp.features) {
    for (const ring of f.geometry.coordinates) {
      for (const [x, y] of ring) {
        assert.ok(
          x >= 777.25 - 0.01 &&
            x <= 777.25 + image.width * 4.0005 + 0.01 &&
            y >= 4096.5 - 0.01 &&
            y <= 4096.5 + image.height * 3.999 + 0.01,
          `(${x}, ${y}) lies outside the mask's level-0 rectangle`,
        );
      }
    }
  }
  const withoutMpp = cellsToGeoJson(cells, { placement, classification: LYMPHOCYTE });
  for (const [k, f] of withoutMpp.features.entries()) {
    const m = f.properties.measurements;
    assert.deepEqual(Object.keys(m), ['Area px^2', 'Perimeter px', 'Mask area px^2']);
    const um = withMpp.features[k].properties.measurements;
    assert.ok(Math.abs(m['Area px^2'] * mpp.x * mpp.y - um['Area µm^2']) < 1e-9 * um['Area µm^2']);
    assert.ok(Math.abs(m['Mask area px^2'] - cells[k].area * 4.0005 * 3.999) < 1e-6);
    // With per-axis units, the µm perimeter is not the pixel one times a constant: recompute it.
    assert.ok(
      Math.abs(um['Perimeter µm'] - length(f.geometry.coordinates[0], mpp.x, mpp.y)) <
        0.01 * f.geometry.coordinates[0].length,
    );
  }
});

test('holes survive the export; ids, decimals and object type can be chosen; bad inputs are refused', () => {
  const donut = new Uint8Array(7 * 7);
  for (let y = 1; y < 6; y++) for (let x = 1; x < 6; x++) donut[y * 7 + x] = x === 3 && y === 3 ? 0 : 1;
  const cells: CellContour[] = cellContours(donut, 7, 7, { tolerance: 0 });
  const json = cellsToGeoJson(cells, {
    placement: maskPlacement(100, 200, 0.5),
    classification: LYMPHOCYTE,
    decimals: 1,
    objectType: 'annotation',
    id: (cell) => `cell-${cell.label}`,
  });
  const [f] = json.features;
  assert.equal(f.id, 'cell-1');
  assert.equal(f.properties.objectType, 'annotation');
  assert.equal(f.geometry.coordinates.length, 2);
  assert.ok(shoelace(f.geometry.coordinates[1]) < 0);
  assert.deepEqual(rasterise(json, 100, 200, 0.5, 0.5, 7, 7), donut);
  for (const ring of f.geometry.coordinates) {
    for (const [x, y] of ring) {
      assert.equal(Math.round(x * 10) / 10, x);
      assert.equal(Math.round(y * 10) / 10, y);
    }
  }
  const options = { placement: maskPlacement(0, 0, 1), classification: LYMPHOCYTE };
  assert.throws(
    () => cellsToGeoJson(cells, { ...options, classification: { name: 'x', color: [256, 0, 0] } }),
    /colour/,
  );
  assert.throws(() => cellsToGeoJson(cells, { ...options, mpp: { x: 0, y: 1 } }), /microns/);
  assert.throws(() => cellsToGeoJson(cells, { ...options, decimals: 1.5 }), /decimals/);
  assert.throws(() => maskPlacement(0, 0, -1), /scale/);
});

test('every feature carries classification.color (QuPath throws without one): the default when none is given', () => {
  const [image] = sampleLabelImages();
  const cells = cellContours(
    image.classes.map((c) => (c ? 1 : 0)),
    image.width,
    image.height,
  );
  assert.ok(cells.length > 50, `${cells.length} cells`);
  const placement = maskPlacement(0, 0, 1);
  for (const [classification, color] of [
    [LYMPHOCYTE, LYMPHOCYTE.color],
    [{ name: 'No colour given' }, DEFAULT_CLASS_COLOR],
  ] as const) {
    // Checked on the text, as QuPath reads it: a name and three integer components 0…255.
    const json = JSON.parse(JSON.stringify(cellsToGeoJson(cells, { placement, classification })));
    assert.equal(json.features.length, cells.length);
    for (const f of json.features) {
      const c = f.properties.classification;
      assert.deepEqual(Object.keys(c).sort(), ['color', 'name']);
      assert.equal(c.name, classification.name);
      assert.deepEqual(c.color, [...color]);
      assert.ok(c.color.every((v: number) => Number.isInteger(v) && v >= 0 && v <= 255));
    }
  }
  assert.throws(() => cellsToGeoJson(cells, { placement, classification: { name: '' } }), /non-empty name/);
});

/** Flat rings of a feature, without the closing repeat, for the brute-force reference. */
const flatRings = (f: CellFeatureCollection['features'][number]) =>
  f.geometry.coordinates.map((ring) => ring.slice(0, -1).flat());

test('rounded to 0 decimals, every polygon is still valid (checked by brute force) and its area is its own', () => {
  // Issue 12: with decimals 0 the sample gave 1,316 rings of < 3 distinct points and 56 self-intersections.
  const images = sampleLabelImages();
  let written = 0;
  let dropped = 0;
  for (const image of images) {
    const mask = image.classes.map((c) => (c ? 1 : 0));
    const cells = cellContours(mask, image.width, image.height);
    for (const [placement, decimals] of [
      [maskPlacement(777.25, 4096.5, 4.0005, 3.999), 0],
      [maskPlacement(10, 20, 1), 0],
      [maskPlacement(10, 20, 0.5), 0],
    ] as const) {
      const report = cellsToGeoJsonReport(cells, {
        placement,
        classification: LYMPHOCYTE,
        decimals,
        mpp: { x: 0.5, y: 0.25 },
      });
      const json = parseAndCheck(JSON.stringify(report.collection), cells.length - report.droppedCells);
      for (const f of json.features) {
        const rings = flatRings(f);
        for (const ring of rings) {
          const distinct = new Set(pairsOf(ring).map(([x, y]) => `${x},${y}`));
          assert.ok(distinct.size >= 3 && distinct.size === ring.length / 2, 'repeated or too few points');
          for (const v of ring) assert.equal(Math.round(v * 10 ** decimals) / 10 ** decimals, v);
        }
        assert.ok(ringsSimpleAndDisjoint(rings), `feature ${f.id} crosses itself`);
        const area = f.geometry.coordinates.reduce((s, ring) => s + shoelace(ring), 0) * 0.5 * 0.25;
        assert.ok(Math.abs(f.properties.measurements['Area µm^2'] - area) <= 1e-9 * Math.max(1, area));
      }
      written += json.features.length;
      dropped += report.droppedCells;
    }
  }
  // Dropping is for what rounding collapsed (cells a few level-0 pixels across), not the rule.
  assert.ok(written > 1000 && dropped < 0.1 * written, `${written} written, ${dropped} dropped`);
  assert.ok(dropped > 0, 'at scale 0.5 and 0 decimals some cells collapse: the test would not see the rule work');
});

test('rounding repairs what it can: repeats merged, spikes cut, collapsed rings and holes dropped and counted', () => {
  const cell = (rings: number[][]): CellContour =>
    ({
      label: 1,
      area: 1,
      box: { x: 0, y: 0, width: 1, height: 1 },
      rings: rings.map((r) => Float64Array.from(r)),
    }) as unknown as CellContour;
  const placement = maskPlacement(0, 0, 1);
  const square = [0, 0, 10, 0, 10, 10, 0, 10];
  const cases = [
    // A vertex 0.2 away from its neighbour merges with it at 0 decimals.
    cell([[0, 0, 10, 0, 10.2, 0.1, 10, 10, 0, 10]]),
    // A spike out and back to the same rounded point is cut.
    cell([[0, 0, 10, 0, 10, 5, 14, 5.2, 10, 5.1, 10, 10, 0, 10]]),
    // A sliver of zero area once rounded is dropped.
    cell([[0, 0, 10, 0.2, 20, 0.1]]),
    // A hole too small for the precision is dropped, the cell kept.
    cell([square, [5, 5, 5.1, 5.3, 5.2, 5.1]]),
  ];
  const report = cellsToGeoJsonReport(cases, { placement, classification: LYMPHOCYTE, decimals: 0 });
  assert.equal(report.droppedCells, 1);
  assert.equal(report.droppedHoles, 1);
  const rings = report.collection.features.map((f) => f.geometry.coordinates);
  assert.deepEqual(rings[0], [
    [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
      [0, 0],
    ],
  ]);
  assert.deepEqual(rings[1], [
    [
      [0, 0],
      [10, 0],
      [10, 5],
      [10, 10],
      [0, 10],
      [0, 0],
    ],
  ]);
  assert.deepEqual(rings[2], [
    [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
      [0, 0],
    ],
  ]);
  assert.equal(report.collection.features[2].properties.measurements['Area px^2'], 100);
});

test('with measures, each feature carries the cell’s measurements by QuPath’s names; the polygon’s area stays', () => {
  const width = 40,
    height = 30;
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if ((x - 12) ** 2 + (y - 15) ** 2 < 64 || (x > 25 && x < 35 && y > 3 && y < 25)) mask[y * width + x] = 1;
  const instances = cellInstances(mask, width, height);
  const placement = maskPlacement(10, 20, 2);
  const mpp = { x: 0.25, y: 0.25 };
  const measures = measureCells(instances, { placement, mpp });
  const collection = cellsToGeoJson(instances.cells, { placement, mpp, classification: { name: 'N' }, measures });
  assert.equal(collection.features.length, 2);
  collection.features.forEach((f, k) => {
    const m = f.properties.measurements;
    assert.equal(m['Circularity'], measures[k].circularity);
    assert.equal(m['Solidity'], measures[k].solidity);
    assert.equal(m['Eccentricity'], measures[k].eccentricity);
    assert.equal(m['Centroid X µm'], measures[k].centroidX);
    assert.equal(m['Mask area µm^2'], instances.cells[k].area * 4 * 0.0625);
    assert.ok(Number.isFinite(m['Area µm^2']) && Number.isFinite(m['Perimeter µm']));
  });
  // The rectangle starts higher up, so it is the first cell.
  assert.equal(collection.features[0].properties.measurements['Solidity'], 1);
  assert.throws(
    () => cellsToGeoJson(instances.cells, { placement, classification: { name: 'N' }, measures: measures.slice(1) }),
    /1 measurements for 2 cells/,
  );
});
