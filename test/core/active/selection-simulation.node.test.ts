import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCandidatePool, type PoolImage } from '../../../core/active/candidate-pool.js';
import { headCountsOnImages } from '../../../core/active/head-counts.js';
import { overlapFraction } from '../../../core/active/window-sums.js';
import { rankWindows } from '../../../core/active/rank-windows.js';
import { windowBenefits } from '../../../core/active/window-benefit.js';
import { adapt } from '../../../core/adaptation/adapt.js';
import { rowProbabilities } from '../../../core/inference/image-features.js';
import { simulateSelection, type SimulationRound } from '../../../core/active/selection-simulation.js';
import { predictWithHead } from '../../../core/adaptation/predict-with-head.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import type { ExtractorClass } from '../../../core/msd/bundle.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { initMsdWeights, seededGaussian } from '../../../core/msd/weights.js';

// A tiny labelled pool made here: pink tissue with dark purple nuclei (the class) and pale red
// ones (not), four 96² images; two random depth-3 extractors; 32² windows on a stride of 16.
const SIZE = 96;
const EDGE = 32;

function syntheticImage(seed: number): PoolImage {
  const random = new SeededRandom(seed);
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  const truth = new Uint8Array(SIZE * SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    rgb[3 * i] = 230 + random.int(20);
    rgb[3 * i + 1] = 170 + random.int(20);
    rgb[3 * i + 2] = 200 + random.int(20);
  }
  // Nuclei cluster on one side of each image, so windows differ in how much class they show.
  const discs = 6 + random.int(6);
  for (let d = 0; d < discs; d++) {
    const isClass = random.next() < 0.6;
    const cx = random.int(SIZE);
    const cy = Math.floor(random.next() ** 2 * SIZE);
    const r = 3 + random.int(3);
    for (let y = Math.max(0, cy - r); y < Math.min(SIZE, cy + r + 1); y++)
      for (let x = Math.max(0, cx - r); x < Math.min(SIZE, cx + r + 1); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
        const i = y * SIZE + x;
        const colour = isClass ? [90, 40, 130] : [220, 120, 130];
        colour.forEach((c, k) => (rgb[3 * i + k] = c + random.int(15)));
        truth[i] = isClass ? 1 : 0;
      }
  }
  return { name: `synthetic-${seed}`, width: SIZE, height: SIZE, rgb, truth };
}

const images = [1, 2, 3, 4].map(syntheticImage);
const normalisation = { mean: [190, 140, 180], std: [50, 50, 40] };
const extractors: ExtractorClass[] = [11, 12].map((seed) => ({
  name: `random-${seed}`,
  weights: initMsdWeights(3, 3, seededGaussian(seed), normalisation),
}));
const poolOptions = { edge: EDGE, stride: 16, step: 2, minPositive: 20 };

/** Class pixels of the truth in a window, by a plain loop. */
function classPixelsIn(image: PoolImage, x: number, y: number): number {
  let n = 0;
  for (let r = 0; r < EDGE; r++) for (let c = 0; c < EDGE; c++) n += image.truth[(y + r) * SIZE + x + c];
  return n;
}

test('the candidate pool counts each window’s class pixels and keeps the windows showing the class', () => {
  const pool = buildCandidatePool(
    images,
    extractors.map((e) => e.weights),
    poolOptions,
  );
  assert.equal(pool.windows.length, 4 * 25); // starts 0, 16, …, 64 on both axes
  assert.equal(pool.channels, 6);
  pool.windows.forEach((w, k) => assert.equal(pool.classPixels[k], classPixelsIn(images[w.group], w.x, w.y)));
  const showing = pool.windows.flatMap((_, k) => (pool.classPixels[k] >= 20 ? [k] : []));
  assert.deepEqual(pool.classWindows, showing);
  assert.ok(showing.length >= 5 && showing.length < pool.windows.length, `${showing.length} windows show the class`);
});

test(
  'random and active selection run end to end: paired first window, windows that show the class, right effort',
  { timeout: 240_000 },
  async () => {
    await initBackend('wasm');
    const pool = buildCandidatePool(
      images,
      extractors.map((e) => e.weights),
      poolOptions,
    );
    const run = (selection: 'random' | 'active') =>
      simulateSelection({
        pool,
        images,
        extractors,
        selection,
        shots: 4,
        seed: 5,
        threshold: 0.5,
        lambda: 1e-4,
      });
    const random = await run('random');
    const active = await run('active');
    assert.deepEqual(random[0].window, active[0].window, 'the same first shot');
    for (const rounds of [random, active]) {
      assert.deepEqual(
        rounds.map((r) => r.shots),
        [1, 2, 3, 4],
      );
      assert.equal(rounds[0].changedPixels, undefined, 'the first window has no head to pre-fill it');
      rounds.forEach((r, k) => {
        const image = images[r.window.group];
        assert.equal(r.classPixels, classPixelsIn(image, r.window.x, r.window.y), 'painting from scratch');
        assert.ok(r.classPixels >= 20, 'every accepted window shows the class');
        assert.equal(r.head.metadata.shots, k + 1);
        assert.equal(r.head.W.length, 6);
      });
      await checkPrefillEffort(rounds);
    }
    assert.ok(
      random.every((r) => r.skipped === 0),
      'random never skips',
    );
    const distinct = new Set(random.map((r) => `${r.window.group}/${r.window.x}/${r.window.y}`));
    assert.equal(distinct.size, 4);
    // Active never proposes a window mostly on one already placed.
    active.forEach((r, k) => active.slice(0, k).forEach((p) => assert.ok(overlapFraction(r.window, p.window) <= 0.25)));
    // Each active window is the full ranking's first that shows the class, after `skipped` that do not.
    const indexOf = (w: SimulationRound['window']) =>
      pool.windows.findIndex((c) => c.group === w.group && c.x === w.x && c.y === w.y);
    for (let k = 1; k < active.length; k++) {
      const head = active[k - 1].head;
      const benefits = pool.rasters.flatMap(({ raster, rows }, i) => [
        ...windowBenefits(
          { ...raster, p: rowProbabilities(rows, pool.channels, head) },
          pool.windows.slice(...pool.ranges[i]),
        ),
      ]);
      const ranked = rankWindows(
        pool.windows.map((window, i) => ({ window, benefit: benefits[i], descriptor: pool.descriptors[i] })),
        active.slice(0, k).map((r) => ({ window: r.window, descriptor: pool.descriptors[indexOf(r.window)] })),
      );
      const first = ranked.findIndex((r) => pool.classPixels[r.index] >= poolOptions.minPositive);
      assert.equal(active[k].skipped, first, `round ${k + 1}: skips`);
      assert.equal(ranked[first].index, indexOf(active[k].window), `round ${k + 1}: the window`);
    }
    // Features computed once per window give the head adapt() fits from the patches alone.
    const patches = active.map(({ window: w }) => {
      const image = images[w.group];
      const rgb = new Uint8Array(EDGE * EDGE * 3);
      const mask = new Uint8Array(EDGE * EDGE);
      for (let r = 0; r < EDGE; r++)
        for (let c = 0; c < EDGE; c++) {
          const i = (w.y + r) * SIZE + w.x + c;
          rgb.set(image.rgb.subarray(3 * i, 3 * i + 3), 3 * (r * EDGE + c));
          mask[r * EDGE + c] = image.truth[i];
        }
      return { rgb, mask, width: EDGE, height: EDGE };
    });
    const fresh = await adapt(patches, extractors, { lambda: 1e-4, threshold: 0.5 });
    const last = active.at(-1)!.head;
    fresh.head.W.forEach((v, c) => assert.ok(Math.abs(v - last.W[c]) < 1e-6, `W[${c}]: ${last.W[c]} vs ${v}`));

    // Dice counts of every head on two images, against TF.js's own forward of each head.
    const heads = [...random, ...active].map((r) => r.head);
    const counts = headCountsOnImages(
      images.slice(0, 2),
      extractors.map((e) => e.weights),
      heads,
    );
    for (const [h, head] of heads.entries()) {
      let overlap = 0;
      let predicted = 0;
      let truth = 0;
      let near = 0;
      for (const image of images.slice(0, 2)) {
        const p = await predictWithHead(image, extractors, head);
        p.forEach((v, i) => {
          if (Math.abs(v - head.threshold) < 1e-4) near++;
          if (v > head.threshold) {
            predicted++;
            overlap += image.truth[i];
          }
        });
        truth += image.truth.reduce((a, b) => a + b, 0);
      }
      assert.equal(counts[h].truth, truth);
      assert.ok(Math.abs(counts[h].predicted - predicted) <= near, `head ${h}: ${counts[h].predicted} vs ${predicted}`);
      assert.ok(Math.abs(counts[h].overlap - overlap) <= near, `head ${h}: ${counts[h].overlap} vs ${overlap}`);
    }
  },
);

/**
 * Each round's changed pixels against the previous round's head predicted over the whole image
 * by TF.js (feature-extractor.ts, mirror padding at the image's edges, as the margin forward
 * has it): the pre-fill is that prediction cut at the threshold, the user's result the truth.
 */
async function checkPrefillEffort(rounds: readonly SimulationRound[]): Promise<void> {
  for (let k = 1; k < rounds.length; k++) {
    const { window } = rounds[k];
    const head = rounds[k - 1].head;
    const image = images[window.group];
    const p = await predictWithHead(image, extractors, head);
    let changed = 0;
    let near = 0;
    for (let r = 0; r < EDGE; r++)
      for (let c = 0; c < EDGE; c++) {
        const i = (window.y + r) * SIZE + window.x + c;
        if (Math.abs(p[i] - head.threshold) < 1e-4) near++;
        if ((p[i] > head.threshold ? 1 : 0) !== image.truth[i]) changed++;
      }
    assert.ok(
      Math.abs(rounds[k].changedPixels! - changed) <= near,
      `round ${k + 1}: ${rounds[k].changedPixels} changed, TF.js says ${changed}`,
    );
  }
}
