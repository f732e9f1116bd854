import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { imageFeatureRows } from '../../../core/inference/image-features.js';
import { encodeBundle, readBundle } from '../../../core/msd/bundle.js';
import { createSession, type Session } from '../../../core/session/session.js';
import { createSupportSet } from '../../../core/support-set/support-set.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../msd/msd-test-cases.js';

// The session proposes the next patch from its finished tiles, on the real pool (one in-thread
// worker) over a generated 512² slide said to be 0.5 µm/px with extractors of 0.25 µm/px: the
// inference grid is 1024² and a grid pixel half a level-0 pixel. Two 512² result tiles: tile A
// (grid x 0…512) with an uncertain block (p = ½) at its top right, tile B (x 512…1024) with a
// likely-class block (p = 0.7) at its bottom left; confident background (p = 0.05) elsewhere.
const encoded = encodeBundle({ classes: [{ name: 'c0', weights: randomWeights(3, 3, 5) }], mpp: 0.25, metadata: {} });
const SIDE = 512;
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

function tile(x: number, block: { x: number; y: number; p: number }) {
  const probabilities = new Float32Array(512 * 512).fill(0.05);
  for (let r = block.y; r < block.y + 256; r++) probabilities.fill(block.p, r * 512 + block.x, r * 512 + block.x + 256);
  return {
    key: `proposal-${x}`,
    tile: { x, y: 0, width: 512, height: 512 },
    level0: { x: x / 2, y: 0, width: 256, height: 256 },
    megapixels: 0.26,
    probabilities,
  };
}

test('the session proposes the likely, uncertain window first, in level-0 pixels, and never a placed one', () => {
  assert.deepEqual(session.proposePatches(), [], 'no tiles, no proposal');
  session.addResult(tile(0, { x: 256, y: 0, p: 0.5 }));
  session.addResult(tile(512, { x: 0, y: 256, p: 0.7 }));
  const [first, second] = session.proposePatches();
  assert.deepEqual(first.window, { group: 0, x: 512, y: 256, size: 256 });
  assert.deepEqual(first.level0, { x: 256, y: 128, width: 128, height: 128 });
  assert.deepEqual(second.level0, { x: 128, y: 0, width: 128, height: 128 });
  // Accepting it: the patch placed at the proposal's corner; the next proposal is elsewhere.
  session.support.addPatch(first.level0);
  const next = session.proposePatches();
  assert.deepEqual(next[0].level0, second.level0);
  assert.ok(next.every((r) => r.window.x !== 512 || r.window.y !== 256));
  // Only the left tile's area (level-0 0…256 across).
  const left = session.proposePatches({ x: 0, y: 0, width: 256, height: 256 }, { limit: 1 });
  assert.equal(left.length, 1);
  assert.deepEqual(left[0].level0, second.level0);
});

test('describeProposals has the workers describe candidates and placed patches, then ranks by diversity', async () => {
  // From the test above: two tiles and one patch placed. Nothing described yet: no diversity.
  assert.ok(session.support.patches.length > 0);
  assert.ok(session.proposePatches().every((r) => r.distance === Infinity));
  const ranked = await session.describeProposals();
  assert.ok(ranked.length > 0);
  assert.ok(ranked.every((r) => Number.isFinite(r.distance)));
  // Kept: proposePatches now ranks the same way without asking the workers again.
  assert.deepEqual(
    session.proposePatches().map((r) => r.level0),
    ranked.map((r) => r.level0),
  );
  // The slide is one grey: every window's descriptor is the features of a grey image (distances 0).
  assert.ok(ranked.every((r) => r.distance === 0 && r.score === 0));
  const [extractor] = (await readBundle(encoded.manifest, encoded.weights)).classes;
  const grey = { rgb: new Uint8Array(64 * 64 * 3).fill(200), width: 64, height: 64 };
  const { rows } = imageFeatureRows([extractor.weights], grey, Int32Array.from([32 * 64 + 32]));
  const [[described]] = await pool.windowDescriptors({
    slide: session.slide,
    grid: session.grid,
    regions: [
      { region: { x: 256, y: 256, width: 256, height: 256 }, windows: [{ x: 256, y: 256, width: 256, height: 256 }] },
    ],
  });
  assert.equal(described.length, 3);
  described.forEach((v, c) => assert.ok(Math.abs(v - rows[c]) < 1e-4, `feature ${c}: ${v} vs ${rows[c]}`));
});
