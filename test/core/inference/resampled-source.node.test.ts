import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outputTiles } from '../../../core/inference/patch-grid.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { predictTile } from '../../../core/inference/predict-tile.js';
import { resampledSource } from '../../../core/inference/resampled-source.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { memorySource, positionalModel } from './engine-fixtures.js';

/**
 * The reference, written from the definitions without the separable passes: each output pixel
 * as one 2-D weighted sum over the whole level, with the interpolation weight written as a tent
 * (1 − distance) rather than as floor and fraction, and the area weight as a rectangle overlap.
 */
function weight(length: number, outLength: number, u: number, i: number): number {
  const r = length / outLength;
  if (r === 1) return i === u ? 1 : 0;
  if (r < 1) {
    const c = Math.min(length - 1, Math.max(0, (u + 0.5) * r - 0.5));
    return Math.max(0, 1 - Math.abs(c - i));
  }
  const a = u * r,
    b = Math.min(length, (u + 1) * r);
  return Math.max(0, Math.min(b, i + 1) - Math.max(a, i)) / (b - a);
}

function reference(pixels: Uint8Array, w: number, h: number, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH * 3);
  const wx = Array.from({ length: outW }, (_, u) => Float64Array.from({ length: w }, (_, i) => weight(w, outW, u, i)));
  const wy = Array.from({ length: outH }, (_, v) => Float64Array.from({ length: h }, (_, j) => weight(h, outH, v, j)));
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let j = 0; j < h; j++) {
          if (wy[v][j] === 0) continue;
          for (let i = 0; i < w; i++) if (wx[u][i] !== 0) s += wx[u][i] * wy[v][j] * pixels[(j * w + i) * 3 + c];
        }
        out[(v * outW + u) * 3 + c] = Math.round(s);
      }
    }
  }
  return out;
}

function crop(rgb: Uint8Array, stride: number, x: number, y: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++)
    out.set(rgb.subarray(((y + r) * stride + x) * 3, ((y + r) * stride + x + w) * 3), r * w * 3);
  return out;
}

/** A one-level source of the given pixels (the level under test is level 0 of it). */
function sourceOf(pixels: Uint8Array, width: number, height: number): PixelSource {
  const s = memorySource(width, height, 1);
  s.pixels.set(pixels);
  return s;
}

test('by hand: 2×2 → 4×4 interpolates between pixel centres, 4×4 → 2×2 averages blocks', async () => {
  // Channel 0 only matters; 0 100 / 200 40.
  const px = new Uint8Array([0, 0, 0, 100, 0, 0, 200, 0, 0, 40, 0, 0]);
  const up = await resampledSource(sourceOf(px, 2, 2), 0, 4, 4).readRegion({
    level: 0,
    x: 0,
    y: 0,
    width: 4,
    height: 4,
  });
  const red = Array.from({ length: 16 }, (_, i) => up[i * 3]);
  // Centres at −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1) along each axis.
  assert.deepEqual(red.slice(0, 4), [0, 25, 75, 100]);
  assert.deepEqual(red.slice(12, 16), [200, 160, 80, 40]);
  // Row 1 at y = 0.25: 0.75·row 0 + 0.25·row 1.
  assert.deepEqual(red.slice(4, 8), [50, 59, 76, 85]);
  const block = new Uint8Array(16 * 3);
  [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160].forEach((v, i) => (block[i * 3 + 1] = v));
  const down = await resampledSource(sourceOf(block, 4, 4), 0, 2, 2).readRegion({
    level: 0,
    x: 0,
    y: 0,
    width: 2,
    height: 2,
  });
  assert.deepEqual([down[1], down[4], down[7], down[10]], [35, 55, 115, 135]);
});

const cases = [
  { w: 37, h: 29, outW: 74, outH: 58, what: 'upsampling 2× (a 0.5 µm/px slide, 0.25 µm/px extractors)' },
  { w: 41, h: 33, outW: 51, outH: 40, what: 'upsampling by a non-integer factor' },
  { w: 64, h: 48, outW: 32, outH: 24, what: 'downsampling 2×' },
  { w: 70, h: 51, outW: 28, outH: 37, what: 'downsampling by 2.5 and 1.38' },
  { w: 45, h: 60, outW: 70, outH: 23, what: 'up along x, down along y' },
  { w: 40, h: 30, outW: 40, outH: 30, what: 'the identity' },
];

for (const { w, h, outW, outH, what } of cases) {
  test(
    `${what}: equals the 2-D reference, ` + `and any rectangle read alone equals the same pixels of the whole`,
    async () => {
      const level = memorySource(w, h, w * 7 + h);
      const source = resampledSource(level, 0, outW, outH);
      const whole = await source.readRegion({ level: 0, x: 0, y: 0, width: outW, height: outH });
      const expected = reference(level.pixels, w, h, outW, outH);
      let worst = 0,
        off = 0;
      for (let i = 0; i < whole.length; i++) {
        const d = Math.abs(whole[i] - expected[i]);
        worst = Math.max(worst, d);
        if (d) off++;
      }
      // Only a sum landing within rounding of .5 may round the other way.
      assert.ok(worst <= 1 && off <= whole.length / 500, `max |Δ| ${worst}, ${off} of ${whole.length} values differ`);
      if (outW === w && outH === h) assert.deepEqual(whole, level.pixels, 'the identity passes pixels through');
      const random = new SeededRandom(outW * outH);
      for (let trial = 0; trial < 40; trial++) {
        const x = random.int(outW),
          y = random.int(outH);
        const r = { x, y, width: 1 + random.int(outW - x), height: 1 + random.int(outH - y) };
        const part = await source.readRegion({ level: 0, ...r });
        assert.deepEqual(part, crop(whole, outW, r.x, r.y, r.width, r.height), `rectangle ${JSON.stringify(r)}`);
      }
      assert.equal(source.levels[0].width, outW);
      await assert.rejects(source.readRegion({ level: 0, x: outW - 1, y: 0, width: 2, height: 1 }), RangeError);
    },
  );
}

test(
  'predicting on a resampled grid: every tile computed alone equals the same pixels of the ' +
    'whole region, bit for bit',
  async () => {
    const level = memorySource(90, 70, 4);
    const source = resampledSource(level, 0, 180, 140);
    const grid = { patchSize: 32, stride: 8 };
    const region = { x: 3, y: 5, width: 170, height: 130 };
    const whole = await predictTile(source, 0, region, positionalModel, grid);
    for (const tile of outputTiles(region, { width: 180, height: 140 }, 48)) {
      const alone = await predictTile(source, 0, tile, positionalModel, grid);
      for (let y = Math.max(tile.y, region.y); y < Math.min(tile.y + tile.height, region.y + region.height); y++) {
        for (let x = Math.max(tile.x, region.x); x < Math.min(tile.x + tile.width, region.x + region.width); x++) {
          const a = alone[(y - tile.y) * tile.width + x - tile.x],
            b = whole[(y - region.y) * region.width + x - region.x];
          if (a !== b) assert.fail(`tile ${JSON.stringify(tile)} differs at ${x},${y}: ${a} vs ${b}`);
        }
      }
    }
  },
);

test('the scale is carried: microns per pixel of the resampled image', () => {
  const level = { ...memorySource(100, 80, 2), mpp: { x: 0.5, y: 0.5 } };
  const s = resampledSource(level, 0, 200, 160);
  assert.deepEqual(s.mpp, { x: 0.25, y: 0.25 });
  assert.throws(() => resampledSource(level, 1, 10, 10), RangeError);
  assert.throws(() => resampledSource(level, 0, 0, 10), RangeError);
});
