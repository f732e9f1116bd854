import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import { convexHull, measureCells, measurementRecord } from '../../../core/cells/cell-measurements.js';
import { maskPlacement } from '../../../core/cells/mask-placement.js';
import { stainDensity } from '../../../core/cells/stain-density.js';

const at = maskPlacement(0, 0, 1);

/** A mask of `width` × `height` where `inside(x + 0.5, y + 0.5)`. */
function shape(width: number, height: number, inside: (x: number, y: number) => boolean): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) if (inside(x + 0.5, y + 0.5)) mask[y * width + x] = 1;
  return mask;
}

const measureOne = (mask: Uint8Array, width: number, height: number, options = {}) => {
  const instances = cellInstances(mask, width, height, { split: false });
  assert.equal(instances.cells.length, 1);
  return { measures: measureCells(instances, { placement: at, ...options })[0], instances };
};

test('a rasterised disc of radius 20: circularity within 0.08 of 1, eccentricity < 0.05, area and centroid', () => {
  const mask = shape(60, 60, (x, y) => (x - 30) ** 2 + (y - 28) ** 2 <= 400);
  const { measures } = measureOne(mask, 60, 60);
  // The outline of a pixel disc is longer than the circle (its staircase survives the 0.5 px
  // simplification in part): 0.93–0.96 measured for radii 6–40 px and sub-pixel offsets.
  assert.ok(Math.abs(measures.circularity - 1) < 0.08, `circularity ${measures.circularity}`);
  assert.ok(measures.circularity > 0.9);
  assert.ok(measures.eccentricity < 0.05, `eccentricity ${measures.eccentricity}`);
  assert.equal(
    measures.area,
    mask.reduce((a, b) => a + b, 0),
  );
  assert.ok(Math.abs(measures.area - Math.PI * 400) / (Math.PI * 400) < 0.01);
  assert.ok(Math.abs(measures.centroidX - 30) < 1e-9 && Math.abs(measures.centroidY - 28) < 1e-9);
  // The hull of the pixel squares takes in the staircase's corners: 0.965 at this radius.
  assert.ok(measures.solidity > 0.95 && measures.solidity <= 1, `solidity ${measures.solidity}`);
});

test('an ellipse with semi-axes 24 and 12: eccentricity √(1 − (12/24)²) within 0.01, whatever its angle', () => {
  const expected = Math.sqrt(1 - (12 / 24) ** 2);
  for (const angle of [0, Math.PI / 6, Math.PI / 2]) {
    const c = Math.cos(angle),
      s = Math.sin(angle);
    const mask = shape(70, 70, (x, y) => {
      const u = (x - 35) * c + (y - 35) * s;
      const v = -(x - 35) * s + (y - 35) * c;
      return (u / 24) ** 2 + (v / 12) ** 2 <= 1;
    });
    const { measures } = measureOne(mask, 70, 70);
    assert.ok(Math.abs(measures.eccentricity - expected) < 0.01, `${angle}: ${measures.eccentricity} vs ${expected}`);
  }
});

test('solidity: a square is 1; an L of three 10×10 squares is 300 / its hull’s area', () => {
  assert.equal(
    measureOne(
      shape(20, 20, (x, y) => x > 3 && x < 13 && y > 5 && y < 15),
      20,
      20,
    ).measures.solidity,
    1,
  );
  // The L: x 0–20, y 0–10 and x 0–10, y 10–20 (pixels from 1, 1); its hull cuts the corner
  // from (20, 0)…(20, 10)…(10, 20): the hull is the 20×20 square less the triangle (20,10)(20,20)(10,20).
  const mask = shape(22, 22, (x, y) => x > 1 && y > 1 && ((x < 21 && y < 11) || (x < 11 && y < 21)));
  const hull = 20 * 20 - (10 * 10) / 2;
  assert.ok(Math.abs(measureOne(mask, 22, 22).measures.solidity - 300 / hull) < 1e-12);
  assert.deepEqual(convexHull([0, 0, 2, 0, 1, 1, 2, 2, 0, 2]), [0, 0, 2, 0, 2, 2, 0, 2]);
});

test('µm with a scale and mpp: areas by pixel area, centroid from the slide origin; probability and OD means', () => {
  const width = 30,
    height = 20;
  const mask = shape(width, height, (x, y) => x > 5 && x < 15 && y > 4 && y < 12);
  const probabilities = new Float32Array(width * height);
  const rgb = new Uint8Array(3 * width * height);
  let sumP = 0,
    sumH = 0,
    n = 0;
  for (let i = 0; i < mask.length; i++) {
    probabilities[i] = mask[i] ? 0.5 + (i % 7) / 20 : 0.1;
    rgb.set([60 + (i % 50), 40 + (i % 30), 120 + (i % 40)], 3 * i);
    if (mask[i]) {
      n++;
      sumP += probabilities[i];
      sumH += stainDensity(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]).haematoxylin;
    }
  }
  const instances = cellInstances(mask, width, height, { split: false });
  const placement = maskPlacement(1000, 2000, 2, 2);
  const [m] = measureCells(instances, { placement, mpp: { x: 0.25, y: 0.25 }, probabilities, rgb });
  assert.ok(Math.abs(m.area - n * 0.25) < 1e-9, 'a map pixel is 2×2 level-0 px of 0.25 µm: 0.25 µm²');
  assert.ok(Math.abs(m.centroidX - (1000 + 2 * 10) * 0.25) < 1e-9);
  assert.ok(Math.abs(m.centroidY - (2000 + 2 * 8) * 0.25) < 1e-9);
  assert.ok(Math.abs(m.meanProbability! - sumP / n) < 1e-6);
  assert.ok(Math.abs(m.haematoxylinOd! - sumH / n) < 1e-12);
  const record = measurementRecord(m, true);
  assert.deepEqual(Object.keys(record), [
    'Mask area µm^2',
    'Perimeter µm',
    'Circularity',
    'Eccentricity',
    'Solidity',
    'Centroid X µm',
    'Centroid Y µm',
    'Probability mean',
    'Hematoxylin OD mean',
    'Eosin OD mean',
  ]);
  assert.ok(!('Probability mean' in measurementRecord(measureCells(instances, { placement })[0], false)));
});
