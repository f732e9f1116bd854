import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rasterisePolygon, type PolygonRing } from '../../../core/cells/polygon-raster.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

// Independent reference: the crossing-number test (PNPOLY) at every pixel centre, over every edge
// of every ring, with the ray cast to the right (a centre exactly on an edge is inside when the
// edge is to its left, outside when to its right).
function bruteForce(width: number, height: number, rings: readonly PolygonRing[]): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const yc = y + 0.5;
    for (let x = 0; x < width; x++) {
      const xc = x + 0.5;
      let inside = false;
      for (const ring of rings) {
        for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
          const [xi, yi] = ring[i];
          const [xj, yj] = ring[j];
          if (yi > yc !== yj > yc && xc < ((xj - xi) * (yc - yi)) / (yj - yi) + xi) inside = !inside;
        }
      }
      out[y * width + x] = inside ? 1 : 0;
    }
  }
  return out;
}

function randomRing(
  random: SeededRandom,
  width: number,
  height: number,
  snap: number,
  vertices: number,
): [number, number][] {
  const ring: [number, number][] = [];
  // Some vertices fall outside the mask on purpose, to exercise clipping.
  for (let i = 0; i < vertices; i++) {
    const x = -8 + random.next() * (width + 16);
    const y = -8 + random.next() * (height + 16);
    ring.push(snap > 0 ? [Math.round(x / snap) * snap, Math.round(y / snap) * snap] : [x, y]);
  }
  return ring;
}

function starRing(random: SeededRandom, cx: number, cy: number, radius: number, vertices: number): [number, number][] {
  const ring: [number, number][] = [];
  for (let i = 0; i < vertices; i++) {
    const angle = (2 * Math.PI * i) / vertices;
    const r = radius * (0.4 + 0.6 * random.next());
    ring.push([cx + r * Math.cos(angle), cy + r * Math.sin(angle)]);
  }
  return ring;
}

test(
  'random self-intersecting multi-ring polygons ' + 'match the brute-force point-in-polygon reference, ties included',
  () => {
    const random = new SeededRandom(11);
    let filled = 0;
    for (let trial = 0; trial < 400; trial++) {
      const width = 1 + random.int(40);
      const height = 1 + random.int(40);
      // Snapped to 0.5 or 1, many crossings land exactly on pixel centres; unsnapped, none do.
      const snap = [0, 0.5, 1, 0.25][trial % 4];
      const rings = Array.from({ length: 1 + random.int(3) }, () =>
        randomRing(random, width, height, snap, 3 + random.int(9)),
      );
      const mask = new Uint8Array(width * height);
      rasterisePolygon(mask, width, height, rings, 1);
      const expected = bruteForce(width, height, rings);
      for (let i = 0; i < mask.length; i++) {
        if (mask[i] !== expected[i])
          assert.fail(
            `trial ${trial} (${width}×${height}, snap ${snap}): pixel (${i % width}, ${Math.floor(i / width)}) ` +
              `is ${mask[i]}, reference ${expected[i]}; rings ${JSON.stringify(rings)}`,
          );
      }
      filled += expected.reduce((s, v) => s + v, 0);
    }
    assert.ok(filled > 10000, `the random polygons covered only ${filled} pixels; the test would prove little`);
  },
);

test('star-shaped rings with star-shaped holes match the reference', () => {
  const random = new SeededRandom(5);
  for (let trial = 0; trial < 60; trial++) {
    const outer = starRing(random, 32, 30, 28, 5 + random.int(60));
    const hole = starRing(random, 32, 30, 10, 3 + random.int(20)).reverse();
    const mask = new Uint8Array(64 * 60);
    rasterisePolygon(mask, 64, 60, [outer, hole], 1);
    assert.deepEqual(mask, bruteForce(64, 60, [outer, hole]), `trial ${trial}`);
    assert.equal(mask[30 * 64 + 32], 0, 'the centre lies in the hole');
  }
});

test('a square with a square hole, in pixel-corner coordinates, fills exactly the pixels between them', () => {
  const mask = new Uint8Array(8 * 8);
  rasterisePolygon(
    mask,
    8,
    8,
    [
      [
        [1, 1],
        [7, 1],
        [7, 6],
        [1, 6],
      ],
      [
        [3, 2],
        [3, 4],
        [5, 4],
        [5, 2],
      ],
    ],
    9,
  );
  const rows = [];
  for (let y = 0; y < 8; y++) rows.push(Array.from(mask.subarray(y * 8, y * 8 + 8), (v) => (v ? '#' : '.')).join(''));
  assert.deepEqual(rows, [
    '........',
    '.######.',
    '.##..##.',
    '.##..##.',
    '.######.',
    '.######.',
    '........',
    '........',
  ]);
});

test('polygons sharing edges tile the plane: every pixel is claimed exactly once', () => {
  // A fan of triangles around an interior point, with vertices on and off the pixel grid.
  const random = new SeededRandom(3);
  for (let trial = 0; trial < 50; trial++) {
    const size = 24;
    const centre: [number, number] = [size / 2 + random.next() * 4 - 2, size / 2 + (trial % 2 ? 0.5 : random.next())];
    const boundary: [number, number][] = [
      [-1, -1],
      [size / 2, -1],
      [size + 1, -1],
      [size + 1, size / 2],
      [size + 1, size + 1],
      [size / 2 + 0.5, size + 1],
      [-1, size + 1],
      [-1, size / 2],
    ];
    const count = new Uint8Array(size * size);
    for (let i = 0; i < boundary.length; i++) {
      const mask = new Uint8Array(size * size);
      rasterisePolygon(mask, size, size, [[centre, boundary[i], boundary[(i + 1) % boundary.length]]], 1);
      for (let k = 0; k < mask.length; k++) count[k] += mask[k];
    }
    assert.ok(
      count.every((c) => c === 1),
      `trial ${trial}: some pixel claimed ${Math.max(...count)} or ${Math.min(...count)} times`,
    );
  }
});

test('only covered pixels change, to the value given; closed rings (last = first) are fine', () => {
  const mask = new Uint8Array(6 * 4).fill(7);
  rasterisePolygon(
    mask,
    6,
    4,
    [
      [
        [0, 0],
        [2, 0],
        [2, 2],
        [0, 2],
        [0, 0],
      ],
    ],
    200,
  );
  assert.deepEqual(Array.from(mask), [200, 200, 7, 7, 7, 7, 200, 200, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
  rasterisePolygon(mask, 6, 4, [], 1);
  rasterisePolygon(
    mask,
    6,
    4,
    [
      [
        [1, 1],
        [5, 1],
      ],
    ],
    1,
  );
  assert.equal(mask.filter((v) => v === 1).length, 0, 'empty and degenerate polygons fill nothing');
});

test('a mask of the wrong size and non-finite vertices are refused', () => {
  assert.throws(() => rasterisePolygon(new Uint8Array(10), 4, 4, [], 1), /16/);
  assert.throws(
    () =>
      rasterisePolygon(
        new Uint8Array(16),
        4,
        4,
        [
          [
            [0, 0],
            [Number.NaN, 2],
            [3, 3],
          ],
        ],
        1,
      ),
    /finite/,
  );
});
