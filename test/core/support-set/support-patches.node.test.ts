import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSupport } from '../../../core/adaptation/support-features.js';
import { readSupportPatches, supportRegions, toSupportPatches } from '../../../core/support-set/support-patches.js';
import { createSupportSet } from '../../../core/support-set/support-set.js';
import { boxResize } from '../../../core/slide/read-scaled.js';
import { memorySource } from '../inference/engine-fixtures.js';

test('support patches are the slide regions under the boxes, read at patch size, with the painted masks', async () => {
  const source = memorySource(600, 500, 5);
  // 0.5 µm/px extractors on a 0.25 µm/px slide: each patch pixel is 2×2 level-0 pixels.
  const s = createSupportSet({ slide: { name: source.name, width: 600, height: 500, mpp: 0.25 }, extractorMpp: 0.5, patchSize: 64 });
  const a = s.addPatch({ x: 10, y: 20 });
  const b = s.addPatch({ x: 300, y: 100 }, { scale: 1 });
  s.paintStroke(a, { label: 'class', size: 10 }, [[20, 20], [40, 40]]);
  s.fillPolygon(b, [[[0, 0], [64, 0], [64, 10], [0, 10]]], 'ignore');
  s.paintStroke(b, { label: 'class', size: 4 }, [[30, 30]]);
  assert.deepEqual(supportRegions(s.state()), [
    { id: a, x: 10, y: 20, width: 128, height: 128, outWidth: 64, outHeight: 64 },
    { id: b, x: 300, y: 100, width: 64, height: 64, outWidth: 64, outHeight: 64 },
  ]);
  const support = await readSupportPatches(s.state(), source);
  assert.equal(support.length, 2);
  const counts = checkSupport(support);
  assert.equal(counts.ignored, 640, 'the ignore band reaches adapt() as its "unlabelled" value');
  assert.ok(counts.positive > 100 && counts.negative > 5000);
  for (const [k, patch] of support.entries()) {
    const { x, y, width } = supportRegions(s.state())[k];
    const crop = new Uint8Array(width * width * 3);
    for (let row = 0; row < width; row++) crop.set(source.pixels.subarray(((y + row) * 600 + x) * 3, ((y + row) * 600 + x + width) * 3), row * width * 3);
    assert.deepEqual(patch.rgb, boxResize(crop, width, width, 64, 64), `patch ${k} is its box, averaged to 64×64`);
    assert.deepEqual(patch.mask, s.patches[k].mask);
    assert.notEqual(patch.mask, s.patches[k].mask, 'a copy: adapt may transfer it to a worker');
  }
});

test('edits made while the pixels load do not reach the patches being read', async () => {
  const s = createSupportSet({ slide: { name: 's', width: 100, height: 100 }, extractorMpp: 0.5, scale: 1, patchSize: 16 });
  const id = s.addPatch({ x: 0, y: 0 });
  const reading = toSupportPatches(s.state(), async () => {
    await new Promise((r) => setTimeout(r, 5));
    return new Uint8Array(16 * 16 * 3);
  });
  s.paintStroke(id, { label: 'class', size: 40 }, [[8, 8]]);
  const [patch] = await reading;
  assert.ok(patch.mask.every((v) => v === 0));
  await assert.rejects(
    toSupportPatches(s.state(), async () => new Uint8Array(5)),
    /read 5 bytes, expected 16×16×3/,
  );
});
