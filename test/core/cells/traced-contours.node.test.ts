import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import { contoursTransfer, traceContours } from '../../../core/cells/traced-contours.js';

const W = 64,
  H = 48;
// Blobs of several sizes (some touching at corners), and a ring with a hole.
const probabilities = Float32Array.from({ length: W * H }, (_, i) => {
  const x = i % W,
    y = Math.floor(i / W);
  const blob = 0.5 + 0.5 * Math.sin(x / 2.3) * Math.cos(y / 1.9);
  const r = Math.hypot(x - 48, y - 30);
  return r < 10 ? (r > 4 ? 0.95 : 0.05) : blob * 0.9;
});

/** Independent reference: 8-connected components of p > t by flood fill, their pixel counts. */
function componentAreas(p: Float32Array, t: number): number[] {
  const seen = new Uint8Array(p.length);
  const areas: number[] = [];
  for (let start = 0; start < p.length; start++) {
    if (seen[start] || !(p[start] > t)) continue;
    let area = 0;
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      area++;
      const x = i % W,
        y = Math.floor(i / W);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx,
            ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
          const j = ny * W + nx;
          if (!seen[j] && p[j] > t) {
            seen[j] = 1;
            stack.push(j);
          }
        }
    }
    areas.push(area);
  }
  return areas;
}

test('traceContours gives the instances of p > threshold (components, touching nuclei split), as cellInstances', () => {
  for (const threshold of [0.3, 0.5, 0.8]) {
    const traced = traceContours(probabilities, W, H, threshold);
    assert.equal(traced.threshold, threshold);
    // The instances partition the components that a flood fill finds.
    const components = componentAreas(probabilities, threshold);
    const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
    assert.equal(sum(traced.cells.map((c) => c.area)), sum(components));
    assert.ok(traced.cells.length >= components.length);
    assert.deepEqual(
      traced.cells,
      cellInstances(probabilities, W, H, { threshold }).cells.map((c) => ({ rings: c.rings, area: c.area })),
    );
  }
  const withHole = traceContours(probabilities, W, H, 0.92).cells;
  assert.ok(
    withHole.some((c) => c.rings.length === 2),
    'the ring keeps its hole',
  );
});

test('with a window, only the owned part’s cells, whole across its open edge', () => {
  const owned = { x: 0, y: 0, width: 32, height: H };
  const traced = traceContours(probabilities, W, H, 0.5, {
    owned,
    openEdges: { left: false, top: false, right: true, bottom: false },
  });
  const all = cellInstances(probabilities, W, H, { threshold: 0.5 });
  assert.ok(traced.cells.length > 0 && traced.cells.length < all.cells.length);
  // Each cell is a whole one of the map's, or (of a blob touching the open edge) cut at x = 32.
  const whole = new Set(all.cells.map((c) => JSON.stringify(c.rings.map((r) => [...r]))));
  let across = 0;
  for (const c of traced.cells) {
    const xs = c.rings[0].filter((_, i) => i % 2 === 0);
    if (Math.max(...xs) > 32) across++;
    assert.ok(whole.has(JSON.stringify(c.rings.map((r) => [...r]))) || Math.max(...xs) <= 32);
  }
  assert.ok(across > 0, 'some cells reach across the seam, whole');
});

test('contoursTransfer names each buffer once, and the cells survive a transfer', () => {
  const traced = traceContours(probabilities, W, H, 0.5);
  const buffers = contoursTransfer(traced);
  assert.equal(new Set(buffers).size, buffers.length);
  const rings = traced.cells.reduce((n, c) => n + c.rings.length, 0);
  assert.ok(buffers.length > 0 && buffers.length <= rings);
  const expected = structuredClone(traced);
  const moved = structuredClone(traced, { transfer: buffers });
  assert.deepEqual(moved, expected);
  assert.equal(traced.cells[0].rings[0].length, 0, 'transferred, not copied');
});
