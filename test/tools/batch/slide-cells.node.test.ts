import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import { measureCells } from '../../../core/cells/cell-measurements.js';
import { labelBoxes, labelComponents } from '../../../core/cells/connected-components.js';
import { cellsToGeoJsonReport } from '../../../core/cells/geojson-export.js';
import { maskPlacement } from '../../../core/cells/mask-placement.js';
import { gridToLevel0, type InferenceGrid } from '../../../core/inference/inference-grid.js';
import { boundsOf } from '../../../core/inference/patch-grid.js';
import type { Rect } from '../../../core/math/rect.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { cohortCsv, summaryRow } from '../../../tools/batch/cohort-summary.js';
import { nameUuid, writeSlideCells } from '../../../tools/batch/slide-cells.js';
import { TileStore } from '../../../tools/batch/tile-store.js';

// The batch's cells read one row of tiles at a time against the tiles joined into one map (what
// slide-cells.ts did before, and what a session's export does): a synthetic slide of 4 × 5 tiles,
// one missing (no tissue), with cells across tile seams and corners and a snake through every row.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'slide-cells-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const grid: InferenceGrid = {
  level: 0,
  width: 2000,
  height: 2000,
  scaleX: 0.5,
  scaleY: 0.5,
  mpp: { x: 0.25, y: 0.25 },
  targetMpp: 0.25,
  slideMpp: { x: 0.5, y: 0.5 },
  mppSource: 'file',
};
const naming = { slideName: 'synthetic', className: 'Cell', color: [1, 2, 3] as const };

/** Tiles of 48 × 32 from (96, 64), the last column 20 wide and the last row 12 tall, without (1, 2). */
function tileRects(): Rect[] {
  const rects: Rect[] = [];
  for (let row = 0; row < 5; row++) {
    for (let col = 0; col < 4; col++) {
      if (row === 2 && col === 1) continue;
      rects.push({ x: 96 + 48 * col, y: 64 + 32 * row, width: col === 3 ? 20 : 48, height: row === 4 ? 12 : 32 });
    }
  }
  return rects;
}

/** Probabilities over the tiles' bounds: random discs (touching ones split), a snake, noise below 0.5. */
function probabilityMap(bounds: Rect): Float32Array {
  const random = new SeededRandom(23);
  const p = Float32Array.from({ length: bounds.width * bounds.height }, () => 0.45 * random.next());
  const draw = (inside: (x: number, y: number) => boolean) => {
    for (let y = 0; y < bounds.height; y++)
      for (let x = 0; x < bounds.width; x++) if (inside(x, y)) p[y * bounds.width + x] = 0.5 + 0.5 * random.next();
  };
  for (let k = 0; k < 60; k++) {
    const [cx, cy, r] = [random.next() * bounds.width, random.next() * bounds.height, 2 + 5 * random.next()];
    draw((x, y) => (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r);
  }
  draw((x, y) => Math.abs(x - (125 + 25 * Math.sin(y / 11))) < 1.6);
  // A disc on the corner of four tiles.
  draw((x, y) => (x - 48) ** 2 + (y - 32) ** 2 <= 36);
  return p;
}

function storeOf(name: string, rects: readonly Rect[], map: Float32Array, bounds: Rect): TileStore {
  const store = TileStore.open(path.join(tmp, name), { synthetic: 1 });
  for (const rect of rects) {
    const tile = new Float32Array(rect.width * rect.height);
    for (let y = 0; y < rect.height; y++)
      for (let x = 0; x < rect.width; x++)
        tile[y * rect.width + x] = map[(rect.y - bounds.y + y) * bounds.width + rect.x - bounds.x + x];
    store.put(rect, tile, 0.5);
  }
  return store;
}

/** The reference: every stored tile joined into one map over the bounds, its instances measured. */
function joinedCells(store: TileStore, rects: readonly Rect[]) {
  const bounds = boundsOf(rects);
  const mask = new Uint8Array(bounds.width * bounds.height);
  const probabilities = new Float32Array(mask.length);
  for (const rect of rects) {
    const stored = store.get(rect);
    for (let i = 0; i < rect.width * rect.height; i++) {
      const x = i % rect.width;
      const at = (rect.y - bounds.y + (i - x) / rect.width) * bounds.width + rect.x - bounds.x + x;
      mask[at] = stored.mask[i];
      probabilities[at] = stored.probability[i] / 255;
    }
  }
  const instances = cellInstances(mask, bounds.width, bounds.height);
  const origin = gridToLevel0(grid, bounds);
  const placement = maskPlacement(origin.x, origin.y, grid.scaleX, grid.scaleY);
  const report = cellsToGeoJsonReport(instances.cells, {
    placement,
    classification: { name: naming.className, color: [1, 2, 3] },
    mpp: grid.slideMpp,
    measures: measureCells(instances, { placement, mpp: grid.slideMpp, probabilities }),
    decimals: 2,
    id: (_cell, index) => nameUuid(`${naming.slideName}\n${index}`),
  });
  return { report, mask, bounds };
}

test('cells by tile rows or in bands of 1–13 rows: the joined map’s GeoJSON bytes and CSV row', async () => {
  const rects = tileRects();
  const bounds = boundsOf(rects);
  const store = storeOf('tiles', rects, probabilityMap(bounds), bounds);
  const reference = joinedCells(store, rects);
  const expected = JSON.stringify(reference.report.collection);
  const features = reference.report.collection.features.length;
  assert.ok(features > 40, `${features} cells`);
  // The snake is one component from the first tile row to the last (split into instances along it).
  const components = labelComponents(reference.mask, bounds.width, bounds.height);
  const box = labelBoxes(components.labels, bounds.width, bounds.height, components.count);
  assert.ok(
    box.y0.some((y0, l) => l > 0 && y0 === 0 && box.y1[l] === bounds.height - 1),
    'a component spans 5 rows',
  );
  const row = cohortCsv([summaryRow('synthetic', reference.report.collection, 0.01)]);
  for (const bandHeight of [undefined, 1, 5, 13, 32, 1000]) {
    const file = path.join(tmp, `bands-${bandHeight}.geojson.gz`);
    const got = await writeSlideCells({
      grid,
      tiles: store,
      rects,
      ...naming,
      file,
      ...(bandHeight ? { bandHeight } : {}),
    });
    assert.equal(gunzipSync(fs.readFileSync(file)).toString(), expected, `bands of ${bandHeight ?? 'a tile row'}`);
    assert.deepEqual(
      [got.droppedCells, got.droppedHoles],
      [reference.report.droppedCells, reference.report.droppedHoles],
    );
    assert.equal(cohortCsv([got.sums.row('synthetic', 0.01)]), row);
  }
});

test('no tiles: an empty collection', async () => {
  const file = path.join(tmp, 'empty.geojson.gz');
  const got = await writeSlideCells({
    grid,
    tiles: TileStore.open(path.join(tmp, 'none'), {}),
    rects: [],
    ...naming,
    file,
  });
  assert.equal(
    gunzipSync(fs.readFileSync(file)).toString(),
    JSON.stringify({ type: 'FeatureCollection', features: [] }),
  );
  assert.equal(got.sums.count, 0);
});

test('each tile is read from the store once, whatever the band height', async () => {
  const rects = tileRects();
  const bounds = boundsOf(rects);
  const store = storeOf('once', rects, probabilityMap(bounds), bounds);
  const reads: Rect[] = [];
  const counting = Object.assign(Object.create(store) as TileStore, {
    get: (rect: Rect) => (reads.push(rect), store.get(rect)),
  });
  await writeSlideCells({
    grid,
    tiles: counting,
    rects,
    ...naming,
    bandHeight: 5,
    file: path.join(tmp, 'once.geojson.gz'),
  });
  assert.equal(reads.length, rects.length);
  assert.deepEqual(new Set(reads), new Set(rects));
});
