import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockReadPixels, growBlock, maxBlockTiles } from '../../../core/inference/tile-block.js';
import { boundsOf } from '../../../core/inference/patch-grid.js';
import { tileAt } from '../../../core/inference/tile-set.js';
import type { Rect } from '../../../core/math/rect.js';

// An image of 10×7 tiles of 100 px, the last column and row clipped (950×630).
const IMAGE = { width: 950, height: 630 };
const T = 100;
const grid = (cols: number[], rows: number[]) => rows.flatMap((ty) => cols.map((tx) => tileAt(IMAGE, T, tx, ty)));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** Whether `tiles` fill their bounding rectangle exactly, none overlapping. */
function fillsRectangle(tiles: readonly Rect[]): boolean {
  const box = boundsOf(tiles);
  const area = tiles.reduce((s, t) => s + t.width * t.height, 0);
  return area === box.width * box.height;
}

test('a block grows from its seed to a full rectangle within the tile and read limits', () => {
  const seed = tileAt(IMAGE, T, 4, 3);
  const candidates = grid(range(0, 10), range(0, 7)).filter((t) => t.x !== seed.x || t.y !== seed.y);
  for (const [maxTiles, maxReadPixels] of [
    [6, 1e9],
    [100, 350 * 250],
    [4, 1e9],
    [100, 1e9],
    [1, 1e9],
  ]) {
    const picked = growBlock(seed, candidates, { maxTiles, maxReadPixels, margin: 25 });
    const tiles = [seed, ...picked.map((i) => candidates[i])];
    assert.equal(new Set(picked).size, picked.length, 'no tile twice');
    assert.ok(tiles.length <= maxTiles, `${tiles.length} tiles, at most ${maxTiles}`);
    assert.ok(fillsRectangle(tiles), `a full rectangle (${maxTiles}, ${maxReadPixels})`);
    assert.ok(blockReadPixels(boundsOf(tiles), 25) <= maxReadPixels);
  }
  // Enough room: the whole image is one block, its clipped last column and row included.
  const all = growBlock(seed, candidates, { maxTiles: 100, maxReadPixels: 1e9, margin: 25 });
  assert.equal(all.length, candidates.length);
  // A 350×250 read at margin 25 holds 3×2 tiles: the most tiles per read pixel it allows.
  const small = growBlock(seed, candidates, { maxTiles: 100, maxReadPixels: 350 * 250, margin: 25 });
  assert.equal(small.length + 1, 6);
});

test('a block never takes a strip with a gap, nor one that overhangs its side', () => {
  const seed = tileAt(IMAGE, T, 1, 1);
  // Right of the seed only (2,1); below, (1,2) and (2,2) but the seed's row has (0,1) missing on the left.
  const candidates = [tileAt(IMAGE, T, 2, 1), tileAt(IMAGE, T, 1, 2), tileAt(IMAGE, T, 0, 2)];
  const picked = growBlock(seed, candidates, { maxTiles: 100, maxReadPixels: 1e9, margin: 10 });
  const tiles = [seed, ...picked.map((i) => candidates[i])];
  assert.ok(fillsRectangle(tiles));
  // 2×1 or 1×2: a 2×2 would need (2,2), an L shape is no rectangle.
  assert.equal(tiles.length, 2);
  // A tile of another size (a finer grid's) next to the seed does not join it.
  assert.deepEqual(
    growBlock(seed, [{ x: 200, y: 100, width: 50, height: 50 }], { maxTiles: 9, maxReadPixels: 1e9, margin: 0 }),
    [],
  );
  // Nothing fits beside the seed: it runs alone.
  assert.deepEqual(growBlock(seed, candidates, { maxTiles: 100, maxReadPixels: 150 * 150, margin: 25 }), []);
});

test('the most tiles a block holds under a read limit (512² tiles, margin 125: 3×2 under 2.5 MP)', () => {
  assert.equal(maxBlockTiles(512, 125, 2.5e6), 6);
  assert.equal(maxBlockTiles(512, 125, 3.2e6), 9);
  assert.equal(maxBlockTiles(512, 125, 0), 1);
  assert.equal(maxBlockTiles(256, 125, 2.5e6), 25);
});
