import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseCellsCsv } from '../../../core/cells/cell-csv.js';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import type { Session, TileCell } from '../../../core/session/session.js';
import type { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { randomWeights } from '../msd/msd-test-cases.js';
import { openSmallSlideSession } from './small-slide-session.js';

// Two output tiles side by side, with touching nuclei across their seam: once both are results,
// every cell is drawn whole by one tile — the first tile's cells traced again in the worker when
// the second arrives — and exports count each once. The real pool (one in-thread worker) over a
// generated 256×128 slide at the extractors' 0.25 µm/px (grid pixel = level-0 pixel).
const W = 256;
const H = 128;
const T = 128;
const rgb = new Uint8Array(W * H * 3);
for (let i = 0; i < W * H; i++) rgb.set([120 + (i % 60), 80 + (i % 40), 160 + (i % 50)], 3 * i);

const DISCS = [
  { x: 118, y: 50, r: 11 },
  { x: 139, y: 52, r: 10 },
  { x: 40, y: 30, r: 9 },
  { x: 200, y: 80, r: 8 },
  { x: 128, y: 100, r: 7 },
];
const map = new Float32Array(W * H);
for (let y = 0; y < H; y++)
  for (let x = 0; x < W; x++)
    map[y * W + x] = DISCS.some((d) => (x + 0.5 - d.x) ** 2 + (y + 0.5 - d.y) ** 2 <= d.r * d.r) ? 0.9 : 0.1;

let pool: WorkerPool;
let session: Session;

before(async () => {
  const small = { width: W, height: H, pixels: rgb, weights: [randomWeights(3, 3, 5)], mpp: 0.25, workers: 1 };
  ({ pool, session } = await openSmallSlideSession('s.tif', { className: 'N' }, small));
});

after(() => pool?.close());

function tileAt(x: number) {
  const probabilities = new Float32Array(T * T);
  for (let y = 0; y < T; y++) probabilities.set(map.subarray(y * W + x, y * W + x + T), y * T);
  return {
    key: `seam-${x}`,
    level0: { x, y: 0, width: T, height: T },
    tile: { x, y: 0, width: T, height: T },
    megapixels: (T * T) / 1e6,
    probabilities,
  };
}

/** Cells as comparable text in slide pixels (tile rings are in tile pixels). */
const inSlide = (cells: readonly TileCell[], dx: number) =>
  cells.map((c) => JSON.stringify(c.rings.map((r) => [...r].map((v, i) => (i % 2 === 0 ? v + dx : v)))));

test('a cell across a tile seam is one cell: drawn whole by one tile, once in the exports; CSV with OD', async () => {
  const whole = cellInstances(map, W, H, { threshold: session.threshold }).cells;
  assert.equal(whole.length, 5);
  const drawn = new Map<string, readonly TileCell[]>();
  session.addEventListener('tile', (e) => drawn.set(e.detail.tile.key, e.detail.cells));
  const retraced = new Promise<void>((resolve) =>
    session.addEventListener('cells', (e) => {
      drawn.set(e.detail.tile.key, e.detail.cells);
      if (e.detail.tile.key === 'seam-0') resolve();
    }),
  );
  const a = tileAt(0);
  session.addResult(a);
  // Alone, the left tile's cells stop at its right edge (its neighbour is not known yet).
  for (const c of drawn.get(a.key)!) for (let i = 0; i < c.rings[0].length; i += 2) assert.ok(c.rings[0][i] <= T);
  const b = tileAt(T);
  session.addResult(b);
  await retraced;
  const fromTiles = [...inSlide(drawn.get(a.key)!, 0), ...inSlide(drawn.get(b.key)!, T)].sort();
  const expected = whole.map((c) => JSON.stringify(c.rings.map((r) => [...r]))).sort();
  assert.deepEqual(fromTiles, expected);
  // session.cells (on this thread) and traceCells (in the worker) agree with what was drawn.
  assert.deepEqual(session.cells(a), drawn.get(a.key));
  assert.deepEqual(await session.traceCells(b), drawn.get(b.key));

  const geojson = session.exportGeoJson();
  assert.equal(geojson.features.length, 5);
  assert.ok(geojson.features.every((f) => f.properties.measurements['Circularity'] > 0.8));
  const rows = parseCellsCsv(await session.exportCellsCsv());
  assert.equal(rows.length, 5);
  for (const row of rows) {
    assert.equal(row.className, 'N');
    assert.ok(Math.abs(row.measurements['Probability mean'] - 0.9) < 1e-6);
    assert.ok(row.measurements['Hematoxylin OD mean'] > 0 && row.measurements['Eosin OD mean'] > 0);
    assert.ok(row.measurements['Mask area µm^2'] > 100 * 0.0625);
  }
  // The QuPath GeoJSON carries the CSV's measurements, cell for cell (the perimeter of the polygon
  // as written, rounded to 2 decimals); the table's outline is the feature's outer ring.
  const table = await session.cellTable();
  const measured = await session.exportMeasuredGeoJson();
  assert.equal(measured.features.length, rows.length);
  measured.features.forEach((f, k) => {
    for (const [name, value] of Object.entries(rows[k].measurements)) {
      const got = f.properties.measurements[name];
      if (name.startsWith('Perimeter')) assert.ok(Math.abs(got - value) < 1e-2 * value, `${name} ${got} vs ${value}`);
      else assert.equal(got, value, name);
    }
    const ring = f.geometry.coordinates[0];
    const outline = table[k].outline;
    assert.equal(ring.length - 1, outline.length / 2);
    ring.slice(0, -1).forEach(([x, y], i) => {
      assert.ok(Math.abs(x - outline[2 * i]) <= 0.005 && Math.abs(y - outline[2 * i + 1]) <= 0.005);
    });
  });
  // The pair across the seam are two cells, with their centroids either side of it.
  const centroids = rows.map((r) => r.measurements['Centroid X µm'] / 0.25).sort((p, q) => p - q);
  assert.ok(centroids.some((x) => Math.abs(x - 118) < 2) && centroids.some((x) => Math.abs(x - 139) < 2));
});

test('tiles arriving with the worker’s tracing of each alone are both traced again across their seam', async () => {
  session.setTiling(session.tiling === 'whole' ? 'patches' : 'whole'); // drops the results
  const whole = cellInstances(map, W, H, { threshold: session.threshold }).cells;
  const a = { ...tileAt(0), key: 'worker-0' };
  const b = { ...tileAt(T), key: 'worker-128' };
  const alone = (t: typeof a) =>
    pool.traceContours({ probabilities: t.probabilities, width: T, height: T, threshold: session.threshold });
  const [tracedA, tracedB] = [await alone(a), await alone(b)];
  const drawn = new Map<string, readonly TileCell[]>();
  session.addEventListener('tile', (e) => drawn.set(e.detail.tile.key, e.detail.cells));
  const both = new Promise<void>((resolve) => {
    const seen = new Set<string>();
    session.addEventListener('cells', (e) => {
      drawn.set(e.detail.tile.key, e.detail.cells);
      seen.add(e.detail.tile.key);
      if (seen.has(a.key) && seen.has(b.key)) resolve();
    });
  });
  session.addResult(a, tracedA);
  session.addResult(b, tracedB);
  // As the worker traced it, the right tile's cell at the seam is cut there.
  const atSeam = (cells: readonly TileCell[]) => cells.filter((c) => c.rings[0].some((v, i) => i % 2 === 0 && v < 1));
  assert.ok(atSeam(drawn.get(b.key)!).length > 0);
  await both;
  // Traced again, the cells at the seam start left of it: the left tile's, whole.
  assert.deepEqual(atSeam(drawn.get(b.key)!), []);
  const fromTiles = [...inSlide(drawn.get(a.key)!, 0), ...inSlide(drawn.get(b.key)!, T)].sort();
  assert.deepEqual(fromTiles, whole.map((c) => JSON.stringify(c.rings.map((r) => [...r]))).sort());
});

test('tiles of a block arriving in one task are each traced again across their seams once', async () => {
  session.setTiling(session.tiling === 'whole' ? 'patches' : 'whole'); // drops the results
  const S = 64;
  const tiles: ReturnType<typeof tileAt>[] = [];
  for (let y = 0; y < H; y += S) {
    for (let x = 0; x < W; x += S) {
      const probabilities = new Float32Array(S * S);
      for (let r = 0; r < S; r++) probabilities.set(map.subarray((y + r) * W + x, (y + r) * W + x + S), r * S);
      const rect = { x, y, width: S, height: S };
      tiles.push({ key: `block-${x}-${y}`, level0: rect, tile: rect, megapixels: (S * S) / 1e6, probabilities });
    }
  }
  const alone = await Promise.all(
    tiles.map((t) => pool.traceContours({ probabilities: t.probabilities, width: S, height: S, threshold: 0.5 })),
  );
  // Every request for a tile's cells across its seams goes through the real pool's traceContours.
  const traceContours = pool.traceContours.bind(pool);
  const asked: number[] = [];
  pool.traceContours = (request) => {
    asked.push(request.width * request.height);
    return traceContours(request);
  };
  try {
    const drawn = new Map<string, readonly TileCell[]>();
    session.addEventListener('tile', (e) => drawn.set(e.detail.tile.key, e.detail.cells));
    const retraced = new Promise<void>((resolve) => {
      const seen = new Set<string>();
      session.addEventListener('cells', (e) => {
        drawn.set(e.detail.tile.key, e.detail.cells);
        seen.add(e.detail.tile.key);
        if (seen.size === tiles.length) resolve();
      });
    });
    tiles.forEach((t, k) => session.addResult(t, alone[k]));
    // Nothing is traced in the task that delivered the tiles.
    assert.equal(asked.length, 0);
    await retraced;
    // Once per tile, each with all its neighbours: (64 + 64) × (64 + 64) at a corner of the slide.
    assert.equal(asked.length, tiles.length);
    assert.ok(asked.every((pixels) => pixels >= 128 * 128));
    const fromTiles = tiles.flatMap((t) =>
      drawn
        .get(t.key)!
        .map((c) => JSON.stringify(c.rings.map((r) => [...r].map((v, i) => v + (i % 2 === 0 ? t.tile.x : t.tile.y))))),
    );
    const whole = cellInstances(map, W, H, { threshold: 0.5 }).cells;
    assert.deepEqual(fromTiles.sort(), whole.map((c) => JSON.stringify(c.rings.map((r) => [...r]))).sort());
  } finally {
    pool.traceContours = traceContours;
  }
});
