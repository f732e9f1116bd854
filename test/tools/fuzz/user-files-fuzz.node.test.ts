import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleKind, corruptWeights, packBundle, unpackBundle } from '../../../tools/fuzz/bundle-kind.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { fuzzInProcess } from '../../../tools/fuzz/fuzz-in-process.js';
import type { FuzzKind } from '../../../tools/fuzz/fuzz-kind.js';
import { headKind } from '../../../tools/fuzz/head-kind.js';
import { supportSetKind } from '../../../tools/fuzz/support-set-kind.js';

/**
 * Issue 12's user-file fuzz, in the suite: a fixed seeded number of mutants of each kind, every one
 * either accepted and usable (a head predicts finite probabilities, a bundle gives finite features,
 * a support set lands on the slide) or refused with the product's typed error and a short message.
 */
const MUTANTS = Number(process.env.FUZZ_USER_FILES ?? 300);

const kinds: readonly FuzzKind[] = [headKind(), supportSetKind(), bundleKind()];

for (const kind of kinds) {
  test(`${MUTANTS} ${kind.name} mutants: accepted and usable, or refused with a short typed error`, async (t) => {
    const tally = await fuzzInProcess(kind, MUTANTS, 12);
    t.diagnostic(`${kind.name}: ${JSON.stringify(tally.counts)}`);
    assert.deepEqual(tally.failures.slice(0, 10), [], `${tally.failures.length} failures`);
    assert.equal(tally.counts.accepted + tally.counts.refused, MUTANTS);
    // A fuzzer that never gets past the first check tests nothing.
    assert.ok(tally.counts.accepted > 0 && tally.counts.refused > 0, JSON.stringify(tally.counts));
  });
}

test('every finite corruption of a bundle’s weights that keeps its length is refused by the checksum', async () => {
  // Issue 12: 75 of 75 such corruptions (random bytes, exponent flips, zeros) were accepted.
  const kind = bundleKind();
  // The sealed seeds: an old bundle has no checksum to catch them.
  const seeds = (await kind.seeds()).filter((seed) =>
    new TextDecoder().decode(unpackBundle(seed).manifest).includes('"weightsSha256"'),
  );
  assert.equal(seeds.length, 2);
  const random = new SeededRandom(7);
  let tried = 0;
  while (tried < 100) {
    const { manifest, weights } = unpackBundle(seeds[tried % seeds.length]);
    const bad = corruptWeights(weights, () => random.next());
    if (bad.length !== weights.length || bad.every((b, i) => b === weights[i])) continue;
    tried++;
    await assert.rejects(kind.check(packBundle(manifest, bad), new AbortController().signal), {
      name: 'BundleError',
      code: 'checksum-mismatch',
    });
  }
});
