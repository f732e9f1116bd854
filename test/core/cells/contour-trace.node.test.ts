import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelComponents, type Connectivity } from '../../../core/cells/connected-components.js';
import { traceRings } from '../../../core/cells/contour-trace.js';
import { rasterisePolygon } from '../../../core/cells/polygon-raster.js';
import { signedArea } from '../../../core/cells/ring-geometry.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { floodLabels, pairs, randomMask, sampleLabelImages } from './mask-fixtures.js';
import { ringsSimpleAndDisjoint } from './segment-reference.js';

/** Holes by definition: background regions (joined the other way) that do not reach the border. */
function referenceHoleCount(mask: Uint8Array, width: number, height: number, connectivity: Connectivity): number {
  const background = floodLabels(width, height, (i) => mask[i] === 0, connectivity === 8 ? 4 : 8);
  const reachesBorder = new Uint8Array(background.count + 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1)
        reachesBorder[background.labels[y * width + x]] = 1;
    }
  }
  let holes = 0;
  for (let l = 1; l <= background.count; l++) if (!reachesBorder[l]) holes++;
  return holes;
}

function checkExact(
  mask: Uint8Array,
  width: number,
  height: number,
  connectivity: Connectivity,
  label: string,
): { rings: number; holes: number } {
  const components = labelComponents(mask, width, height, connectivity);
  const rings = traceRings(components);
  assert.equal(rings.length, components.count, label);
  let holes = 0;
  let count = 0;
  for (let k = 0; k < rings.length; k++) {
    const own = rings[k];
    assert.ok(own.length >= 1, `${label}: component ${k + 1} has no ring`);
    assert.ok(signedArea(own[0]) > 0, `${label}: component ${k + 1}'s outer ring is not counter-clockwise (y up)`);
    for (let h = 1; h < own.length; h++)
      assert.ok(signedArea(own[h]) < 0, `${label}: component ${k + 1}'s hole ${h} is not clockwise`);
    holes += own.length - 1;
    count += own.length;
    // Rasterised by pixel centre, the rings give back the component, pixel for pixel.
    const raster = new Uint8Array(width * height);
    rasterisePolygon(raster, width, height, own.map(pairs), 1);
    for (let i = 0; i < raster.length; i++) {
      if (raster[i] !== (components.labels[i] === k + 1 ? 1 : 0))
        assert.fail(`${label}: component ${k + 1} rasterises wrongly at (${i % width}, ${Math.floor(i / width)})`);
    }
    // Every vertex is the midpoint of a pixel edge: one coordinate whole, the other half.
    for (const ring of own) {
      for (let i = 0; i < ring.length; i += 2) {
        assert.ok(
          Number.isInteger(ring[i]) !== Number.isInteger(ring[i + 1]) &&
            Number.isInteger(2 * ring[i]) &&
            Number.isInteger(2 * ring[i + 1]),
          `${label}: vertex (${ring[i]}, ${ring[i + 1]})`,
        );
      }
    }
  }
  assert.equal(holes, referenceHoleCount(mask, width, height, connectivity), `${label}: holes`);
  return { rings: count, holes };
}

test(
  'random masks: each component’s rings rasterise back to exactly its pixels; ' +
    'holes as many as enclosed background regions',
  () => {
    const random = new SeededRandom(8);
    let holes = 0,
      rings = 0;
    for (let trial = 0; trial < 250; trial++) {
      const width = 1 + random.int(40);
      const height = 1 + random.int(40);
      const mask = randomMask(random, width, height, [0.2, 0.45, 0.55, 0.7, 0.9][trial % 5], trial % 4);
      for (const connectivity of [8, 4] as const) {
        const r = checkExact(
          mask,
          width,
          height,
          connectivity,
          `trial ${trial} ${width}×${height} ${connectivity}-conn`,
        );
        holes += r.holes;
        rings += r.rings;
      }
    }
    assert.ok(holes > 500 && rings > 10000, `${rings} rings, ${holes} holes: too few to prove much`);
  },
);

test(
  'all rings of a mask are simple and pairwise disjoint, corner contacts included ' +
    '(brute force over all edge pairs)',
  () => {
    const random = new SeededRandom(9);
    for (let trial = 0; trial < 120; trial++) {
      const width = 2 + random.int(14);
      const height = 2 + random.int(14);
      // Around half density, corner-only contacts (saddles) are everywhere.
      const mask = randomMask(random, width, height, 0.5);
      for (const connectivity of [8, 4] as const) {
        const all = traceRings(labelComponents(mask, width, height, connectivity)).flat();
        assert.ok(ringsSimpleAndDisjoint(all), `trial ${trial} ${connectivity}-conn: rings touch or cross`);
      }
    }
  },
);

test(
  'corner contacts: one outline with 8 neighbours, two with 4; a pixel is a diamond; ' + 'a ring of pixels has a hole',
  () => {
    const diagonal = new Uint8Array([1, 0, 0, 1]);
    assert.deepEqual(
      traceRings(labelComponents(diagonal, 2, 2, 8)).map((r) => r.length),
      [1],
    );
    assert.deepEqual(
      traceRings(labelComponents(diagonal, 2, 2, 4)).map((r) => r.length),
      [1, 1],
    );
    // The 8-connected pair: a parallelogram through the shared corner (a neck √2/2 wide).
    const [[neck]] = traceRings(labelComponents(diagonal, 2, 2, 8));
    assert.equal(signedArea(neck), 1.5);
    const [[diamond]] = traceRings(labelComponents(new Uint8Array([0, 0, 0, 0, 1, 0]), 3, 2));
    assert.deepEqual(pairs(diamond).map(String).sort(), ['1,1.5', '1.5,1', '1.5,2', '2,1.5']);
    const donut = new Uint8Array(9).fill(1);
    donut[4] = 0;
    const [own] = traceRings(labelComponents(donut, 3, 3));
    assert.equal(own.length, 2);
    assert.equal(signedArea(own[0]), 9 - 4 / 8);
    assert.equal(signedArea(own[1]), -0.5);
  },
);

test('the sample slide’s nuclei, every class: exact outlines', () => {
  for (const image of sampleLabelImages().slice(0, 3)) {
    for (const cls of [1, 2, 3, 4]) {
      const mask = image.classes.map((c) => (c === cls ? 1 : 0));
      checkExact(mask, image.width, image.height, 8, `${image.name} class ${cls}`);
    }
  }
});
