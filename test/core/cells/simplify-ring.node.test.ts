import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelComponents } from '../../../core/cells/connected-components.js';
import { traceRings } from '../../../core/cells/contour-trace.js';
import { rasterisePolygon } from '../../../core/cells/polygon-raster.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { simplifyRing } from '../../../core/cells/simplify-ring.js';
import { pairs, randomMask } from './mask-fixtures.js';

/** Indices of `kept`'s vertices in `ring`, asserting they appear in order (cyclically). */
function keptIndices(ring: Float64Array, kept: Float64Array): number[] {
  const n = ring.length / 2;
  const out: number[] = [];
  let from = 0;
  for (let k = 0; k < kept.length; k += 2) {
    let found = -1;
    for (let i = from; i < n; i++) {
      if (ring[2 * i] === kept[k] && ring[2 * i + 1] === kept[k + 1]) {
        found = i;
        break;
      }
    }
    assert.ok(found >= 0, `kept vertex (${kept[k]}, ${kept[k + 1]}) is not a later vertex of the input`);
    out.push(found);
    from = found + 1;
  }
  return out;
}

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const sx = bx - ax,
    sy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * sx + (py - ay) * sy) / (sx * sx + sy * sy || 1)));
  return Math.hypot(px - ax - t * sx, py - ay - t * sy);
}

/** Largest distance from a dropped vertex to the simplified edge that replaced it. */
function worstDeviation(ring: Float64Array, kept: number[]): number {
  const n = ring.length / 2;
  let worst = 0;
  for (let k = 0; k < kept.length; k++) {
    const a = kept[k];
    const b = kept[(k + 1) % kept.length];
    for (let i = (a + 1) % n; i !== b; i = (i + 1) % n) {
      worst = Math.max(
        worst,
        distanceToSegment(ring[2 * i], ring[2 * i + 1], ring[2 * a], ring[2 * a + 1], ring[2 * b], ring[2 * b + 1]),
      );
    }
  }
  return worst;
}

function tracedRings(seed: number, count: number): Float64Array[] {
  const random = new SeededRandom(seed);
  const rings: Float64Array[] = [];
  while (rings.length < count) {
    const mask = randomMask(random, 40, 40, 0.15, 3);
    for (const own of traceRings(labelComponents(mask, 40, 40))) rings.push(...own);
  }
  return rings;
}

test(
  'tolerance 0 drops exactly the collinear vertices: same pixels, ' +
    'no vertex on a straight line between its neighbours',
  () => {
    for (const ring of tracedRings(1, 400)) {
      const simple = simplifyRing(ring, 0);
      keptIndices(ring, simple);
      const a = new Uint8Array(42 * 42),
        b = new Uint8Array(42 * 42);
      rasterisePolygon(a, 42, 42, [pairs(ring)], 1);
      rasterisePolygon(b, 42, 42, [pairs(simple)], 1);
      assert.deepEqual(a, b);
      const m = simple.length / 2;
      for (let i = 0; i < m; i++) {
        const p = (i + m - 1) % m,
          q = (i + 1) % m;
        const cross =
          (simple[2 * i] - simple[2 * p]) * (simple[2 * q + 1] - simple[2 * p + 1]) -
          (simple[2 * i + 1] - simple[2 * p + 1]) * (simple[2 * q] - simple[2 * p]);
        assert.notEqual(cross, 0, `vertex ${i} of ${m} is collinear with its neighbours`);
      }
    }
  },
);

test(
  'with a tolerance, every dropped vertex lies within it of the edge that replaced it, ' + 'and fewer vertices remain',
  () => {
    for (const tolerance of [0.3, 0.5, 1, 2.5]) {
      let before = 0,
        after = 0;
      for (const ring of tracedRings(2, 300)) {
        const simple = simplifyRing(ring, tolerance);
        const kept = keptIndices(ring, simple);
        assert.ok(
          worstDeviation(ring, kept) <= tolerance + 1e-12,
          `tolerance ${tolerance}: a dropped vertex lies ${worstDeviation(ring, kept)} away`,
        );
        before += ring.length / 2;
        after += simple.length / 2;
      }
      assert.ok(after < before * 0.8, `tolerance ${tolerance}: ${before} vertices became ${after}`);
    }
  },
);

test(
  'a finely sampled circle: hull-corner anchors kept, deviation bounded, ' + 'vertex count as the sagitta predicts',
  () => {
    const n = 2000,
      r = 100;
    const ring = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      ring[2 * i] = r * Math.cos((2 * Math.PI * i) / n);
      ring[2 * i + 1] = r * Math.sin((2 * Math.PI * i) / n);
    }
    const simple = simplifyRing(ring, 0.5);
    const kept = keptIndices(ring, simple);
    assert.ok(worstDeviation(ring, kept) <= 0.5);
    // A chord of a circle deviates by its sagitta r(1 − cos(θ/2)); within 0.5 px a chord spans at
    // most θ = 2·acos(1 − 0.5/r), so at least 2π/θ ≈ 32 vertices, and Douglas–Peucker's splits
    // keep fewer than twice that.
    const least = Math.ceil((2 * Math.PI) / (2 * Math.acos(1 - 0.5 / r)));
    assert.ok(
      simple.length / 2 >= least && simple.length / 2 < 2 * least,
      `${simple.length / 2} vertices, expected ${least}…${2 * least}`,
    );
    // The leftmost vertex (index n/2, at angle π) is an anchor.
    assert.ok(kept.includes(n / 2));
  },
);

test('tiny rings pass through; bad tolerances are refused', () => {
  const triangle = new Float64Array([0, 0, 1, 0, 0, 1]);
  assert.deepEqual(simplifyRing(triangle, 5), triangle);
  assert.throws(() => simplifyRing(triangle, -1), /tolerance/);
  assert.throws(() => simplifyRing(triangle, Number.NaN), /tolerance/);
  assert.throws(() => simplifyRing(new Float64Array(5), 1), /even/);
});
