import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleKind } from '../../../tools/fuzz/bundle-kind.js';
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
