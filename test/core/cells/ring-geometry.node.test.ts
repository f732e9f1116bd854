import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rasterisePolygon } from '../../../core/cells/polygon-raster.js';
import { pointInRing, ringLength, signedArea } from '../../../core/cells/ring-geometry.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { pairs } from './mask-fixtures.js';

function star(random: SeededRandom, n: number, clockwise: boolean): Float64Array {
  const ring = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const angle = ((clockwise ? -1 : 1) * 2 * Math.PI * i) / n;
    const r = 5 + 10 * random.next();
    ring[2 * i] = 16 + r * Math.cos(angle);
    ring[2 * i + 1] = 16 + r * Math.sin(angle);
  }
  return ring;
}

test(
  'signed area of star-shaped rings equals the fan of triangles around their centre, ' +
    'with the sign of the direction',
  () => {
    const random = new SeededRandom(40);
    for (let trial = 0; trial < 200; trial++) {
      const clockwise = trial % 2 === 1;
      const ring = star(random, 3 + random.int(30), clockwise);
      let fan = 0;
      for (let i = 0; i < ring.length; i += 2) {
        const j = (i + 2) % ring.length;
        fan += Math.abs((ring[i] - 16) * (ring[j + 1] - 16) - (ring[j] - 16) * (ring[i + 1] - 16)) / 2;
      }
      const area = signedArea(ring);
      assert.ok(Math.abs(Math.abs(area) - fan) < 1e-9 * fan, `trial ${trial}: ${area} vs ${fan}`);
      // Counter-clockwise with y up is the increasing-angle direction here.
      assert.equal(area > 0, !clockwise);
    }
  },
);

test('point in ring agrees with the scanline rasteriser at every pixel centre', () => {
  const random = new SeededRandom(41);
  for (let trial = 0; trial < 50; trial++) {
    const ring = star(random, 3 + random.int(20), trial % 2 === 0);
    const mask = new Uint8Array(32 * 32);
    rasterisePolygon(mask, 32, 32, [pairs(ring)], 1);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++)
        assert.equal(pointInRing(ring, x + 0.5, y + 0.5), mask[y * 32 + x] === 1, `trial ${trial} (${x}, ${y})`);
  }
});

test('ring length closes the ring and scales each axis separately', () => {
  const rect = new Float64Array([0, 0, 3, 0, 3, 2, 0, 2]);
  assert.equal(ringLength(rect), 10);
  assert.equal(ringLength(rect, 2, 0.5), 2 * 3 * 2 + 2 * 2 * 0.5);
  assert.equal(ringLength(new Float64Array([0, 0, 3, 4, 0, 4])), 5 + 3 + 4);
});
