import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidPolygon } from '../../../core/cells/polygon-validity.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { ringsSimpleAndDisjoint } from './segment-reference.js';

// The reference: all edge pairs compared exactly (segment-reference.ts), orientation by the
// shoelace formula, and containment by the winding number, computed here from scratch.
function twiceArea(ring: Float64Array): number {
  let s = 0;
  for (let i = 0; i < ring.length; i += 2) {
    const j = (i + 2) % ring.length;
    s += ring[i] * ring[j + 1] - ring[j] * ring[i + 1];
  }
  return s;
}

function winding(ring: Float64Array, x: number, y: number): number {
  let w = 0;
  for (let i = 0; i < ring.length; i += 2) {
    const j = (i + 2) % ring.length;
    const [ax, ay, bx, by] = [ring[i], ring[i + 1], ring[j], ring[j + 1]];
    const cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    if (ay <= y && by > y && cross > 0) w++;
    else if (ay > y && by <= y && cross < 0) w--;
  }
  return w;
}

function reference(rings: Float64Array[]): boolean {
  if (rings.some((r) => r.length < 6)) return false;
  if (!(twiceArea(rings[0]) > 0) || rings.slice(1).some((h) => !(twiceArea(h) < 0))) return false;
  if (!ringsSimpleAndDisjoint(rings)) return false;
  for (let h = 1; h < rings.length; h++) {
    if (winding(rings[0], rings[h][0], rings[h][1]) === 0) return false;
    for (let g = 1; g < rings.length; g++)
      if (g !== h && winding(rings[g], rings[h][0], rings[h][1]) !== 0) return false;
  }
  return true;
}

/** A star-shaped ring (simple when radii stay positive), snapped to quarters so contacts happen. */
function star(
  random: SeededRandom,
  cx: number,
  cy: number,
  radius: number,
  n: number,
  clockwise: boolean,
): Float64Array {
  const ring = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const angle = ((clockwise ? -1 : 1) * 2 * Math.PI * i) / n;
    const r = radius * (0.5 + 0.5 * random.next());
    ring[2 * i] = Math.round((cx + r * Math.cos(angle)) * 4) / 4;
    ring[2 * i + 1] = Math.round((cy + r * Math.sin(angle)) * 4) / 4;
  }
  return ring;
}

test(
  'random polygons with holes, many of them invalid in every way: ' + 'the same verdict as the brute-force reference',
  () => {
    const random = new SeededRandom(17);
    let valid = 0,
      invalid = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const rings = [star(random, 0, 0, 6, 3 + random.int(12), trial % 17 === 0)];
      const holes = random.int(4);
      for (let h = 0; h < holes; h++)
        rings.push(
          star(
            random,
            random.next() * 8 - 4,
            random.next() * 8 - 4,
            0.5 + random.next() * 2.5,
            3 + random.int(6),
            trial % 13 !== 0,
          ),
        );
      if (trial % 7 === 0) {
        // A random vertex dragged somewhere: self-crossings, touches and spikes.
        const ring = rings[random.int(rings.length)];
        const v = random.int(ring.length / 2);
        ring[2 * v] = Math.round((random.next() * 16 - 8) * 4) / 4;
        ring[2 * v + 1] = Math.round((random.next() * 16 - 8) * 4) / 4;
      }
      if (trial % 11 === 0) {
        // A vertex moved onto another: a zero-length edge or a ring touching itself.
        const ring = rings[0];
        const v = random.int(ring.length / 2),
          w = random.int(ring.length / 2);
        ring[2 * v] = ring[2 * w];
        ring[2 * v + 1] = ring[2 * w + 1];
      }
      const expected = reference(rings);
      assert.equal(
        isValidPolygon(rings),
        expected,
        `trial ${trial}: ${JSON.stringify(rings.map((r) => Array.from(r)))}`,
      );
      if (expected) valid++;
      else invalid++;
    }
    assert.ok(valid > 300 && invalid > 300, `${valid} valid, ${invalid} invalid: both kinds must be common`);
  },
);

test('hand-made cases: touching at a vertex, a hole outside, nested holes, a spike', () => {
  const square = new Float64Array([0, 0, 4, 0, 4, 4, 0, 4]);
  assert.equal(isValidPolygon([square]), true);
  assert.equal(isValidPolygon([new Float64Array([0, 0, 0, 4, 4, 4, 4, 0])]), false, 'clockwise outer ring');
  const hole = new Float64Array([1, 1, 1, 2, 2, 2, 2, 1]);
  assert.equal(isValidPolygon([square, hole]), true);
  assert.equal(isValidPolygon([square, new Float64Array([5, 1, 5, 2, 6, 2, 6, 1])]), false, 'hole outside');
  assert.equal(
    isValidPolygon([square, new Float64Array([0.5, 0.5, 0.5, 3.5, 3.5, 3.5, 3.5, 0.5]), hole]),
    false,
    'hole in a hole',
  );
  assert.equal(isValidPolygon([square, new Float64Array([0, 1, 1, 2, 1, 1])]), false, 'hole touching the outer ring');
  assert.equal(isValidPolygon([new Float64Array([0, 0, 4, 0, 2, 0, 2, 3])]), false, 'edge folding back');
  assert.equal(isValidPolygon([new Float64Array([0, 0, 2, 0, 2, 2, 1, 0, 0, 2])]), false, 'vertex touching an edge');
  assert.equal(isValidPolygon([]), false);
});
