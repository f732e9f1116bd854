import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeBundle } from '../../../core/msd/bundle.js';
import { createSession, type Session, type SessionEvents } from '../../../core/session/session.js';
import { createSupportSet } from '../../../core/support-set/support-set.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../msd/msd-test-cases.js';

// A GeoJSON export through the session tells its caller what rounding left out. The session
// runs on the real pool (one in-thread worker) over a generated 64×64 slide said to be 0.5 µm/px
// with extractors of 0.25 µm/px: a grid pixel is half a level-0 pixel, so a cell of one grid
// pixel is a 0.5 × 0.5 square in level-0 coordinates. Rounded to 0 decimals its corners k/2 and
// k/2 + 0.5 stay apart only when k is even (k/2 and k/2 + 1: Math.round(·.5) rounds up), so a
// one-pixel cell at grid (x, y) survives only when x and y are both even; at 2 decimals all do.
const encoded = encodeBundle({ classes: [{ name: 'c0', weights: randomWeights(3, 3, 5) }], mpp: 0.25, metadata: {} });
const SIDE = 64;
const tiff = encodeTiff([
  { options: { width: SIDE, height: SIDE, samplesPerPixel: 3 }, pixels: new Uint8Array(SIDE * SIDE * 3).fill(200) },
]);

let pool: WorkerPool;
let session: Session;

before(async () => {
  pool = await WorkerPool.create({ workers: 1, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  const loaded = await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  const slide = await pool.openSlide({
    kind: 'blob',
    blob: new Blob([tiff as Uint8Array<ArrayBuffer>]),
    name: 's.tif',
  });
  const grid = pool.inferenceGrid(slide, { slideMpp: 0.5 });
  assert.equal(grid.scaleX, 0.5);
  const support = createSupportSet({
    slide: { name: 's.tif', width: SIDE, height: SIDE },
    extractorMpp: 0.25,
    scale: 0.5,
  });
  session = createSession({ compute: pool, slide, grid, extractors: loaded.extractors, support });
});

after(() => pool?.close());

/** One output tile of 32×32 grid pixels with cell pixels at `cells` ([x, y], grid pixels). */
function tileWith(cells: readonly [number, number][], holes: readonly [number, number][] = []) {
  const width = 32;
  const probabilities = new Float32Array(width * width);
  for (const [x, y] of cells) probabilities[y * width + x] = 0.9;
  for (const [x, y] of holes) probabilities[y * width + x] = 0;
  const tile = { x: 0, y: 0, width, height: width };
  return {
    key: 'export-test',
    level0: { x: 0, y: 0, width: 16, height: 16 },
    tile,
    megapixels: (width * width) / 1e6,
    probabilities,
  };
}

function warningsOf(s: Session) {
  const seen: SessionEvents['warning'][] = [];
  s.addEventListener('warning', (e) => seen.push(e.detail));
  return seen;
}

test('an export that rounding leaves cells out of says how many, before it returns; none at 2 decimals', () => {
  // Isolated one-pixel cells, 4 grid pixels apart: at (even, even), (odd, even), (even, odd), (odd, odd).
  const positions: [number, number][] = [];
  for (let y = 2; y < 30; y += 4)
    for (let x = 2; x < 30; x += 4) positions.push([x + ((x >> 2) % 2), y + ((y >> 2) % 2)]);
  const survivors = positions.filter(([x, y]) => x % 2 === 0 && y % 2 === 0).length;
  assert.ok(survivors > 0 && survivors < positions.length);
  session.addResult(tileWith(positions));
  const seen = warningsOf(session);

  const fine = session.exportGeoJson();
  assert.equal(fine.features.length, positions.length, 'at 2 decimals every cell is written');
  assert.deepEqual(seen, [], 'and nothing is said');

  const coarse = session.exportGeoJson(undefined, { decimals: 0 });
  assert.equal(coarse.features.length, survivors, 'at 0 decimals only the cells at even grid positions stay');
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0], {
    kind: 'export',
    droppedCells: positions.length - survivors,
    droppedHoles: 0,
    decimals: 0,
    message: `${positions.length - survivors} cells too small to export at this precision (0 decimals) were left out`,
  });
});

test('a hole that rounding collapses is counted apart from its cell, which is written without it', async () => {
  // A 3×3 block at grid (4, 4) with its centre (5, 5) empty: the outer ring's corners 2 and 3.5
  // round to 2 and 4 (kept), the hole's 2.5 and 3 both to 3 (collapsed).
  const block: [number, number][] = [];
  for (let y = 4; y < 7; y++) for (let x = 4; x < 7; x++) if (x !== 5 || y !== 5) block.push([x, y]);
  session.addResult(tileWith(block));
  const seen = warningsOf(session);
  const fine = session.exportGeoJson();
  assert.deepEqual([fine.features.length, fine.features[0].geometry.coordinates.length, seen.length], [1, 2, 0]);
  const gz = await session.exportGeoJsonGz(undefined, { decimals: 0 });
  assert.ok(gz.size > 0);
  assert.equal(seen.length, 1, 'the .geojson.gz export warns as the plain one');
  assert.deepEqual(
    [seen[0].droppedCells, seen[0].droppedHoles, seen[0].message],
    [0, 1, '1 hole too small to export at this precision (0 decimals) was left out'],
  );
  const coarse = session.exportGeoJson(undefined, { decimals: 0 });
  assert.deepEqual([coarse.features.length, coarse.features[0].geometry.coordinates.length], [1, 1]);
});
