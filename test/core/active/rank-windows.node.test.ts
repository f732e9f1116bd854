import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankWindows, type RankCandidate } from '../../../core/active/rank-windows.js';
import { binaryEntropy, windowBenefits } from '../../../core/active/window-benefit.js';
import { standardiseDescriptors, windowMeanFeatures } from '../../../core/active/window-descriptors.js';
import { overlapFraction, windowGrid, windowSums } from '../../../core/active/window-sums.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

const close = (a: number, b: number, tolerance = 1e-6) =>
  assert.ok(Math.abs(a - b) <= tolerance, `${a} is not within ${tolerance} of ${b}`);

test('binary entropy is 1 bit at ½, 0 at 0 and 1, and −p ln p − (1−p) ln(1−p) over ln 2 between', () => {
  const p = Float32Array.from([0, 0.5, 1, 0.25, 0.9, 1e-6]);
  const h = binaryEntropy(p);
  [0, 1, 0].forEach((v, i) => close(h[i], v));
  for (let i = 3; i < p.length; i++) {
    const q = p[i];
    close(h[i], -(q * Math.log(q) + (1 - q) * Math.log(1 - q)) / Math.LN2);
  }
});

test('window sums over a sampled raster equal a plain loop over the samples whose pixels lie inside', () => {
  const random = new SeededRandom(3);
  const raster = { width: 7, height: 5, step: 4 }; // pixels 0, 4, …, 24 across; 0…16 down
  const values = Float32Array.from({ length: 35 }, () => random.next());
  const windows = [
    { x: 0, y: 0, size: 8 },
    { x: 2, y: 1, size: 8 },
    { x: 13, y: 5, size: 12 },
    { x: 20, y: 12, size: 8 }, // runs past the raster's last sample row
  ];
  const { sums, counts } = windowSums(values, raster, windows);
  windows.forEach((w, k) => {
    let sum = 0;
    let n = 0;
    for (let j = 0; j < raster.height; j++)
      for (let i = 0; i < raster.width; i++) {
        const px = 4 * i;
        const py = 4 * j;
        if (px >= w.x && px < w.x + w.size && py >= w.y && py < w.y + w.size) {
          sum += values[j * raster.width + i];
          n++;
        }
      }
    close(sums[k], sum, 1e-9);
    assert.equal(counts[k], n);
  });
  assert.deepEqual(
    [counts[0], counts[1], counts[2], counts[3]],
    [4, 2 * 2, 3 * 3, 2 * 2],
    'samples per window by hand: x 0,4 / 4,8 / 16,20,24 / 20,24; y 0,4 / 4,8 / 8,12,16 / 12,16',
  );
});

test('benefit: a window of uncertain, likely class beats confident class and confident background', () => {
  // 12 × 4 pixels, step 1: x < 4 at p = ½ (H = 1 bit), 4 ≤ x < 8 at p = 0.99, x ≥ 8 at p = 0.1.
  const width = 12;
  const p = Float32Array.from({ length: width * 4 }, (_, i) => (i % width < 4 ? 0.5 : i % width < 8 ? 0.99 : 0.1));
  const windows = [0, 4, 8, 2].map((x) => ({ group: 0, x, y: 0, size: 4 }));
  const b = windowBenefits({ width, height: 4, step: 1, p }, windows);
  const h = (q: number) => -(q * Math.log2(q) + (1 - q) * Math.log2(1 - q));
  close(b[0], 0.5); // 1 bit × ½
  close(b[1], 0.99 * h(0.99)); // 0.0800
  close(b[2], 0.1 * h(0.1)); // 0.0469
  close(b[3], (0.5 + 0.99 * h(0.99)) / 2); // half of each
  assert.ok(b[0] > b[3] && b[3] > b[1] && b[1] > b[2]);
  // A given uncertainty (an ensemble's) replaces the entropy: u = 0.2 on the left, 0.6 elsewhere.
  const u = Float32Array.from({ length: width * 4 }, (_, i) => (i % width < 4 ? 0.2 : 0.6));
  const given = windowBenefits({ width, height: 4, step: 1, p, uncertainty: u }, windows);
  close(given[0], 0.1);
  close(given[1], 0.594);
  close(given[2], 0.06);
});

test('descriptors: window means equal a plain loop; standardised, each dimension has mean 0 and spread 1', () => {
  const random = new SeededRandom(9);
  const raster = { width: 6, height: 6, step: 2 };
  const channels = 3;
  const features = Float32Array.from({ length: 36 * channels }, () => random.gaussian() * 5 + 2);
  const windows = windowGrid(0, 12, 12, 6, 2);
  const means = windowMeanFeatures(features, channels, raster, windows);
  windows.forEach((w, k) => {
    const sum = [0, 0, 0];
    let n = 0;
    for (let j = 0; j < 6; j++)
      for (let i = 0; i < 6; i++)
        if (2 * i >= w.x && 2 * i < w.x + 6 && 2 * j >= w.y && 2 * j < w.y + 6) {
          for (let c = 0; c < channels; c++) sum[c] += features[(j * 6 + i) * channels + c];
          n++;
        }
    for (let c = 0; c < channels; c++) close(means[k][c], sum[c] / n, 1e-5);
  });
  const z = standardiseDescriptors(means);
  for (let c = 0; c < channels; c++) {
    const column = z.map((v) => v[c]);
    const mean = column.reduce((a, b) => a + b, 0) / column.length;
    const variance = column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length;
    close(mean, 0, 1e-5);
    close(variance, 1, 1e-4);
  }
});

// The hand-worked example: four 4² windows, two images (groups), descriptors in the plane.
const candidates: RankCandidate[] = [
  { window: { group: 0, x: 0, y: 0, size: 4 }, benefit: 0.8, descriptor: Float32Array.from([0, 0]) },
  { window: { group: 0, x: 8, y: 0, size: 4 }, benefit: 0.6, descriptor: Float32Array.from([3, 4]) },
  { window: { group: 1, x: 0, y: 0, size: 4 }, benefit: 0.5, descriptor: Float32Array.from([6, 8]) },
  // Three quarters on candidate 0: one stride away, nearly its descriptor.
  { window: { group: 0, x: 1, y: 0, size: 4 }, benefit: 0.7, descriptor: Float32Array.from([0, 0.1]) },
];

test('with nothing placed the order is by benefit, and a window overlapping a better one is left out', () => {
  assert.equal(overlapFraction(candidates[3].window, candidates[0].window), 0.75);
  const ranked = rankWindows(candidates, []);
  assert.deepEqual(
    ranked.map((r) => r.index),
    [0, 1, 2],
  );
  assert.ok(ranked.every((r) => r.diversity === 1 && r.distance === Infinity && r.score === r.benefit));
});

test('diversity pushes the best window, next to a placed patch in feature space, from first to out', () => {
  // Placed in a third image (no spatial overlap), at descriptor (0, 0): d = 0, 5, 10, 0.1.
  const placed = [{ window: { group: 2, x: 0, y: 0, size: 4 }, descriptor: Float32Array.from([0, 0]) }];
  // s = 5: diversity d / s = 0, 1, 2, 0.02; scores 0, 0.6, 1.0, 0.014.
  const ranked = rankWindows(candidates, placed, { diversityScale: 5 });
  assert.deepEqual(
    ranked.map((r) => r.index),
    [2, 1, 3], // 0 (score 0) comes after 3, which it overlaps: left out
  );
  [2, 1, 0.02].forEach((d, k) => close(ranked[k].diversity, d));
  [1.0, 0.6, 0.014].forEach((s, k) => close(ranked[k].score, s));
  // Default s: the median of d over the candidates, (0.1 + 5) / 2 = 2.55; the order is the same
  // (s scales every score alike).
  const byMedian = rankWindows(candidates, placed);
  assert.deepEqual(
    byMedian.map((r) => r.index),
    [2, 1, 3],
  );
  close(byMedian[0].score, 0.5 * (10 / 2.55));
  close(byMedian[1].score, 0.6 * (5 / 2.55));
  close(byMedian[2].score, 0.7 * (0.1 / 2.55));
});

test('greedy diversity vs a brute-force reference: benefit^γ × distance to placed and ranked above / median', () => {
  const random = new SeededRandom(21);
  const hypot = (a: Float32Array, b: Float32Array) => Math.hypot(...Array.from(a, (v, i) => v - b[i]));
  for (let trial = 0; trial < 30; trial++) {
    // γ = 1 (the default), 0 (farthest-point sampling) and ½, in turn.
    const gamma = [1, 0, 0.5][trial % 3];
    const dims = 1 + Math.floor(random.next() * 6);
    const vector = () => Float32Array.from({ length: dims }, () => random.gaussian());
    // Windows in separate groups: no overlap, so every candidate is ranked.
    const cs: RankCandidate[] = Array.from({ length: 3 + Math.floor(random.next() * 20) }, (_, k) => ({
      window: { group: k, x: 0, y: 0, size: 8 },
      benefit: random.next(),
      descriptor: vector(),
    }));
    const placed = Array.from({ length: 1 + Math.floor(random.next() * 4) }, (_, k) => ({
      window: { group: 1000 + k, x: 0, y: 0, size: 8 },
      descriptor: vector(),
    }));
    // The reference, step by step: every remaining window's distance to all placed and chosen
    // descriptors recomputed from scratch, the best score taken (ties: lower index); the scale
    // is the median of the distances to the placed patches alone, by sorting.
    const toPlaced = cs.map((c) => Math.min(...placed.map((p) => hypot(c.descriptor, p.descriptor))));
    const sorted = [...toPlaced].sort((a, b) => a - b);
    const n = sorted.length;
    const m = n % 2 ? sorted[n >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    const chosen: { index: number; distance: number; score: number }[] = [];
    const left = new Set(cs.keys());
    while (left.size > 0) {
      let best: { index: number; distance: number; score: number } | undefined;
      for (const k of left) {
        const seen = [...placed.map((p) => p.descriptor), ...chosen.map((c) => cs[c.index].descriptor)];
        const distance = Math.min(...seen.map((v) => hypot(cs[k].descriptor, v)));
        const score = (Math.pow(cs[k].benefit, gamma) * distance) / m;
        const tie = best && score === best.score && cs[k].benefit > cs[best.index].benefit;
        if (!best || score > best.score || tie) best = { index: k, distance, score };
      }
      chosen.push(best!);
      left.delete(best!.index);
    }
    const ranked = rankWindows(cs, placed, gamma === 1 ? {} : { benefitWeight: gamma });
    assert.deepEqual(
      ranked.map((r) => r.index),
      chosen.map((c) => c.index),
    );
    ranked.forEach((r, k) => {
      close(r.distance, chosen[k].distance, 1e-5);
      close(r.diversity, chosen[k].distance / m, 1e-5);
      close(r.score, chosen[k].score, 1e-5);
    });
  }
});

test('a window on a placed patch is never proposed, however different in feature space', () => {
  const placed = [{ window: { group: 0, x: 0, y: 0, size: 4 }, descriptor: Float32Array.from([100, 100]) }];
  const ranked = rankWindows(candidates, placed, { diversityScale: 1 });
  assert.deepEqual(
    ranked.map((r) => r.index),
    [1, 2],
  );
  assert.deepEqual(
    rankWindows(candidates, [], { limit: 2 }).map((r) => r.index),
    [0, 1],
  );
});
