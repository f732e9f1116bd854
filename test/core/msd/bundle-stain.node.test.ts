import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { BundleError } from '../../../core/msd/bundle-error.js';
import { readBundle, withIntegrity, writeBundle, type ExtractorBundle } from '../../../core/msd/bundle.js';
import type { StainStats } from '../../../core/stain/stain-stats.js';
import { RUIFROK_E, RUIFROK_H } from '../stain/synthetic-stain.js';
import { randomWeights } from './msd-test-cases.js';

const STAIN: StainStats = {
  reinhard: { mean: [61.5, 24.25, -10.5], std: [14.5, 8.25, 6.75] },
  macenko: { stains: [RUIFROK_H, RUIFROK_E], maxConcentrations: [1.75, 0.875] },
  pixels: 123_456,
};

function bundle(stain?: StainStats): ExtractorBundle {
  const normalisation = { mean: [180, 130, 170], std: [40, 50, 35] };
  return {
    classes: [{ name: 'epithelial', weights: { ...randomWeights(3, 3, 31), normalisation } }],
    mpp: 0.25,
    metadata: { data: 'synthetic' },
    ...(stain ? { stain } : {}),
  };
}

test('a bundle with stain statistics: written, read back through JSON with checksum and probe, equal', async () => {
  const { manifest, weights } = await writeBundle(bundle(STAIN));
  const read = await readBundle(JSON.stringify(manifest), weights);
  assert.deepEqual(read.stain, STAIN);
  assert.equal(read.warnings, undefined);
  // Sealing again (seal-bundle) keeps them.
  const resealed = await withIntegrity(JSON.parse(JSON.stringify(manifest)), weights);
  assert.deepEqual((await readBundle(resealed, weights)).stain, STAIN);
});

test('an old bundle, without stain statistics, loads: no stain, no new warning', async () => {
  const { manifest, weights } = await writeBundle(bundle());
  assert.equal('stain' in manifest, false);
  const read = await readBundle(JSON.stringify(manifest), weights);
  assert.equal(read.stain, undefined);
  assert.equal(read.warnings, undefined);
});

test('bad stain statistics are refused with bad-stain', async () => {
  const { manifest, weights } = await writeBundle(bundle(STAIN));
  const bad: unknown[] = [
    'reinhard',
    { ...STAIN, reinhard: { mean: [1, 2], std: [1, 1, 1] } },
    { ...STAIN, reinhard: { mean: [1, 2, 3], std: [1, 0, 1] } },
    { ...STAIN, macenko: { ...STAIN.macenko, stains: [[1, 1, 0], RUIFROK_E] } },
    { ...STAIN, macenko: { ...STAIN.macenko, maxConcentrations: [1, -1] } },
    { ...STAIN, pixels: 0 },
  ];
  for (const stain of bad) {
    await assert.rejects(
      readBundle({ ...manifest, stain }, weights),
      (err: unknown) => err instanceof BundleError && err.code === 'bad-stain',
      JSON.stringify(stain),
    );
  }
});

test('models/default: carries the CoNSeP training stain; its weights file is the one its checksum names', async () => {
  const manifest = fs.readFileSync('models/default/extractors.json', 'utf8');
  const bytes = fs.readFileSync('models/default/extractors.bin');
  const read = await readBundle(manifest, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  assert.equal(read.warnings, undefined);
  assert.ok(read.stain, 'no stain statistics');
  // H&E: haematoxylin absorbs red most of the two; eosin mostly green.
  const [h, e] = read.stain.macenko.stains;
  assert.ok(h[0] > e[0] && e[1] > e[0] && e[1] > e[2], `H ${h}, E ${e}`);
});
