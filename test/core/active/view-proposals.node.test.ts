import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proposeWindows, viewCandidates } from '../../../core/active/view-proposals.js';
import type { ResultTile } from '../../../core/session/result-tiles.js';

// Two finished 512² tiles side by side. Tile A (x 0…512) is confident background (p = 0.05) but
// for an uncertain block at p = ½ over its top-right 256²; tile B (x 512…1024) likely class,
// p = 0.7, over its bottom-left 256². Benefits (mean u·p, u = binary entropy in bits):
// block A 0.5 · 1 = 0.5; block B 0.7 · H(0.7) = 0.6170; background 0.05 · H(0.05) = 0.0143.
function tile(x: number, block: { x: number; y: number; p: number }): ResultTile {
  const probabilities = new Float32Array(512 * 512).fill(0.05);
  for (let r = block.y; r < block.y + 256; r++) probabilities.fill(block.p, r * 512 + block.x, r * 512 + block.x + 256);
  const rect = { x, y: 0, width: 512, height: 512 };
  return { key: `t${x}`, tile: rect, level0: rect, megapixels: 0.26, probabilities };
}
const tiles = [tile(0, { x: 256, y: 0, p: 0.5 }), tile(512, { x: 0, y: 256, p: 0.7 })];
const area = { x: 0, y: 0, width: 1024, height: 512 };
const H = (q: number) => -(q * Math.log2(q) + (1 - q) * Math.log2(1 - q));
const at = (r: { window: { x: number; y: number } }) => `${r.window.x},${r.window.y}`;

test('the view’s best window is where the class is likely and uncertain; skip shows another place', () => {
  const ranked = proposeWindows({ tiles, area, placed: [] });
  assert.deepEqual(ranked.slice(0, 2).map(at), ['512,256', '256,0']);
  assert.ok(Math.abs(ranked[0].benefit - 0.7 * H(0.7)) < 1e-6);
  assert.ok(Math.abs(ranked[1].benefit - 0.5) < 1e-6);
  // Nothing overlapping a better window by more than a quarter, and every window in one tile.
  for (const r of ranked) {
    assert.ok(r.window.x % 512 <= 256 && r.window.y <= 256, `${at(r)} crosses a tile seam`);
  }
  assert.equal(new Set(ranked.map(at)).size, ranked.length);
});

test('a placed patch, the area, an uncertainty map and feature-space closeness each move the proposal', () => {
  // On the best window already: never proposed again.
  const placed = [{ x: 512, y: 256, width: 256, height: 256 }];
  assert.equal(at(proposeWindows({ tiles, area, placed })[0]), '256,0');
  // Only the left half in view.
  const left = proposeWindows({ tiles, area: { x: 0, y: 0, width: 512, height: 512 }, placed: [] });
  assert.ok(left.every((r) => r.window.x + 256 <= 512));
  assert.equal(at(left[0]), '256,0');
  // An ensemble that is sure about tile B.
  const sureOfB = (t: ResultTile) => new Float32Array(t.probabilities.length).fill(t.tile.x === 512 ? 0 : 1);
  const byEnsemble = proposeWindows({ tiles, area, placed: [], uncertainty: sureOfB });
  assert.equal(at(byEnsemble[0]), '256,0');
  // Tile B's windows look like a patch placed there (distance 0 in feature space): diversity 0.
  const describe = (w: { x: number }) => Float32Array.from([w.x >= 512 ? 1 : 0]);
  const nearPatch = proposeWindows({
    tiles,
    area,
    placed: [{ x: 768, y: 0, width: 256, height: 256 }],
    descriptor: describe,
    limit: 3,
  });
  assert.equal(at(nearPatch[0]), '256,0');
  assert.ok(nearPatch.every((r) => r.window.x < 512 || r.score === 0));
});

test('diversity needs every descriptor: with one unknown, benefit alone; with all, distances in z-scores', () => {
  // Descriptors by column: windows of tile B (x ≥ 512) at 1, tile A's at 0, and a patch placed
  // at (768, 256) — tile B's bottom right, overlapping no candidate by more than a quarter — at 1.
  const placed = [{ x: 768, y: 256, width: 256, height: 256 }];
  const byBenefit = proposeWindows({ tiles, area, placed });
  const value = (w: { x: number }) => (w.x >= 512 ? 1 : 0);
  const partly = proposeWindows({
    tiles,
    area,
    placed,
    descriptor: (w) => (w.x === 256 && w.y === 0 ? undefined : Float32Array.from([value(w)])),
  });
  assert.deepEqual(partly.map(at), byBenefit.map(at), 'one descriptor unknown: ranked as without any');
  assert.ok(partly.every((r) => r.distance === Infinity));
  const ranked = proposeWindows({ tiles, area, placed, descriptor: (w) => Float32Array.from([value(w)]) });
  // Reference: z-scores of the column over candidates and the placed patch, by hand.
  const candidates = viewCandidates({ tiles, area, placed });
  assert.ok(candidates.length > ranked.length, 'some left out for overlapping better ones');
  const values = [...candidates.map((c) => value(c.window)), 1];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  // Greedy: a window's distance is to the placed patch and to every window ranked above it.
  ranked.forEach((r, k) => {
    const seen = [1, ...ranked.slice(0, k).map((q) => value(q.window))];
    const expected = Math.min(...seen.map((v) => Math.abs(value(r.window) - v))) / sd;
    assert.ok(Math.abs(r.distance - expected) < 1e-5, `${at(r)}: ${r.distance} vs ${expected}`);
  });
  // Tile A's uncertain block comes first, at 1 / sd; tile B's windows (d = 0) score 0.
  assert.equal(at(ranked[0]), '256,0');
  assert.ok(Math.abs(ranked[0].distance - 1 / sd) < 1e-5);
  assert.ok(ranked.filter((r) => r.window.x >= 512).every((r) => r.score === 0));
});
