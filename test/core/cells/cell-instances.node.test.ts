import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import { cellContours } from '../../../core/cells/cell-contours.js';
import { rasterisePolygon } from '../../../core/cells/polygon-raster.js';
import { pairs } from './mask-fixtures.js';

const W = 200;
const H = 100;

/** A probability map with blobs: two touching nuclei across the seam at x = 100, one nucleus each side. */
function slideMap(): Float32Array {
  const discs = [
    { x: 92, y: 50, r: 11 },
    { x: 112, y: 52, r: 10 },
    { x: 30, y: 30, r: 9 },
    { x: 160, y: 70, r: 8 },
    { x: 100, y: 12, r: 7 },
  ];
  const map = new Float32Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (discs.some((d) => (x + 0.5 - d.x) ** 2 + (y + 0.5 - d.y) ** 2 <= d.r * d.r)) map[y * W + x] = 0.9;
  return map;
}

/** The columns [x0, x1) of the map; NaN outside `known` columns. */
function windowOf(map: Float32Array, x0: number, x1: number, known: [number, number] = [0, W]): Float32Array {
  const out = new Float32Array((x1 - x0) * H);
  for (let y = 0; y < H; y++)
    for (let x = x0; x < x1; x++) out[y * (x1 - x0) + x - x0] = x >= known[0] && x < known[1] ? map[y * W + x] : NaN;
  return out;
}

const key = (rings: readonly Float64Array[], dx: number) =>
  JSON.stringify(rings.map((r) => [...r].map((v, i) => (i % 2 === 0 ? v + dx : v))));

test('two tiles with 40 px margins give the cells of the whole map, each once: the cell across the seam whole', () => {
  const map = slideMap();
  const whole = cellInstances(map, W, H);
  assert.equal(whole.cells.length, 5);
  const margin = 40;
  // Tile A is x 0–100 (the slide's left edge), tile B x 100–200 (its right edge).
  const a = cellInstances(windowOf(map, 0, 100 + margin), 100 + margin, H, {
    owned: { x: 0, y: 0, width: 100, height: H },
    openEdges: { right: true },
  });
  const b = cellInstances(windowOf(map, 100 - margin, W), 100 + margin, H, {
    owned: { x: margin, y: 0, width: 100, height: H },
    openEdges: { left: true },
  });
  const fromTiles = [...a.cells.map((c) => key(c.rings, 0)), ...b.cells.map((c) => key(c.rings, 100 - margin))];
  assert.deepEqual(fromTiles.sort(), whole.cells.map((c) => key(c.rings, 0)).sort());
  // A blob goes to the tile of its first pixel, both its nuclei with it: the touching pair and the
  // small disc on the seam start in A (x < 100), so A has 4 and B its own nucleus.
  assert.equal(a.cells.length, 4);
  assert.equal(b.cells.length, 1);
  assert.ok(
    a.cells.some((c) => c.bounds.x + c.bounds.width > 100),
    'A keeps a cell reaching into B',
  );
});

test('with the neighbour not computed (NaN), a cell crossing the seam is cut there; labels match the cells', () => {
  const map = slideMap();
  const a = cellInstances(windowOf(map, 0, 140, [0, 100]), 140, H, {
    owned: { x: 0, y: 0, width: 100, height: H },
  });
  for (const c of a.cells) assert.ok(c.bounds.x + c.bounds.width <= 100, `cell ${c.label} leaves the tile`);
  // The cut pieces are what connected components of the tile alone give, split: 2 + the whole disc.
  assert.equal(a.cells.length, 3);
  // Each cell's exact polygon rasterises to exactly its pixels in `labels`.
  const exact = cellInstances(windowOf(map, 0, 140, [0, 100]), 140, H, {
    owned: { x: 0, y: 0, width: 100, height: H },
    tolerance: 0,
  });
  for (const c of exact.cells) {
    const raster = new Uint8Array(140 * H);
    rasterisePolygon(raster, 140, H, c.rings.map(pairs), 1);
    for (let i = 0; i < raster.length; i++) assert.equal(raster[i] === 1, exact.labels[i] === c.label);
  }
});

test('split: false gives cellContours’ components; minArea drops small instances', () => {
  const map = slideMap();
  const plain = cellInstances(map, W, H, { split: false });
  const components = cellContours(map, W, H);
  assert.deepEqual(
    plain.cells.map((c) => c.rings),
    components.map((c) => c.rings),
  );
  const big = cellInstances(map, W, H, { minArea: 200 });
  assert.ok(big.cells.every((c) => c.area >= 200));
  assert.ok(big.cells.length < 5);
  for (const [k, c] of big.cells.entries()) assert.equal(c.label, k + 1);
});
