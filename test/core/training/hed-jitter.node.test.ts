import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHedJitter, drawHedJitter, RGB_FROM_HED, type HedJitter } from '../../../core/training/hed-jitter.js';
import { CropSampler, type MaskedImage } from '../../../core/training/crop-sampler.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

/** Solves c · M = od for c (M 3×3, rows the stain vectors) by Gaussian elimination with partial pivoting. */
function unmix(od: readonly number[], m: readonly (readonly number[])[]): number[] {
  // The system Mᵀ c = od, as an augmented matrix.
  const a = [0, 1, 2].map((r) => [m[0][r], m[1][r], m[2][r], od[r]]);
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let r = col + 1; r < 3; r++) {
      const f = a[r][col] / a[col][col];
      for (let k = col; k < 4; k++) a[r][k] -= f * a[col][k];
    }
  }
  const c = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let right = 0;
    for (let k = r + 1; k < 3; k++) right += a[r][k] * c[k];
    c[r] = (a[r][3] - right) / a[r][r];
  }
  return c;
}

/** The jitter pixel by pixel, written from the definition: OD, unmix, c·α + β, remix, back to light. */
function reference(rgb: Uint8Array, { alpha, beta }: HedJitter): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const od = [0, 1, 2].map((k) => -Math.log(Math.max(rgb[i + k], 1) / 255));
    const c = unmix(od, RGB_FROM_HED).map((v, k) => v * alpha[k] + beta[k]);
    for (let ch = 0; ch < 3; ch++) {
      const v = 255 * Math.exp(-(c[0] * RGB_FROM_HED[0][ch] + c[1] * RGB_FROM_HED[1][ch] + c[2] * RGB_FROM_HED[2][ch]));
      out[i + ch] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return out;
}

function randomRgb(n: number, seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  return Uint8Array.from({ length: 3 * n }, () => rng.int(256));
}

test('HED jitter equals colour deconvolution solved per pixel, jittered and remixed', () => {
  const rgb = randomRgb(4000, 1);
  const rng = new SeededRandom(2);
  for (const sigma of [0.05, 0.2]) {
    const jitter = drawHedJitter(sigma, rng);
    const got = applyHedJitter(rgb, jitter);
    const want = reference(rgb, jitter);
    let off = 0;
    for (let i = 0; i < got.length; i++) {
      // Both in float64; only a value within rounding of .5 may land on the other byte.
      assert.ok(Math.abs(got[i] - want[i]) <= 1, `byte ${i}: ${got[i]} vs ${want[i]}`);
      if (got[i] !== want[i]) off++;
    }
    assert.ok(off <= 2, `${off} bytes one off`);
    assert.ok(
      got.some((v, i) => v !== rgb[i]),
      `σ ${sigma} changes colours`,
    );
  }
});

test('no jitter (α = 1, β = 0) gives the pixels back; black stays at the OD clamp (1)', () => {
  const rgb = randomRgb(3000, 5);
  const same = applyHedJitter(rgb, { alpha: [1, 1, 1], beta: [0, 0, 0] });
  rgb.forEach((v, i) => assert.equal(same[i], Math.max(v, 1), `byte ${i}`));
});

test('jittering haematoxylin alone moves optical density along the haematoxylin vector', () => {
  const rgb = Uint8Array.from([120, 80, 160, 200, 150, 190, 90, 60, 140, 230, 200, 220]);
  const out = applyHedJitter(rgb, { alpha: [1, 1, 1], beta: [0.3, 0, 0] });
  const h = RGB_FROM_HED[0];
  for (let i = 0; i < rgb.length; i += 3) {
    const d = [0, 1, 2].map((k) => Math.log(Math.max(rgb[i + k], 1) / Math.max(out[i + k], 1)));
    // d = 0.3 · h, up to the byte rounding of the output (≤ 0.5/60 in log units at these values).
    d.forEach((v, k) => assert.ok(Math.abs(v - 0.3 * h[k]) < 0.02, `pixel ${i / 3} channel ${k}: ${v}`));
  }
});

test('the jitter is drawn within [1 − σ, 1 + σ] and [−σ, σ]', () => {
  const rng = new SeededRandom(9);
  const draws = Array.from({ length: 200 }, () => drawHedJitter(0.1, rng));
  for (const { alpha, beta } of draws) {
    alpha.forEach((a) => assert.ok(a >= 0.9 && a <= 1.1, String(a)));
    beta.forEach((b) => assert.ok(b >= -0.1 && b <= 0.1, String(b)));
  }
  // Spread over the range, not stuck at a point.
  const h = draws.map((d) => d.beta[0]);
  assert.ok(Math.min(...h) < -0.08 && Math.max(...h) > 0.08);
});

test('the crop sampler jitters the colours only, and without the option draws what it always drew', () => {
  const size = 32;
  const rng0 = new SeededRandom(4);
  const images: MaskedImage[] = [1, 2].map((k) => ({
    name: `im${k}`,
    width: size,
    height: size,
    rgb: Uint8Array.from({ length: size * size * 3 }, () => 60 + rng0.int(190)),
    mask: Uint8Array.from({ length: size * size }, () => (rng0.next() < 0.3 ? 1 : 0)),
  }));
  const options = { size: 16, positiveFraction: 0.8, augment: true };
  const plain = new CropSampler(images, options);
  const off = new CropSampler(images, { ...options, hedJitter: 0 });
  const on = new CropSampler(images, { ...options, hedJitter: 0.1 });
  const [a, b, c] = [new SeededRandom(7), new SeededRandom(7), new SeededRandom(7)];
  for (let i = 0; i < 20; i++) {
    const p = plain.sample(a);
    assert.deepEqual(off.sample(b), p);
    const j = on.sample(c);
    // The same place (the mask), other colours; then the generators part (the jitter's six draws).
    if (i === 0) {
      assert.deepEqual(j.mask, p.mask);
      assert.notDeepEqual(j.rgb, p.rgb);
    }
  }
  assert.equal(a.state, b.state);
});
