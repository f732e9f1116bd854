import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSupport } from '../../../core/adaptation/support-patch.js';
import { inferenceGrid } from '../../../core/inference/inference-grid.js';
import { resampledSource } from '../../../core/inference/resampled-source.js';
import { boxResize } from '../../../core/slide/read-scaled.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { gridPatches, readGridPatches, supportProblem } from '../../../core/support-set/support-patches.js';
import { createSupportSet } from '../../../core/support-set/support-set.js';
import { memorySource } from '../inference/engine-fixtures.js';

test('support patches reach adaptation on the grid with copies of their labels, read there as their box', async () => {
  const source = memorySource(600, 500, 5);
  // 0.5 µm/px extractors on a 0.25 µm/px slide: the grid is the slide halved, a patch pixel
  // 2×2 level-0 pixels.
  const grid = inferenceGrid({ levels: source.levels, mpp: { x: 0.25, y: 0.25 } }, 0.5);
  assert.equal(grid.scaleX, 2);
  const s = createSupportSet({
    slide: { name: source.name, width: 600, height: 500, mpp: 0.25 },
    extractorMpp: 0.5,
    patchSize: 64,
  });
  assert.equal(s.defaultScale, grid.scaleX);
  const a = s.addPatch({ x: 10, y: 20 });
  const b = s.addPatch({ x: 300, y: 100 });
  s.paintStroke(a, { label: 'class', size: 10 }, [
    [20, 20],
    [40, 40],
  ]);
  s.fillPolygon(
    b,
    [
      [
        [0, 0],
        [64, 0],
        [64, 10],
        [0, 10],
      ],
    ],
    'ignore',
  );
  s.paintStroke(b, { label: 'class', size: 4 }, [[30, 30]]);
  const patches = gridPatches(s.state(), grid);
  assert.deepEqual(
    patches.map(({ x, y, size }) => [x, y, size]),
    [
      [5, 10, 64],
      [150, 50, 64],
    ],
  );
  for (const [k, patch] of patches.entries()) {
    assert.deepEqual(patch.mask, s.patches[k].mask);
    assert.notEqual(patch.mask, s.patches[k].mask, 'a copy: adapt may transfer it to a worker');
  }

  const support = await readGridPatches(patches, resampledSource(source, grid.level, grid.width, grid.height));
  assert.equal(support.length, 2);
  const counts = checkSupport(support);
  assert.equal(counts.ignored, 640, 'the ignore band reaches adapt() as its "unlabelled" value');
  assert.ok(counts.positive > 100 && counts.negative > 5000);
  for (const [k, patch] of support.entries()) {
    const { x, y } = s.patches[k];
    const side = 128;
    const crop = new Uint8Array(side * side * 3);
    for (let row = 0; row < side; row++) {
      crop.set(source.pixels.subarray(((y + row) * 600 + x) * 3, ((y + row) * 600 + x + side) * 3), row * side * 3);
    }
    // Against read-scaled's box average of the level-0 box (an independent resampler): equal up
    // to rounding.
    const box = boxResize(crop, side, side, 64, 64);
    const worst = patch.rgb.reduce((m, v, i) => Math.max(m, Math.abs(v - box[i])), 0);
    assert.ok(worst <= 1, `patch ${k} is its level-0 box averaged to 64×64 (worst difference ${worst})`);
    assert.equal(patch.mask, patches[k].mask);
  }
});

test('a support set nothing can be fitted on is named for what it lacks', () => {
  const slide = { name: 's', width: 100, height: 100 };
  const s = createSupportSet({ slide, extractorMpp: 0.5, scale: 1, patchSize: 16 });
  assert.match(supportProblem(s.state()) ?? '', /the support set is empty: place at least one support patch/);
  const id = s.addPatch({ x: 0, y: 0 });
  s.paintStroke(id, { label: 'ignore', size: 6 }, [[8, 8]]);
  assert.match(supportProblem(s.state()) ?? '', /no support patch has any pixel of the new class painted/);
  s.paintStroke(id, { label: 'class', size: 2 }, [[3, 3]]);
  assert.equal(supportProblem(s.state()), null);
});

test('edits made after the patches were taken do not reach them; a short read is refused', async () => {
  const slide = { name: 's', width: 100, height: 100 };
  const s = createSupportSet({ slide, extractorMpp: 0.5, scale: 1, patchSize: 16 });
  const id = s.addPatch({ x: 0, y: 0 });
  const patches = gridPatches(s.state(), { scaleX: 1, scaleY: 1 });
  s.paintStroke(id, { label: 'class', size: 40 }, [[8, 8]]);
  assert.ok(patches[0].mask.every((v) => v === 0));
  const short: PixelSource = { ...memorySource(100, 100, 1), readRegion: async () => new Uint8Array(5) };
  await assert.rejects(readGridPatches(patches, short), /support patch 0: read 5 bytes, expected 16×16×3/);
});
