import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readBundle, writeBundle } from '../../../core/msd/bundle.js';
import { bundleWarningNote } from '../../../core/msd/bundle-warnings.js';
import { randomWeights } from './msd-test-cases.js';

// The line a user is shown for what loading a bundle could not check, from what readBundle
// really says: an old bundle (no checksum, no probe), one with only the checksum, a sealed one
// read where there is no WebCrypto (crypto.subtle removed, as on a page served over plain http).
const bundle = { classes: [{ name: 'c0', weights: randomWeights(3, 3, 11) }], mpp: 0.25, metadata: {} };

test('an old bundle: "no checksum, no probe", and how to seal it; a sealed one: nothing to say', async () => {
  const { manifest, weights } = await writeBundle(bundle);
  const { weightsSha256: _sha, probe: _probe, ...old } = manifest;
  assert.equal(
    bundleWarningNote((await readBundle(old, weights)).warnings),
    'Extractor bundle: no checksum, no probe — saved by an older version; re-save it with `npm run seal-bundle`',
  );
  assert.equal(
    bundleWarningNote((await readBundle({ ...old, weightsSha256: manifest.weightsSha256 }, weights)).warnings),
    'Extractor bundle: no probe — saved by an older version; re-save it with `npm run seal-bundle`',
  );
  assert.equal(bundleWarningNote((await readBundle(manifest, weights)).warnings), undefined);
});

test('a page without WebCrypto: the weights are not verified, and why', async () => {
  const { manifest, weights } = await writeBundle(bundle);
  const own = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!;
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
  let warnings: readonly string[] | undefined;
  try {
    warnings = (await readBundle(manifest, weights)).warnings;
  } finally {
    Object.defineProperty(globalThis, 'crypto', own);
  }
  assert.equal(
    bundleWarningNote(warnings),
    'Extractor bundle: weights not verified — this page has no WebCrypto (crypto.subtle needs https or localhost)',
  );
  assert.equal(bundleWarningNote(['something new']), 'Extractor bundle: something new', 'unknown ones as they are');
});
