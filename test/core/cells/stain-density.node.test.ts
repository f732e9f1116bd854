import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EOSIN, HAEMATOXYLIN, channelDensity, stainDensity } from '../../../core/cells/stain-density.js';

/** The 8-bit value whose optical density −log10((v + 1) / 256) is `od`, rounded. */
const valueOf = (od: number) => Math.min(255, Math.max(0, Math.round(256 * 10 ** -od - 1)));

test('a colour made of known H and E amounts deconvolves back to them (within 8-bit rounding)', () => {
  for (const [h, e] of [
    [0.6, 0.1],
    [0.2, 0.5],
    [1.0, 0.3],
    [0, 0],
  ]) {
    const od = [0, 1, 2].map((c) => h * HAEMATOXYLIN[c] + e * EOSIN[c]);
    const [r, g, b] = od.map(valueOf);
    const got = stainDensity(r, g, b);
    assert.ok(Math.abs(got.haematoxylin - h) < 0.02, `H ${got.haematoxylin} for ${h}`);
    assert.ok(Math.abs(got.eosin - e) < 0.02, `E ${got.eosin} for ${e}`);
  }
});

test('white is no stain; the optical density of a channel is −log10((v + 1) / 256)', () => {
  const white = stainDensity(255, 255, 255);
  assert.equal(white.haematoxylin, 0);
  assert.equal(white.eosin, 0);
  assert.equal(channelDensity(127), -Math.log10(128 / 256));
  // The stain vectors are Ruifrok & Johnston's, normalised.
  const norm = Math.hypot(0.65, 0.7, 0.29);
  assert.deepEqual(
    HAEMATOXYLIN.map((v) => v.toFixed(12)),
    [0.65 / norm, 0.7 / norm, 0.29 / norm].map((v) => v.toFixed(12)),
  );
});
