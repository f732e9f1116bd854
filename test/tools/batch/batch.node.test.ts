import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CellFeatureCollection } from '../../../core/cells/geojson-export.js';
import type { InferenceGrid } from '../../../core/inference/inference-grid.js';
import type { Rect } from '../../../core/math/rect.js';
import type { PoolSlide } from '../../../core/session/compute.js';
import { createSession, type Session } from '../../../core/session/session.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { createSupportSet } from '../../../core/support-set/support-set.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { readHead, runBatch, type BatchOutcome } from '../../../tools/batch/run-batch.js';
import { writeSlideCells } from '../../../tools/batch/slide-cells.js';
import { headNaming } from '../../../tools/batch/slide-outputs.js';
import { TileStore } from '../../../tools/batch/tile-store.js';
import { slideInputs } from '../../../tools/batch/slide-inputs.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { serveFiles } from '../../http-file-server.js';
import {
  adaptLymphocytes,
  fileAppears,
  runNode,
  SAMPLE,
  SAMPLE_LABELS,
  SOURCE_BIN,
  writeSmallSlide,
} from './batch-fixtures.js';

// The batch against the viewer's own computation: a head adapted on the sample slide (one patch of
// its lymphocytes, from the labels), a region run of a session over the real worker pool
// (in-thread workers) as the reference, and the batch — worker threads, stored tiles, files — over
// the same pixels. Regions are two output tiles side by side, so that cells cross a tile seam.

let tmp: string;
let pool: WorkerPool;
let slide: PoolSlide;
let grid: InferenceGrid;
let session: Session;
let headFile: string;
/** Level-0: two output tiles (256 level-0 pixels each) side by side. */
let region: Rect;
/** The reference: the session's region run over `region`, its GeoJSON and its tiles. */
let reference: { cells: CellFeatureCollection; tiles: { tile: Rect; probabilities: Float32Array }[] };
let first: BatchOutcome;

const regionArg = (r: Rect) => `${r.x},${r.y},${r.width},${r.height}`;
const readCells = (file: string) =>
  JSON.parse(gunzipSync(fs.readFileSync(file)).toString('utf8')) as CellFeatureCollection;
/**
 * The features without their ids (random in a session's export, made from the slide's name in the
 * batch's) and without "Probability mean", which sameCells compares apart: the batch keeps 8-bit
 * probabilities, the session float32 ones.
 */
const withoutIds = (c: CellFeatureCollection) =>
  c.features.map(({ geometry, properties }) => {
    const { ['Probability mean']: _mean, ...measurements } = properties.measurements;
    return { geometry, properties: { ...properties, measurements } };
  });
const probabilityMeans = (c: CellFeatureCollection) =>
  c.features.map((f) => f.properties.measurements['Probability mean']);

/** The batch's cells are the session's, feature for feature; mean probabilities within 8-bit rounding (1/510). */
function assertSameCells(batch: CellFeatureCollection, session: CellFeatureCollection): void {
  assert.deepEqual(withoutIds(batch), withoutIds(session));
  const [a, b] = [probabilityMeans(batch), probabilityMeans(session)];
  assert.equal(a.length, b.length);
  a.forEach((p, i) => {
    assert.ok(typeof p === 'number' && typeof b[i] === 'number', `cell ${i} has a mean probability`);
    assert.ok(Math.abs(p - b[i]) <= 1 / 510 + 1e-6, `cell ${i}: mean probability ${p} vs ${b[i]}`);
  });
}

function parseCsv(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trimEnd().split('\n');
  const names = header.split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [names[i], v])));
}

before(async () => {
  assert.ok(fs.existsSync(SAMPLE) && fs.existsSync(SAMPLE_LABELS), 'the sample slide is missing: run `npm run sample`');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fewshot-batch-'));
  pool = await WorkerPool.create({ workers: 2, createWorker: () => createInThreadWorker() });
  const weights = fs.readFileSync('models/default/extractors.bin');
  const loaded = await pool.setExtractors({
    kind: 'decoded',
    manifest: JSON.parse(fs.readFileSync('models/default/extractors.json', 'utf8')),
    weights: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  });
  slide = await pool.openSlide({ kind: 'blob', blob: new Blob([fs.readFileSync(SAMPLE)]), name: 'sample-slide.tif' });
  grid = pool.inferenceGrid(slide);
  const adapted = await adaptLymphocytes({ pool, slide, grid, loaded });
  session = adapted.session;
  const best = adapted.patch;
  headFile = path.join(tmp, 'lymphocytes.head.json');
  fs.writeFileSync(headFile, JSON.stringify(session.saveHead()));
  region = { x: best.x, y: best.y, width: 512, height: 256 };
  const run = await session.predictRegion(region);
  assert.equal((await run.finished).state, 'finished');
  reference = {
    cells: session.exportGeoJson(),
    tiles: [...session.results.values()].map((t) => ({ tile: t.tile, probabilities: t.probabilities })),
  };
  assert.equal(reference.tiles.length, 2, 'the region is two output tiles');
});

after(async () => {
  pool?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test(
  "a batch over the sample slide writes a region run's cells, its probabilities as a TIFF, and the slide's CSV row",
  { timeout: 600_000 },
  async () => {
    const out = path.join(tmp, 'first');
    first = await runBatch({
      head: headFile,
      slides: [{ source: SAMPLE, name: 'sample-slide' }],
      region,
      out,
      threads: 2,
    });
    const [outcome] = first.slides;
    assert.deepEqual([outcome.computedTiles, outcome.totalTiles], [2, 2]);
    for (const file of [outcome.geojson, outcome.overlay, first.csv]) assert.ok(fs.existsSync(file), `${file} written`);

    // Cells: the region run's, feature for feature; ids made from the slide's name, all different.
    const cells = readCells(outcome.geojson);
    assert.ok(reference.cells.features.length >= 5, `the head finds cells (${reference.cells.features.length})`);
    assertSameCells(cells, reference.cells);
    assert.equal(new Set(cells.features.map((f) => f.id)).size, cells.features.length);
    for (const f of cells.features)
      assert.match(f.id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Whole across the seam between the two tiles: some cell lies on both sides of it, as one feature.
    const seam = region.x + 256;
    const across = cells.features.filter((f) => {
      const xs = f.geometry.coordinates[0].map((p) => p[0]);
      return Math.min(...xs) < seam && Math.max(...xs) > seam;
    });
    assert.ok(across.length > 0, 'a cell crosses the tile seam and is one feature');

    // The overlay: a pyramidal TIFF of the inference grid whose pixels are round(255 p) of the tiles.
    const overlay = await openTiff({
      kind: 'blob',
      blob: new Blob([fs.readFileSync(outcome.overlay)]),
      name: 'overlay',
    });
    assert.deepEqual([overlay.levels[0].width, overlay.levels[0].height], [grid.width, grid.height]);
    assert.ok(overlay.levels.length > 5, `a pyramid (${overlay.levels.length} levels)`);
    assert.equal(overlay.levels[1].width, Math.ceil(grid.width / 2));
    assert.ok(Math.abs(overlay.mpp!.x - grid.mpp.x) < 1e-6, `its µm/px (${overlay.mpp?.x}) is the grid's`);
    for (const { tile, probabilities } of reference.tiles) {
      const rgb = await overlay.readRegion({ level: 0, ...tile });
      let wrong = 0;
      for (let i = 0; i < probabilities.length; i++) {
        const expected = Math.round(255 * probabilities[i]);
        if (rgb[3 * i] !== expected || rgb[3 * i + 1] !== expected || rgb[3 * i + 2] !== expected) wrong++;
      }
      assert.equal(wrong, 0, `every pixel of tile ${tile.x},${tile.y} is round(255 p)`);
    }
    const outside = await overlay.readRegion({ level: 0, x: 0, y: 0, width: 64, height: 64 });
    assert.ok(
      outside.every((v) => v === 0),
      'nothing computed there: 0',
    );

    // The CSV row, against the cells and the tissue mask counted here.
    const [row, ...others] = parseCsv(fs.readFileSync(first.csv, 'utf8'));
    assert.equal(others.length, 0);
    assert.equal(row.slide, 'sample-slide');
    assert.equal(Number(row.cells), cells.features.length);
    const mean = (name: string) =>
      cells.features.reduce((s, f) => s + f.properties.measurements[name], 0) / cells.features.length;
    for (const name of ['Area µm^2', 'Perimeter µm', 'Mask area µm^2']) {
      const written = Number(row[`mean ${name}`]);
      assert.ok(Math.abs(written - mean(name)) <= 1e-8 * mean(name), `mean ${name}: ${written} vs ${mean(name)}`);
    }
    const tissue = await pool.tissueMask(slide);
    let tissuePixels = 0;
    for (const v of tissue.data) if (v) tissuePixels++;
    const mpp = slide.info.mpp!;
    const mm2 =
      (tissuePixels * (tissue.slideWidth / tissue.width) * (tissue.slideHeight / tissue.height) * mpp.x * mpp.y) / 1e6;
    assert.ok(mm2 > 1, `the sample has tissue (${mm2} mm²)`);
    assert.ok(Math.abs(Number(row['tissue mm2']) - mm2) <= 1e-8 * mm2);
    assert.ok(
      Math.abs(Number(row['cells per mm2']) - cells.features.length / mm2) <= 1e-8 * (cells.features.length / mm2),
    );
  },
);

test(
  'Ctrl-C in the middle of a slide keeps its finished tiles; the same command resumes and writes the same bytes',
  { timeout: 600_000 },
  async () => {
    assert.ok(first, 'the first test ran');
    const out = path.join(tmp, 'interrupted');
    const args = [...SOURCE_BIN, 'batch', '--head', headFile, '--slide', SAMPLE, '--region', regionArg(region)];
    const cli = [...args, '--out', out, '--threads', '1'];
    // One thread: the tiles are computed one after the other, and the signal comes as the first is stored.
    const stored = fileAppears(path.join(out, '.batch', 'sample-slide'), /\.tile$/);
    const stopped = await runNode(cli, (child) => void stored.then(() => child.kill('SIGINT')));
    assert.equal(stopped.code, 130, `exit code 130 after Ctrl-C\n${stopped.stderr}`);
    assert.match(stopped.stderr, /interrupted on slide sample-slide: rerun the same command to resume/);
    const tiles = fs.readdirSync(path.join(out, '.batch', 'sample-slide')).filter((n) => n.endsWith('.tile'));
    assert.equal(tiles.length, 1, 'one tile was stored before the signal');
    assert.ok(!fs.existsSync(path.join(out, 'sample-slide.geojson.gz')), 'no outputs of a slide not finished');

    const resumed = await runNode(cli);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /sample-slide: \d+ cells, 1 of 2 tiles computed now/);
    for (const name of ['sample-slide.geojson.gz', 'sample-slide.probability.tif', 'cohort.csv']) {
      const expected = fs.readFileSync(path.join(tmp, 'first', name));
      assert.ok(fs.readFileSync(path.join(out, name)).equals(expected), `${name}: the same bytes as uninterrupted`);
    }
  },
);

test(
  'a small TIFF, whole slide: the cells and overlay of a session region run; by a glob and by URL the same bytes',
  { timeout: 600_000 },
  async () => {
    const dir = path.join(tmp, 'small');
    fs.mkdirSync(dir);
    await writeSmallSlide(path.join(dir, 'small.tif'), region.x, region.y);
    const out = path.join(tmp, 'small-out');
    const outcome = await runBatch({
      head: headFile,
      slides: [{ source: path.join(dir, 'small.tif'), name: 'small' }],
      region: 'slide',
      out,
      threads: 2,
    });
    assert.equal(outcome.slides[0].totalTiles, 2);

    const small = await pool.openSlide({
      kind: 'blob',
      blob: new Blob([fs.readFileSync(path.join(dir, 'small.tif'))]),
    });
    const smallGrid = pool.inferenceGrid(small);
    assert.deepEqual([smallGrid.width, smallGrid.height], [768, 512]);
    const level0 = small.info.levels[0];
    const other = createSession({
      compute: pool,
      slide: small,
      grid: smallGrid,
      extractors: session.extractors,
      support: createSupportSet({
        slide: { name: 'small', width: level0.width, height: level0.height, mpp: 0.5 },
        extractorMpp: 0.25,
        scale: smallGrid.scaleX,
      }),
      className: 'Lymphocyte',
      color: '#3cb44b',
    });
    await other.loadHead(fs.readFileSync(headFile, 'utf8'));
    const run = await other.predictRegion('slide');
    assert.equal((await run.finished).state, 'finished');
    const expected = other.exportGeoJson();
    assert.ok(expected.features.length > 0);
    assertSameCells(readCells(outcome.slides[0].geojson), expected);
    // Read in bands of 7 grid rows instead of the tile row: cells cut by 73 band seams, the same bytes.
    const stored = path.join(out, '.batch', 'small');
    const plan = JSON.parse(fs.readFileSync(path.join(stored, 'plan.json'), 'utf8')) as {
      grid: InferenceGrid;
      rects: Rect[];
    };
    const banded = path.join(tmp, 'small-banded.geojson.gz');
    await writeSlideCells({
      ...plan,
      tiles: TileStore.existing(stored),
      slideName: 'small',
      ...headNaming(readHead(headFile).head),
      bandHeight: 7,
      file: banded,
    });
    assert.ok(fs.readFileSync(banded).equals(fs.readFileSync(outcome.slides[0].geojson)), 'the same .geojson.gz');

    const overlay = await openTiff({ kind: 'blob', blob: new Blob([fs.readFileSync(outcome.slides[0].overlay)]) });
    assert.deepEqual([overlay.levels[0].width, overlay.levels[0].height], [768, 512]);
    const rgb = await overlay.readRegion({ level: 0, x: 0, y: 0, width: 768, height: 512 });
    let wrong = 0;
    for (const t of other.results.values()) {
      for (let row = 0; row < t.tile.height; row++) {
        for (let col = 0; col < t.tile.width; col++) {
          const p = t.probabilities[row * t.tile.width + col];
          if (rgb[3 * ((t.tile.y + row) * 768 + t.tile.x + col)] !== Math.round(255 * p)) wrong++;
        }
      }
    }
    assert.equal(wrong, 0, 'the overlay is round(255 p) of both tiles, the partial one included');

    // The same slide by a glob, from the command line: the same bytes.
    const globbed = path.join(tmp, 'small-glob');
    const cli = await runNode([
      ...SOURCE_BIN,
      'batch',
      '--head',
      headFile,
      '--slide',
      path.join(dir, '*.tif'),
      '--region',
      'slide',
      '--out',
      globbed,
      '--threads',
      '2',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    for (const name of ['small.geojson.gz', 'small.probability.tif', 'cohort.csv'])
      assert.ok(fs.readFileSync(path.join(globbed, name)).equals(fs.readFileSync(path.join(out, name))), name);

    // And by URL, from a list file: read by Range requests, the same bytes again.
    const server = await serveFiles({ ranges: true });
    try {
      const list = path.join(tmp, 'urls.txt');
      fs.writeFileSync(list, `# the cohort\n${server.url(path.resolve(dir, 'small.tif'))}\n`);
      const byUrl = path.join(tmp, 'small-url');
      const slides = slideInputs([], [list]);
      assert.deepEqual(
        slides.map((s) => s.name),
        ['small'],
      );
      await runBatch({ head: headFile, slides, region: 'slide', out: byUrl, threads: 2 });
      for (const name of ['small.geojson.gz', 'small.probability.tif', 'cohort.csv'])
        assert.ok(fs.readFileSync(path.join(byUrl, name)).equals(fs.readFileSync(path.join(out, name))), name);
    } finally {
      await server.close();
    }
  },
);

test('bad input ends with one clear line and its exit code, before any work', { timeout: 300_000 }, async () => {
  const out = path.join(tmp, 'bad');
  const batch = (...args: string[]) => runNode([...SOURCE_BIN, 'batch', ...args]);

  const missing = await batch('--head', headFile, '--slide', path.join(tmp, 'nope.svs'), '--out', out);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^openseadragon-fewshot batch: --slide .*nope\.svs: no such file\n/);

  const noMatch = await batch('--head', headFile, '--slide', path.join(tmp, '*.ndpi'), '--out', out);
  assert.equal(noMatch.code, 2);
  assert.match(noMatch.stderr, /--slide .*\*\.ndpi: no file matches this pattern/);

  const notJson = path.join(tmp, 'not-a-head.json');
  fs.writeFileSync(notJson, 'this is not JSON');
  const bad = await batch('--head', notJson, '--slide', SAMPLE, '--out', out);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^openseadragon-fewshot batch: --head .*not-a-head\.json: not JSON/);

  const region = await batch('--head', headFile, '--slide', SAMPLE, '--out', out, '--region', 'half');
  assert.equal(region.code, 2);
  assert.match(region.stderr, /--region must be tissue, slide or X,Y,W,H/);

  // A head of other extractors: refused once the extractors are loaded, naming both.
  const head = JSON.parse(fs.readFileSync(headFile, 'utf8'));
  head.metadata.extractors = [{ name: 'tumour', depth: 75 }];
  const foreign = path.join(tmp, 'foreign.head.json');
  fs.writeFileSync(foreign, JSON.stringify(head));
  const wrong = await batch('--head', foreign, '--slide', SAMPLE, '--out', out, '--threads', '1');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /the head was fitted on tumour \(depth 75\).*inflammatory \(depth 25\)/);
  assert.ok(!fs.existsSync(path.join(out, 'cohort.csv')), 'nothing written');
});
