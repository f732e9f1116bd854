import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openTiff } from '../../core/slide/tiff-source.js';
import { parseSupportSet } from '../../core/support-set/support-set-file.js';
import { LABEL_CLASS, LABEL_IGNORE } from '../../core/support-set/support-set.js';
import { makeExampleSupportSet } from '../../tools/example-support.js';

// The demo's *Try an example* support set is made by our own tools from the committed slide's
// pixels (tools/make-example-support.ts): remaking it gives the committed file, byte for byte.
const SLIDE = 'viewer-demo/slides/CMU-1-Small-Region.svs';
const EXAMPLE = 'viewer-demo/examples/cmu-example.support.json';

test('the committed example support set is what tools/make-example-support.ts makes of the CMU-1 slide', async () => {
  const slide = await openTiff({
    kind: 'blob',
    blob: new Blob([readFileSync(SLIDE)]),
    name: 'CMU-1-Small-Region.svs',
  });
  const extractorMpp = JSON.parse(readFileSync('models/default/extractors.json', 'utf8')).mppExpected;
  const remade = await makeExampleSupportSet(slide, { extractorMpp });
  const committed = readFileSync(EXAMPLE, 'utf8');
  assert.equal(remade.text, committed, 'remake it: npx tsx tools/make-example-support.ts');

  // It is a support set of that slide, at the shipped extractors' scale, as the panel reads one.
  const level0 = slide.levels[0];
  const state = parseSupportSet(committed, {
    slide: { name: slide.name, width: level0.width, height: level0.height, mpp: slide.mpp!.x },
    extractorMpp,
    patchSize: 256,
  });
  assert.equal(state.patches.length, 5);
  const painted = state.patches.map((p) => p.mask.filter((v) => v === LABEL_CLASS).length);
  const ignored = state.patches.map((p) => p.mask.filter((v) => v === LABEL_IGNORE).length);
  console.log(`# example: class pixels per patch ${painted.join(', ')}; ignored ${ignored.join(', ')}`);
  // Every patch shows the class (a few nuclei: ≥ 500 px of 65536) and is mostly labelled, not ignored.
  for (let k = 0; k < 5; k++) {
    assert.ok(painted[k] >= 500, `patch ${k + 1}: ${painted[k]} class pixels`);
    assert.ok(ignored[k] < 0.25 * 256 * 256, `patch ${k + 1}: ${ignored[k]} ignored pixels`);
  }
});
