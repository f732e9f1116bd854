import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { InferenceGrid } from '../../../core/inference/inference-grid.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import {
  createSupportSet,
  LABEL_CLASS,
  type SupportSetChange,
  type SupportSetStore,
} from '../../../core/support-set/support-set.js';
import type { Compute, PoolSlide } from '../../../core/session/compute.js';
import type { RegionRunEvents } from '../../../core/session/region-run.js';
import { createSession, type Session, type SessionEvents } from '../../../core/session/session.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { dice } from '../cells/mask-fixtures.js';

// The session as the product runs it, in Node: the real worker pool over two in-thread workers
// (worker/in-thread-worker.ts: the worker's own code and messages), the shipped extractors, the
// generated sample slide, and support patches painted from the sample's ground-truth labels.
// One support patch keeps adaptation to a few seconds on wasm.
const SLIDE = '.cache/sample/sample-slide.tif';
const LABELS = '.cache/sample/sample-slide-labels.tif';
const LYMPHOCYTE = 2;
// The sample is 0.5 µm/px and the extractors 0.25: a support/grid pixel is half a level-0 pixel.
const PATCH = 256;
const SIDE = PATCH / 2;
// Output tiles are 512 grid pixels, anchored at the origin: 256 level-0 pixels.
const TILE = 256;

let pool: WorkerPool;
let slide: PoolSlide;
let grid: InferenceGrid;
let labels: PixelSource;
let support: SupportSetStore;
let session: Session;
/** Level-0 top-left of the support patch: the most lymphocyte-rich tile corner of a coarse scan. */
let origin: { x: number; y: number };

/** Class ids of a level-0 rectangle (first channel of the label TIFF). */
async function labelIds(x: number, y: number, width: number, height: number): Promise<Uint8Array> {
  const rgb = await labels.readRegion({ level: 0, x, y, width, height });
  return Uint8Array.from({ length: width * height }, (_, i) => rgb[3 * i]);
}

/** Every event of `types` the session emits, in order, with what the session said at that moment. */
function record(target: Session, types: readonly (keyof SessionEvents)[]) {
  const seen: { type: string; detail: unknown; state: string; headKey?: string; adapted: boolean }[] = [];
  for (const type of types) {
    target.addEventListener(type, (e) => {
      seen.push({
        type,
        detail: e.detail,
        state: target.state,
        headKey: target.headKey,
        adapted: target.lastAdapt !== undefined,
      });
    });
  }
  return seen;
}

before(async () => {
  assert.ok(existsSync(SLIDE) && existsSync(LABELS), 'the sample slide is missing: run `npm run sample`');
  pool = await WorkerPool.create({ workers: 2, createWorker: () => createInThreadWorker() });
  const manifest = JSON.parse(readFileSync('models/default/extractors.json', 'utf8'));
  const weights = readFileSync('models/default/extractors.bin');
  const loaded = await pool.setExtractors({
    kind: 'decoded',
    manifest,
    weights: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  });
  slide = await pool.openSlide({ kind: 'blob', blob: new Blob([readFileSync(SLIDE)]) });
  grid = pool.inferenceGrid(slide);
  assert.equal(grid.scaleX, 0.5);
  labels = await openTiff({ kind: 'blob', blob: new Blob([readFileSync(LABELS)]), name: 'labels' });
  const level0 = slide.info.levels[0];
  support = createSupportSet({
    slide: { name: slide.info.name, width: level0.width, height: level0.height, mpp: slide.info.mpp!.x },
    extractorMpp: loaded.mpp,
    scale: grid.scaleX,
  });
  // WorkerPool is a Compute as it is: the session knows the pool only through that interface.
  const compute: Compute = pool;
  session = createSession({
    compute,
    slide,
    grid,
    extractors: loaded.extractors,
    support,
    className: 'Lymphocyte',
    color: '#3cb44b',
  });
  let best = { x: 0, y: 0, n: -1 };
  for (let y = 1024; y < 7168; y += 2 * TILE) {
    for (let x = 1024; x < 7168; x += 2 * TILE) {
      const n = (await labelIds(x, y, SIDE, SIDE)).reduce((s, id) => s + (id === LYMPHOCYTE ? 1 : 0), 0);
      if (n > best.n) best = { x, y, n };
    }
  }
  assert.ok(best.n > 0.15 * SIDE * SIDE, `a lymphocyte-rich spot (${best.n} pixels)`);
  origin = best;
});

after(() => pool?.close());

test('an empty support set, or one with no class painted, is refused with a message; nothing predicts', async () => {
  const seen = record(session, ['change', 'adapted', 'progress']);
  await assert.rejects(session.adapt(), /the support set is empty: place at least one support patch/);
  const id = support.addPatch(origin);
  support.paintStroke(id, { label: 'background', size: 20 }, [
    [40, 40],
    [200, 200],
  ]);
  await assert.rejects(session.adapt(), /no support patch has any pixel of the new class painted/);
  support.deletePatch(id);
  assert.deepEqual(seen, [], 'a refused adaptation changes nothing');
  assert.equal(session.state, 'idle');
  assert.equal(session.head, undefined);
  await assert.rejects(session.predictRegion('slide'), /adapt \(or load a head\) before predicting/);
  assert.throws(() => session.saveHead(), /there is no head yet: adapt first/);
  await assert.rejects(session.exportMaskPng(), /nothing has been predicted yet/);
  assert.deepEqual(session.exportGeoJson(), { type: 'FeatureCollection', features: [] });
});

test(
  'adapting on a patch painted from the labels publishes its outcome only once the head is in every worker',
  { timeout: 120_000 },
  async () => {
    const ids = await labelIds(origin.x, origin.y, SIDE, SIDE);
    const mask = Uint8Array.from({ length: PATCH * PATCH }, (_, i) =>
      ids[((i / PATCH) >> 1) * SIDE + ((i % PATCH) >> 1)] === LYMPHOCYTE ? LABEL_CLASS : 0,
    );
    const painted = mask.reduce((s, v) => s + v, 0);
    support.replacePatches([{ id: 'lymphocytes', x: origin.x, y: origin.y, scale: grid.scaleX, mask }]);

    const seen = record(session, ['change', 'progress', 'head', 'adapted']);
    let adapted: SessionEvents['adapted'] | undefined;
    // Typed: e.detail is the outcome, with no cast.
    session.addEventListener('adapted', (e) => (adapted = e.detail));
    const outcome = await session.adapt();
    assert.equal(adapted, outcome, "'adapted' carries what adapt() resolves with");
    assert.equal(outcome.head.W.length, 75, 'one weight per feature of the 3 extractors of depth 25');
    assert.equal(session.lastAdapt, outcome);
    assert.equal(session.head, outcome.head);
    assert.equal(session.state, 'idle');

    const types = seen.map((s) => s.type);
    assert.equal(types[0], 'change');
    assert.equal(seen[0].state, 'adapting');
    const phases = seen
      .filter((s) => s.type === 'progress')
      .map((s) => (s.detail as { task: string; phase: string }).phase);
    assert.deepEqual([...new Set(phases)], ['features', 'logistic', 'bfgs']);
    const head = seen.findIndex((s) => s.type === 'head');
    const done = seen.findIndex((s) => s.type === 'adapted');
    assert.ok(head > 0 && done > head, `the head is installed before the outcome is published: ${types.join(' ')}`);
    // When the head went in, the outcome was not out yet; once it is, the head key (which gates
    // live prediction) is there too: nobody sees 'adapted', lastAdapt or 'idle' without the head.
    assert.deepEqual([seen[head].state, seen[head].adapted], ['adapting', false]);
    for (const s of seen) {
      if (s.adapted || (s.state === 'idle' && s.type !== 'progress'))
        assert.ok(s.headKey, `${s.type} with lastAdapt but no head in the workers`);
    }
    assert.deepEqual([seen[done].state, seen[done].adapted], ['idle', true]);

    const r = outcome.report;
    assert.deepEqual([r.support.patches, r.support.positive, r.support.pixels], [1, painted, PATCH * PATCH]);
    assert.equal(outcome.head.metadata.className, 'Lymphocyte');
    assert.equal(outcome.head.metadata.shots, 1);
    assert.ok(outcome.seconds > 0);
    console.log(
      `# adapt: 1 patch, ${painted} class pixels, ${outcome.seconds.toFixed(1)} s ` +
        `(${r.logistic.iterations} Newton + ${r.bfgs?.iterations} BFGS steps)`,
    );
  },
);

test(
  'a region is predicted into result tiles that follow the labels; GeoJSON and PNG exports agree with them',
  { timeout: 120_000 },
  async () => {
    const region = { x: origin.x, y: origin.y, width: TILE, height: TILE };
    const tiles: SessionEvents['tile'][] = [];
    const progress: SessionEvents['progress'][] = [];
    session.addEventListener('tile', (e) => tiles.push(e.detail));
    session.addEventListener('progress', (e) => progress.push(e.detail));
    const run = await session.predictRegion(region);
    const done: RegionRunEvents['tile'][] = [];
    run.addEventListener('tile', (e) => done.push(e.detail));
    const summary = await run.finished;
    assert.equal(summary.state, 'finished');
    assert.equal(tiles.length, 1, 'the region is one output tile');
    const [{ tile, cells }] = tiles;
    assert.deepEqual(tile.level0, region);
    // The worker traced the tile's cells (the page need not): the same as tracing them here.
    assert.equal(done[0].contours?.threshold, session.threshold, 'traced by the worker at the threshold');
    assert.deepEqual(cells, session.cells(tile));
    assert.deepEqual([session.results.size, session.results.get(tile.key)], [1, tile]);
    assert.ok(cells.length > 10, `${cells.length} cells in the tile`);
    const last = progress.at(-1);
    assert.ok(last?.task === 'region');
    assert.deepEqual([last.doneTiles, last.totalTiles, last.failedTiles], [1, 1, 0]);

    // The thresholded tile against the ground truth (labels at half the grid's resolution).
    const ids = await labelIds(region.x, region.y, TILE, TILE);
    const truth = Uint8Array.from({ length: 4 * TILE * TILE }, (_, i) =>
      ids[((i / (2 * TILE)) >> 1) * TILE + ((i % (2 * TILE)) >> 1)] === LYMPHOCYTE ? 1 : 0,
    );
    const predicted = tile.probabilities.map((p) => (p > session.threshold ? 1 : 0));
    const score = dice(Uint8Array.from(predicted), truth);
    console.log(`# region: ${cells.length} cells, Dice ${score.toFixed(3)} against the labels`);
    assert.ok(score > 0.5, `Dice ${score}`);

    const png = PNG.sync.read(Buffer.from(await (await session.exportMaskPng()).arrayBuffer()));
    assert.deepEqual([png.width, png.height], [2 * TILE, 2 * TILE]);
    let mismatches = 0;
    for (let i = 0; i < predicted.length; i++) if ((png.data[4 * i] === 255 ? 1 : 0) !== predicted[i]) mismatches++;
    assert.equal(mismatches, 0, 'the PNG is the thresholded tile');

    const geojson = session.exportGeoJson();
    assert.equal(geojson.features.length, cells.length, 'one feature per cell of the tile');
    const feature = geojson.features[0];
    assert.deepEqual(feature.properties.classification, { name: 'Lymphocyte', color: [0x3c, 0xb4, 0x4b] });
    assert.ok('Area µm^2' in feature.properties.measurements, 'measured in µm: the slide says its scale');
    for (const f of geojson.features) {
      for (const [x, y] of f.geometry.coordinates[0]) {
        assert.ok(
          x >= region.x && x <= region.x + TILE && y >= region.y && y <= region.y + TILE,
          `(${x}, ${y}) lies in the region, level-0 pixels`,
        );
      }
    }
    const areas = geojson.features.reduce((s, f) => s + f.properties.measurements['Mask area µm^2'], 0);
    const cellArea = cells.reduce((s, c) => s + c.area, 0) * 0.5 * 0.5;
    assert.ok(
      Math.abs(areas - cellArea) < 1e-6 * cellArea,
      `GeoJSON mask areas ${areas} µm² = the tile's cells ${cellArea}`,
    );
    assert.deepEqual(
      session.exportGeoJson({ x: 0, y: 0, width: 100, height: 100 }).features,
      [],
      'nothing predicted there',
    );
  },
);

test('the threshold re-cuts the stored probabilities; a bad one is refused', async () => {
  const events: number[] = [];
  session.addEventListener('threshold', (e) => events.push(e.detail));
  const on = async () =>
    PNG.sync
      .read(Buffer.from(await (await session.exportMaskPng()).arrayBuffer()))
      .data.filter((v, i) => i % 4 === 0 && v === 255).length;
  const [tile] = session.results.values();
  const atHalf = await on();
  const cellsAtHalf = session.cells(tile).length;
  session.setThreshold(0.9);
  assert.deepEqual(events, [0.9]);
  assert.equal(session.threshold, 0.9);
  const atHigh = await on();
  assert.equal(atHigh, tile.probabilities.filter((p) => p > 0.9).length);
  assert.ok(atHigh < atHalf, `${atHigh} pixels above 0.9, ${atHalf} above 0.5`);
  assert.notEqual(session.cells(tile).length, cellsAtHalf);
  // Traced in a worker (what the overlay re-traces with), at the threshold now or at one named.
  assert.deepEqual(await session.traceCells(tile), session.cells(tile));
  const atHalfInWorker = await session.traceCells(tile, { threshold: 0.5 });
  assert.equal(atHalfInWorker.length, cellsAtHalf);
  assert.equal(
    atHalfInWorker.reduce((sum, c) => sum + c.area, 0),
    tile.probabilities.filter((p) => p > 0.5).length * grid.scaleX * grid.scaleY,
    'the cells cover the pixels above 0.5, in level-0 pixels²',
  );
  assert.equal(session.saveHead().threshold, 0.9, 'a saved head keeps the threshold chosen');
  for (const bad of [0, 1, NaN]) assert.throws(() => session.setThreshold(bad), RangeError);
  assert.equal(session.threshold, 0.9);
  assert.deepEqual(events, [0.9]);
});

test('a saved head loads back (refused when fitted on other extractors); it predicts the same tiles', async () => {
  const saved = session.saveHead();
  const key = session.headKey;
  const [before] = session.results.values();
  const heads: SessionEvents['head'][] = [];
  session.addEventListener('head', (e) => heads.push(e.detail));
  const [a, b, c] = saved.metadata.extractors as { name: string; depth: number }[];
  const reordered = { ...saved, metadata: { ...saved.metadata, extractors: [b, a, c] } };
  await assert.rejects(session.loadHead(reordered), /the head was fitted on .* in that order; these extractors are/);
  assert.deepEqual(
    [heads.length, session.headKey, session.results.size],
    [0, key, 1],
    'a refused head changes nothing',
  );

  session.setThreshold(0.5);
  const loaded = await session.loadHead(JSON.stringify(saved));
  assert.deepEqual(heads, [loaded]);
  assert.equal(session.head, loaded);
  assert.equal(session.threshold, 0.9, 'the threshold comes with the head');
  assert.equal(session.headKey, key, 'the same weights: the same head in the workers');
  assert.equal(session.results.size, 0, 'results of the earlier head are dropped');
  assert.deepEqual(loaded.W, saved.W);

  const run = await session.predictRegion(before.level0);
  assert.equal((await run.finished).state, 'finished');
  const [again] = session.results.values();
  assert.equal(again.key, before.key);
  assert.deepEqual(again.probabilities, before.probabilities);
});

test('the support set exports and imports back (a bad file changes nothing); the colour is checked, exported', () => {
  const text = session.exportSupportSet();
  const changes: SupportSetChange[] = [];
  support.addEventListener('change', (e) => changes.push(e.detail));
  assert.throws(() => session.importSupportSet('{not json'));
  assert.equal(changes.length, 0);
  const mask = support.patches[0].mask.slice();
  assert.equal(session.importSupportSet(text), 1);
  assert.deepEqual(
    changes.map((c) => c.type),
    ['replace'],
  );
  assert.deepEqual(support.patches[0].mask, mask);
  assert.equal(session.exportSupportSet(), text);

  const colours: string[] = [];
  session.addEventListener('color', (e) => colours.push(e.detail));
  session.setColor('#f00');
  assert.throws(() => session.setColor('not a colour'), /not a hex colour/);
  assert.deepEqual([colours, session.color], [['#f00'], '#f00']);
  assert.deepEqual(session.exportGeoJson().features[0].properties.classification.color, [255, 0, 0]);
});

/** Even-odd point-in-polygon over all rings (crossings of a ray to +x): the test's own raster. */
function insidePolygon(rings: number[][][], x: number, y: number): boolean {
  let odd = false;
  for (const ring of rings)
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > y !== yj > y && x < xi + ((y - yi) * (xj - xi)) / (yj - yi)) odd = !odd;
    }
  return odd;
}

test('QuPath round trip: exported cells (also .geojson.gz) paint patches as they rasterise', async () => {
  const geojson = session.exportGeoJson();
  assert.ok(geojson.features.length > 5, `${geojson.features.length} cells`);
  const strip = (c: typeof geojson) => c.features.map((f) => ({ ...f, id: '' }));
  const gz = await session.exportGeoJsonGz();
  assert.equal(gz.type, 'application/gzip');
  const unzipped = JSON.parse(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString('utf8'));
  const measured = await session.exportMeasuredGeoJson();
  assert.deepEqual(strip(unzipped), strip(measured), 'the .gz holds the same cells (ids are new per export)');
  // The same cells as the synchronous export, with the stain ODs added (read from the slide).
  const withoutOd = (c: typeof geojson) =>
    strip(c).map((f) => {
      const { 'Hematoxylin OD mean': h, 'Eosin OD mean': e, ...rest } = f.properties.measurements;
      return { ...f, properties: { ...f.properties, measurements: rest }, od: h !== undefined && e !== undefined };
    });
  assert.deepEqual(
    withoutOd(measured),
    withoutOd(geojson).map((f) => ({ ...f, od: true })),
  );
  for (const f of unzipped.features)
    assert.deepEqual(f.properties.classification, { name: 'Lymphocyte', color: [255, 0, 0] });

  // A patch over the predicted tile, beside the support patch already there.
  const [tile] = session.results.values();
  support.addPatch({ x: tile.level0.x + 40, y: tile.level0.y + 20 });
  const before = support.patches.map((p) => ({ ...p, mask: p.mask.slice() }));
  const report = session.importQuPathAnnotations(JSON.stringify(geojson), { className: 'Lymphocyte' });
  assert.equal(report.classObjects, geojson.features.length);
  assert.ok(report.classPixels > 500, `${report.classPixels} class pixels painted`);
  const polygons = geojson.features.map((f) => f.geometry.coordinates);
  support.patches.forEach((p, k) => {
    const expected = before[k].mask.slice();
    for (let j = 0; j < PATCH; j++)
      for (let i = 0; i < PATCH; i++) {
        const x = p.x + (i + 0.5) * p.scale;
        const y = p.y + (j + 0.5) * p.scale;
        if (polygons.some((rings) => insidePolygon(rings, x, y))) expected[j * PATCH + i] = LABEL_CLASS;
      }
    assert.deepEqual(p.mask, expected, `patch ${p.id}`);
  });
  assert.ok(support.undo(), 'one undo step');
  support.patches.forEach((p, k) => assert.deepEqual(p.mask, before[k].mask));
});
