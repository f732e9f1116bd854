import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capsuleSpans, strokeSegmentSpans } from '../../../core/support-set/brush.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

type Point = readonly [number, number];

/** Brute force: every pixel centre's distance to every segment, and the pixels under the points. */
function referenceStroke(width: number, height: number, points: readonly Point[], size: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const r = size / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      for (let i = 0; i < points.length; i++) {
        const [ax, ay] = points[Math.max(0, i - 1)];
        const [bx, by] = points[i];
        const dx = bx - ax;
        const dy = by - ay;
        const l2 = dx * dx + dy * dy;
        const t = l2 === 0 ? 0 : Math.min(1, Math.max(0, ((px - ax) * dx + (py - ay) * dy) / l2));
        const cx = ax + t * dx - px;
        const cy = ay + t * dy - py;
        if (Math.sqrt(cx * cx + cy * cy) <= r) out[y * width + x] = 1;
      }
    }
  }
  for (const [x, y] of points) {
    const c = Math.floor(x);
    const r0 = Math.floor(y);
    if (c >= 0 && c < width && r0 >= 0 && r0 < height) out[r0 * width + c] = 1;
  }
  return out;
}

function drawStroke(
  width: number,
  height: number,
  points: readonly Point[],
  size: number,
): { mask: Uint8Array; spans: number } {
  const mask = new Uint8Array(width * height);
  let spans = 0;
  points.forEach((p, i) =>
    strokeSegmentSpans(width, height, i === 0 ? null : points[i - 1], p, size, (y, x0, x1) => {
      assert.ok(y >= 0 && y < height && x0 >= 0 && x1 < width && x0 <= x1, `span ${y}: ${x0}…${x1} inside the grid`);
      spans++;
      mask.fill(1, y * width + x0, y * width + x1 + 1);
    }),
  );
  return { mask, spans };
}

function differences(a: Uint8Array, b: Uint8Array, width: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i]) out.push(`(${i % width}, ${Math.floor(i / width)}): got ${a[i]}, reference ${b[i]}`);
  return out;
}

test('random strokes cover exactly the pixels within the radius of the polyline (brute-force reference)', () => {
  const random = new SeededRandom(7);
  const width = 48;
  const height = 40;
  let painted = 0;
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + random.int(6);
    // Points partly off the grid, so clipping is exercised too.
    const points: Point[] = Array.from(
      { length: n },
      () => [random.next() * 70 - 11, random.next() * 60 - 10] as const,
    );
    const size = [0.3, 1, 2.5, 7, 20][trial % 5] * (0.5 + random.next());
    const got = drawStroke(width, height, points, size).mask;
    const want = referenceStroke(width, height, points, size);
    const diff = differences(got, want, width);
    assert.deepEqual(diff, [], `trial ${trial}, size ${size}, points ${JSON.stringify(points)}`);
    painted += want.reduce((s, v) => s + v, 0);
  }
  assert.ok(painted > 10000, `the trials painted something (${painted} pixels)`);
});

test('strokes on exact pixel centres and corners, axis-aligned and diagonal, match the reference at the ties', () => {
  const width = 32;
  const height = 32;
  const cases: { points: Point[]; size: number }[] = [];
  for (const size of [1, 2, 3, 4, 5, 6, 9]) {
    cases.push({ points: [[10.5, 10.5]], size });
    cases.push({ points: [[10, 10]], size });
    cases.push({
      points: [
        [4.5, 8.5],
        [20.5, 8.5],
      ],
      size,
    });
    cases.push({
      points: [
        [8, 4],
        [8, 25],
      ],
      size,
    });
    cases.push({
      points: [
        [3, 3],
        [20, 20],
        [20, 5],
      ],
      size,
    });
    cases.push({
      points: [
        [2.5, 30.5],
        [29.5, 1.5],
      ],
      size,
    });
    cases.push({
      points: [
        [16, 16],
        [16, 16],
      ],
      size,
    });
  }
  for (const { points, size } of cases) {
    const got = drawStroke(width, height, points, size).mask;
    assert.deepEqual(
      differences(got, referenceStroke(width, height, points, size), width),
      [],
      `size ${size}, points ${JSON.stringify(points)}`,
    );
  }
});

test(
  'a single dab of diameter d at a pixel centre is the digital disc, and a thin brush still paints ' +
    'the pixel under the point',
  () => {
    const width = 21;
    const height = 21;
    const { mask } = drawStroke(width, height, [[10.5, 10.5]], 5);
    // Radius 2.5 around a centre: offsets (i, j) with i² + j² ≤ 6.25 — 21 pixels.
    assert.equal(
      mask.reduce((s, v) => s + v, 0),
      21,
    );
    assert.equal(mask[10 * width + 12], 1);
    assert.equal(mask[12 * width + 12], 0);
    const thin = drawStroke(width, height, [[3, 3]], 0.2).mask;
    assert.deepEqual(
      [...thin.keys()].filter((i) => thin[i]),
      [3 * width + 3],
    );
  },
);

test('each row of a capsule is one span, so a large brush costs rows, not pixels', () => {
  let spans = 0;
  const rows = new Set<number>();
  capsuleSpans(256, 256, 20.3, 30.1, 200.7, 180.2, 40, (y) => {
    spans++;
    rows.add(y);
  });
  assert.equal(spans, rows.size);
  assert.ok(spans > 200);
});
