import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { InferenceGrid } from '../../../core/inference/inference-grid.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import {
  createSupportSet,
  LABEL_BACKGROUND,
  LABEL_CLASS,
  type SupportSetStore,
} from '../../../core/support-set/support-set.js';
import type { PoolSlide } from '../../../core/session/compute.js';
import type { PrefillOutcome } from '../../../core/session/patch-prefill.js';
import { createSession, type Session } from '../../../core/session/session.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';

// Pre-filled patches as the product runs them, in Node: the real pool over in-thread workers, the
// shipped extractors, the sample slide; a head adapted on one patch painted from the sample's
// labels. The fill is checked against a region run's output tiles over the same pixels: another
// tile rectangle, so another forward, which with the 'whole' tiling gives the same probabilities.
const SLIDE = '.cache/sample/sample-slide.tif';
const LABELS = '.cache/sample/sample-slide-labels.tif';
const LYMPHOCYTE = 2;
const PATCH = 256;
// The sample is 0.5 µm/px and the extractors 0.25: a patch covers 128 level-0 pixels.
const SIDE = PATCH / 2;

let pool: WorkerPool;
let slide: PoolSlide;
let grid: InferenceGrid;
let labels: PixelSource;
let support: SupportSetStore;
let session: Session;
let origin: { x: number; y: number };
const outcomes: PrefillOutcome[] = [];

/** The next 'prefill' outcome for patch `id`. */
function prefillOf(id: string): Promise<PrefillOutcome> {
  const earlier = outcomes.find((o) => o.id === id);
  if (earlier) return Promise.resolve(earlier);
  return new Promise((resolve) => {
    const listener = (e: CustomEvent<PrefillOutcome>) => {
      if (e.detail.id !== id) return;
      session.removeEventListener('prefill', listener);
      resolve(e.detail);
    };
    session.addEventListener('prefill', listener);
  });
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
  labels = await openTiff({ kind: 'blob', blob: new Blob([readFileSync(LABELS)]), name: 'labels' });
  const level0 = slide.info.levels[0];
  support = createSupportSet({
    slide: { name: slide.info.name, width: level0.width, height: level0.height, mpp: slide.info.mpp!.x },
    extractorMpp: loaded.mpp,
    scale: grid.scaleX,
  });
  session = createSession({ compute: pool, slide, grid, extractors: loaded.extractors, support });
  session.addEventListener('prefill', (e) => outcomes.push(e.detail));

  // The most lymphocyte-rich spot of a coarse scan, painted from the labels, adapted on.
  const ids = async (x: number, y: number) => {
    const rgb = await labels.readRegion({ level: 0, x, y, width: SIDE, height: SIDE });
    return Uint8Array.from({ length: SIDE * SIDE }, (_, i) => rgb[3 * i]);
  };
  let best = { x: 0, y: 0, n: -1 };
  for (let y = 1024; y < 7168; y += 512) {
    for (let x = 1024; x < 7168; x += 512) {
      const n = (await ids(x, y)).reduce((s, id) => s + (id === LYMPHOCYTE ? 1 : 0), 0);
      if (n > best.n) best = { x, y, n };
    }
  }
  origin = best;
  const truth = await ids(origin.x, origin.y);
  const mask = Uint8Array.from({ length: PATCH * PATCH }, (_, i) =>
    truth[((i / PATCH) >> 1) * SIDE + ((i % PATCH) >> 1)] === LYMPHOCYTE ? LABEL_CLASS : LABEL_BACKGROUND,
  );
  support.replacePatches([{ id: 'shot', x: origin.x, y: origin.y, scale: grid.scaleX, mask }]);
});

after(() => pool?.close());

test('before any head, a placed patch stays empty (nothing to fill from)', () => {
  const id = support.addPatch({ x: origin.x + 1000, y: origin.y });
  assert.equal(session.prefillPending, null);
  assert.ok(support.patch(id)!.mask.every((v) => v === LABEL_BACKGROUND));
  support.undo();
  assert.equal(session.prefill, true, 'on by default');
});

test(
  'once adapted, a placed patch is painted from the prediction at the threshold, in one undo step',
  { timeout: 300_000 },
  async () => {
    await session.adapt();
    // Across a seam of the 512² output tiles (grid x = 2·level-0 x), so the region run below
    // computes these pixels in two other tiles.
    const at = { x: origin.x + 200, y: origin.y + 60 };
    const id = support.addPatch(at);
    assert.equal(session.prefillPending, id);
    const outcome = await prefillOf(id);
    assert.equal(outcome.outcome, 'filled', JSON.stringify(outcome));
    assert.equal(session.prefillPending, null);
    const patch = support.patch(id)!;
    const filled = patch.mask.slice();

    // Independently: the region's output tiles, as live prediction and region runs make them.
    const run = await session.predictRegion({ x: at.x, y: at.y, width: SIDE, height: SIDE });
    assert.equal((await run.finished).state, 'finished');
    const rect = { x: Math.round(at.x / grid.scaleX), y: Math.round(at.y / grid.scaleY), width: PATCH, height: PATCH };
    assert.ok(rect.x % 512 > 0 && rect.x % 512 > 512 - PATCH, 'the patch straddles a tile seam');
    const mosaic = session.results.mosaic(rect)!;
    const t = session.threshold;
    let differ = 0;
    let classPixels = 0;
    for (let i = 0; i < filled.length; i++) {
      const p = mosaic.probabilities[i];
      const expected = p > t ? LABEL_CLASS : LABEL_BACKGROUND;
      classPixels += expected;
      // Another forward rounds floats differently: only a pixel within 1e-4 of the threshold may flip.
      if (filled[i] !== expected) {
        differ++;
        assert.ok(Math.abs(p - t) < 1e-4, `pixel ${i}: p ${p}, filled ${filled[i]}`);
      }
    }
    assert.ok(differ <= 2, `${differ} pixels differ`);
    assert.ok(classPixels > 500 && classPixels < PATCH * PATCH - 500, `${classPixels} class pixels: a real prediction`);
    assert.ok(outcome.outcome === 'filled' && Math.abs(outcome.classPixels - classPixels) <= differ);
    assert.equal(outcome.outcome === 'filled' && outcome.threshold, t);
    assert.deepEqual(support.changes(id), { pixels: 0, fraction: 0 });
    console.log(
      `# pre-fill: ${outcome.outcome === 'filled' && outcome.seconds.toFixed(2)} s, ${classPixels} class pixels, ` +
        `${differ} differ from the region run's tiles`,
    );

    // The user corrects; the count is the pixels that differ from the fill.
    support.paintStroke(id, { label: 'background', size: 24 }, [
      [10, 128],
      [246, 128],
    ]);
    let changed = 0;
    for (let i = 0; i < filled.length; i++) if (patch.mask[i] !== filled[i]) changed++;
    assert.ok(changed > 0);
    assert.deepEqual(support.changes(id), { pixels: changed, fraction: changed / (PATCH * PATCH) });

    support.undo(); // the stroke
    assert.equal(support.undo(), true); // the fill, in one step
    assert.ok(
      patch.mask.every((v) => v === LABEL_BACKGROUND),
      'the empty patch as placed',
    );
    assert.equal(support.changes(id), undefined);
    support.undo(); // the placement
    assert.equal(support.patch(id), undefined);
  },
);

test(
  'placing another patch, removing it or painting it first drops a pending fill; undo and redo never fill',
  { timeout: 300_000 },
  async () => {
    const a = support.addPatch({ x: origin.x + 600, y: origin.y });
    const b = support.addPatch({ x: origin.x + 800, y: origin.y });
    assert.deepEqual(await prefillOf(a), { id: a, outcome: 'dropped', reason: 'placed' });

    // Painted before its fill came: the fill is dropped, the user's stroke stays as painted.
    const c = support.addPatch({ x: origin.x + 1000, y: origin.y });
    assert.deepEqual(await prefillOf(b), { id: b, outcome: 'dropped', reason: 'placed' });
    support.paintStroke(c, { label: 'class', size: 9 }, [
      [40, 40],
      [60, 40],
    ]);
    const painted = support.patch(c)!.mask.slice();
    assert.deepEqual(await prefillOf(c), { id: c, outcome: 'dropped', reason: 'edited' });

    const d = support.addPatch({ x: origin.x + 1200, y: origin.y });
    support.deletePatch(d);
    assert.deepEqual(await prefillOf(d), { id: d, outcome: 'dropped', reason: 'removed' });
    support.undo(); // d comes back, as it was: no fill starts
    assert.equal(session.prefillPending, null);

    session.setPrefill(false);
    const e = support.addPatch({ x: origin.x + 1400, y: origin.y });
    assert.equal(session.prefillPending, null, 'off: nothing is computed');
    session.setPrefill(true);
    const f = support.addPatch({ x: origin.x + 1600, y: origin.y });
    assert.equal((await prefillOf(f)).outcome, 'filled');

    // Every outcome of this test, in order: nothing for the restored d or for e.
    const mine = outcomes.filter((o) => [a, b, c, d, e, f].includes(o.id)).map((o) => o.id);
    assert.deepEqual(mine, [a, b, c, d, f]);
    assert.deepEqual([...support.patch(c)!.mask], [...painted]);
    assert.ok(support.patch(d)!.mask.every((v) => v === LABEL_BACKGROUND));
    assert.ok(support.patch(e)!.mask.every((v) => v === LABEL_BACKGROUND));
    assert.equal(support.changes(c), undefined);
    assert.deepEqual(support.changes(f), { pixels: 0, fraction: 0 });
  },
);
