import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fnv1a,
  gridKey,
  headKey,
  patchKey,
  patchMemoScope,
  pixelsKey,
  tileCacheKey,
  tileKey,
  tileOfKey,
} from '../../../core/inference/keys.js';
import type { Rect } from '../../../core/math/rect.js';
import type { Tiling } from '../../../core/inference/tiling.js';

const grids = [
  { level: 0, width: 1000, height: 800 },
  { level: 1, width: 1000, height: 800 },
  { level: 0, width: 1000, height: 801 },
  { level: 0, width: 10, height: 100800 },
  { level: 0, width: 101, height: 800 },
];
const rects: Rect[] = [
  { x: 0, y: 0, width: 512, height: 512 },
  { x: 512, y: 0, width: 512, height: 512 },
  { x: 0, y: 512, width: 512, height: 512 },
  { x: 0, y: 0, width: 51, height: 2512 },
  { x: 0, y: 0, width: 512, height: 288 },
];

/** Asserts the function gives one key per input, and the same key when asked again. */
function assertDistinctAndStable<T>(inputs: readonly T[], key: (input: T) => string): void {
  const keys = inputs.map(key);
  const byKey = new Map<string, T>();
  for (const [i, k] of keys.entries()) {
    const other = byKey.get(k);
    assert.equal(other, undefined, `${JSON.stringify(inputs[i])} and ${JSON.stringify(other)} share the key ${k}`);
    byKey.set(k, inputs[i]);
  }
  assert.deepEqual(inputs.map(key), keys, 'asked again, every input gives its key again');
}

test('tile keys keep their stored form and name one tile of one grid each', () => {
  // Stored in resume state and overlay stores: this form must never change.
  assert.equal(gridKey(grids[0]), '0:1000x800');
  assert.equal(tileKey(grids[0], rects[1]), '0:1000x800/512,0,512,512');
  const pairs = grids.flatMap((grid) => rects.map((tile) => ({ grid, tile })));
  assertDistinctAndStable(pairs, ({ grid, tile }) => tileKey(grid, tile));
  for (const { grid, tile } of pairs) {
    assert.deepEqual(tileOfKey(grid, tileKey(grid, tile)), tile);
    for (const other of grids) if (other !== grid) assert.equal(tileOfKey(other, tileKey(grid, tile)), undefined);
  }
  for (const bad of [
    '0:1000x800',
    '0:1000x800/1,2,3',
    '0:1000x800/1,2,3,x',
    '0:1000x800/1,2,3,4,5',
    '0:1000x800/-1,2,3,4',
  ]) {
    assert.equal(tileOfKey(grids[0], bad), undefined, bad);
  }
});

test('pixels keys tell a level from a grid of that level', () => {
  const targets = [{ level: 0 }, { level: 1 }, ...grids.map((inference) => ({ inference }))];
  assertDistinctAndStable(targets, pixelsKey);
  assert.throws(() => pixelsKey({}), TypeError);
});

test('tile cache keys differ in every field, free-text extractor keys included', () => {
  const base = {
    slide: 1,
    target: { level: 0 } as const,
    tile: rects[0],
    extractors: 'url:a',
    head: '5:0123abcd',
    tiling: 'patches' as Tiling,
  };
  const inputs = [
    base,
    { ...base, tiling: 'whole' as Tiling },
    { ...base, slide: 2 },
    { ...base, target: { inference: grids[0] } },
    { ...base, target: { inference: grids[1] } },
    ...rects.slice(1).map((tile) => ({ ...base, tile })),
    { ...base, head: '5:0123abce' },
    { ...base, patchGrid: { patchSize: 64 } },
    { ...base, patchGrid: { stride: 64 } },
    { ...base, patchGrid: { patchSize: 64, stride: 16 } },
    { ...base, patchGrid: { patchSize: 16, stride: 64 } },
    // Separators inside the one free-text field cannot make two requests one key.
    { ...base, extractors: 'url:a|5:0123abcd' },
    { ...base, extractors: 'url:a","5:0123abcd' },
    { ...base, extractors: 'url:a', head: '5:0123abcd|' },
  ];
  assertDistinctAndStable(inputs, tileCacheKey);
  // Unset patch grid fields are the defaults whatever way they are unset.
  assert.equal(tileCacheKey({ ...base, patchGrid: {} }), tileCacheKey(base));
  // A whole-forward tile has no patch grid: the pool's grid option does not split its key.
  const whole = { ...base, tiling: 'whole' as Tiling };
  assert.equal(tileCacheKey({ ...whole, patchGrid: { patchSize: 64, stride: 16 } }), tileCacheKey(whole));
});

test('patch memo scopes and patch keys name one patch of one slide’s pixels under one patch grid', () => {
  const scopes = [
    { slideId: 1, target: { level: 0 } },
    { slideId: 2, target: { level: 0 } },
    { slideId: 1, target: { level: 1 } },
    { slideId: 1, target: { inference: grids[0] } },
    { slideId: 1, target: { inference: grids[2] } },
    { slideId: 1, target: { level: 0 }, patchGrid: { patchSize: 64 } },
    { slideId: 1, target: { level: 0 }, patchGrid: { stride: 64 } },
  ];
  assertDistinctAndStable(scopes, patchMemoScope);
  const patches = scopes.flatMap((scope) => rects.map((patch) => ({ scope: patchMemoScope(scope), patch })));
  assertDistinctAndStable(patches, ({ scope, patch }) => patchKey(scope, patch));
});

test('head keys: equal weights give one key, any changed weight another', () => {
  const W = [0.8, -0.5, 0.3, 0.6, -0.9];
  assert.equal(headKey(W, -0.1), headKey(Float64Array.from(W), -0.1), 'a typed array of the same weights');
  assert.match(headKey(W, -0.1), /^5:[0-9a-f]{8}$/);
  const heads = [
    { W, b: -0.1 },
    { W, b: 0.1 },
    { W: [...W.slice(0, 4), -0.8], b: -0.1 },
    { W: [W[1], W[0], ...W.slice(2)], b: -0.1 },
    { W: W.slice(0, 4), b: -0.1 },
    { W: [...W, 0], b: -0.1 },
  ];
  assertDistinctAndStable(heads, ({ W, b }) => headKey(W, b));
  // FNV-1a's published test vectors (32-bit).
  assert.equal(fnv1a(''), '811c9dc5');
  assert.equal(fnv1a('a'), 'e40c292c');
  assert.equal(fnv1a('foobar'), 'bf9cf968');
});
