import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labToRgb, rgbToLab } from '../../../core/stain/lab.js';
import { reinhardApply, reinhardStats } from '../../../core/stain/reinhard.js';
import { isTissue } from '../../../core/stain/optical-density.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { referenceLab, referenceLabStats } from './synthetic-stain.js';
import { referenceIsTissue } from './synthetic-stain.js';

test('rgbToLab: CIE values of white, black and the sRGB primaries; labToRgb inverts it', () => {
  const lab = [0, 0, 0];
  const known: [number[], number[]][] = [
    [
      [255, 255, 255],
      [100, 0, 0],
    ],
    [
      [0, 0, 0],
      [0, 0, 0],
    ],
    [
      [255, 0, 0],
      [53.2408, 80.0925, 67.2032],
    ],
    [
      [0, 255, 0],
      [87.7347, -86.1827, 83.1793],
    ],
    [
      [0, 0, 255],
      [32.297, 79.1875, -107.8602],
    ],
  ];
  for (const [rgb, expected] of known) {
    rgbToLab(rgb[0], rgb[1], rgb[2], lab);
    expected.forEach((v, c) => assert.ok(Math.abs(lab[c] - v) < 2e-3, `${rgb}: ${lab} vs ${expected}`));
  }
  const rng = new SeededRandom(3);
  const back = [0, 0, 0];
  for (let k = 0; k < 2000; k++) {
    const rgb = [0, 1, 2].map(() => Math.floor(rng.next() * 256));
    rgbToLab(rgb[0], rgb[1], rgb[2], lab);
    const ref = referenceLab(rgb[0], rgb[1], rgb[2]);
    ref.forEach((v, c) => assert.ok(Math.abs(lab[c] - v) < 1e-9, `${rgb}: ${lab} vs reference ${ref}`));
    labToRgb(lab[0], lab[1], lab[2], back);
    rgb.forEach((v, c) => assert.ok(Math.abs(back[c] - v) < 1e-6, `${rgb} → ${lab} → ${back}`));
  }
});

/** Pinkish-purple tissue around (r, g, b) with spread s, and some glass; clamped bytes. */
function tissueImage(centre: number[], spread: number, pixels: number, seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  const rgb = new Uint8Array(3 * pixels);
  for (let p = 0; p < pixels; p++) {
    const glass = rng.next() < 0.15;
    const t = rng.next() - 0.5;
    for (let c = 0; c < 3; c++) {
      const v = glass ? 240 + 10 * rng.next() : centre[c] + spread * (t + 0.4 * (rng.next() - 0.5));
      rgb[3 * p + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return rgb;
}

test('reinhardStats: mean and std of L*a*b* over the tissue pixels equal a float64 loop; glass left out', () => {
  const rgb = tissueImage([170, 110, 160], 60, 20_000, 1);
  const { stats, pixels } = reinhardStats(rgb);
  const ref = referenceLabStats(rgb, referenceIsTissue);
  assert.equal(pixels, ref.n);
  assert.ok(ref.n > 15_000 && ref.n < 19_000, `${ref.n} tissue pixels: the glass must be excluded`);
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(stats.mean[c] - ref.mean[c]) < 1e-9, `mean ${c}: ${stats.mean[c]} vs ${ref.mean[c]}`);
    assert.ok(Math.abs(stats.std[c] - ref.std[c]) < 1e-7, `std ${c}: ${stats.std[c]} vs ${ref.std[c]}`);
  }
  assert.equal(isTissue(240, 235, 245), false, 'glass');
  assert.equal(isTissue(230, 150, 200), true, 'pale eosin');
});

test('reinhardApply: an image with known L*a*b* statistics maps to the target statistics', () => {
  const source = tissueImage([150, 90, 170], 50, 30_000, 2); // a bluer, darker stain
  const target = { mean: [62, 28, -12] as const, std: [11, 7, 6] as const };
  const from = reinhardStats(source).stats;
  const out = reinhardApply(source, from, target);
  // The statistics of the output's tissue (the pixels that were tissue before), from the test's own LAB.
  const wasTissue = new Uint8Array(source.length / 3).map((_, p) =>
    referenceIsTissue(source[3 * p], source[3 * p + 1], source[3 * p + 2]) ? 1 : 0,
  );
  const kept = new Uint8Array(wasTissue.reduce((s, v) => s + v, 0) * 3);
  for (let p = 0, k = 0; p < wasTissue.length; p++) if (wasTissue[p]) kept.set(out.subarray(3 * p, 3 * p + 3), 3 * k++);
  const after = referenceLabStats(kept, () => true);
  // Bytes round each channel by ≤ 0.5, about 0.2 L*a*b* units: the statistics within that.
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(after.mean[c] - target.mean[c]) < 0.3, `mean ${c}: ${after.mean[c]} vs ${target.mean[c]}`);
    assert.ok(Math.abs(after.std[c] - target.std[c]) < 0.3, `std ${c}: ${after.std[c]} vs ${target.std[c]}`);
  }
  // Identity statistics leave every pixel as it was (to the byte).
  assert.deepEqual(reinhardApply(source, from, from), source);
});
