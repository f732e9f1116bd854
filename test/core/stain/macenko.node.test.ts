import assert from 'node:assert/strict';
import { test } from 'node:test';
import { macenkoApply, macenkoStats } from '../../../core/stain/macenko.js';
import { symmetricEigen } from '../../../core/math/symmetric-eigen.js';
import { percentile } from '../../../core/math/percentile.js';
import { OTHER_E, OTHER_H, RUIFROK_E, RUIFROK_H, cosine, twoStainImage } from './synthetic-stain.js';
import { referenceIsTissue } from './synthetic-stain.js';

test('symmetricEigen: A v = λ v for every pair, values descending, vectors orthonormal', () => {
  const m = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 1];
  const { values, vectors } = symmetricEigen(m, 3);
  assert.ok(values[0] >= values[1] && values[1] >= values[2]);
  for (let k = 0; k < 3; k++) {
    for (let r = 0; r < 3; r++) {
      const av = m[3 * r] * vectors[k][0] + m[3 * r + 1] * vectors[k][1] + m[3 * r + 2] * vectors[k][2];
      assert.ok(Math.abs(av - values[k] * vectors[k][r]) < 1e-12, `pair ${k} row ${r}`);
    }
    for (let j = 0; j < 3; j++) {
      const d = vectors[k].reduce((s, v, c) => s + v * vectors[j][c], 0);
      assert.ok(Math.abs(d - (j === k ? 1 : 0)) < 1e-12);
    }
  }
  // Trace and determinant are kept.
  assert.ok(Math.abs(values[0] + values[1] + values[2] - 8) < 1e-12);
});

test('percentile: linear between order statistics, as numpy', () => {
  assert.equal(percentile([3, 1, 2, 4], 50), 2.5);
  assert.equal(percentile([10, 20, 30, 40, 50], 99), 49.6);
  assert.equal(percentile([7], 1), 7);
});

/** The 99th percentile of each true concentration over the pixels the estimate uses (the test's own loop). */
function trueMaxConcentrations(image: ReturnType<typeof twoStainImage>): [number, number] {
  const h: number[] = [],
    e: number[] = [];
  for (let p = 0; p < image.rgb.length / 3; p++) {
    if (!referenceIsTissue(image.rgb[3 * p], image.rgb[3 * p + 1], image.rgb[3 * p + 2])) continue;
    h.push(image.concentrations[2 * p]);
    e.push(image.concentrations[2 * p + 1]);
  }
  const p99 = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    const at = 0.99 * (s.length - 1);
    return s[Math.floor(at)] + (at - Math.floor(at)) * (s[Math.ceil(at)] - s[Math.floor(at)]);
  };
  return [p99(h), p99(e)];
}

test('macenkoStats: the stain vectors of a synthetic two-stain image are recovered, H first', () => {
  for (const [h, e] of [
    [RUIFROK_H, RUIFROK_E],
    [OTHER_H, OTHER_E],
  ]) {
    const image = twoStainImage(h, e, 40_000, 5);
    const found = macenkoStats(image.rgb);
    assert.ok(found);
    const [fh, fe] = found.stats.stains;
    // Within ~2.5° of the true directions: bytes quantise the optical density.
    assert.ok(cosine(fh, h) > 0.999, `H ${fh} vs ${h}: cos ${cosine(fh, h)}`);
    assert.ok(cosine(fe, e) > 0.999, `E ${fe} vs ${e}: cos ${cosine(fe, e)}`);
    const truth = trueMaxConcentrations(image);
    found.stats.maxConcentrations.forEach((c, k) =>
      assert.ok(Math.abs(c / truth[k] - 1) < 0.05, `max concentration ${k}: ${c} vs true ${truth[k]}`),
    );
  }
});

test('macenkoApply: pixels of known concentrations come out as the target stains at the scaled concentrations', () => {
  const source = twoStainImage(OTHER_H, OTHER_E, 40_000, 6, 1.2, 1.4);
  const target = twoStainImage(RUIFROK_H, RUIFROK_E, 40_000, 7, 1.8, 0.8);
  const from = macenkoStats(source.rgb)!.stats;
  const to = macenkoStats(target.rgb)!.stats;
  const out = macenkoApply(source.rgb, from, to);
  // The output's stains are the target's.
  const after = macenkoStats(out)!.stats;
  assert.ok(cosine(after.stains[0], RUIFROK_H) > 0.999, `H after ${after.stains[0]}`);
  assert.ok(cosine(after.stains[1], RUIFROK_E) > 0.999, `E after ${after.stains[1]}`);
  after.maxConcentrations.forEach((c, k) =>
    assert.ok(Math.abs(c / to.maxConcentrations[k] - 1) < 0.05, `max ${k}: ${c} vs target ${to.maxConcentrations[k]}`),
  );
  // Pixel by pixel against Beer–Lambert in float64 from the true concentrations, scaled by the
  // true 99th percentiles' ratio and mixed with the true target vectors: within a few grey levels.
  const [sh, se] = trueMaxConcentrations(source);
  const [th, te] = trueMaxConcentrations(target);
  let worst = 0;
  for (let p = 0; p < 2000; p++) {
    const ch = (source.concentrations[2 * p] * th) / sh;
    const ce = (source.concentrations[2 * p + 1] * te) / se;
    for (let c = 0; c < 3; c++) {
      const expected = 255 * Math.exp(-(ch * RUIFROK_H[c] + ce * RUIFROK_E[c]));
      worst = Math.max(worst, Math.abs(out[3 * p + c] - Math.min(255, expected)));
    }
  }
  assert.ok(worst <= 8, `worst pixel ${worst} grey levels from the reference`);
});
