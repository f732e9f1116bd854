import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { makeMutant, runFuzz, type FuzzResult } from '../../../tools/fuzz/run-fuzz.js';
import { BEHAVIOURS, kind } from './misbehaving-kind.js';

// The runner on a reader that misbehaves on purpose in each way a real one could: every
// outcome must be told apart, a native abort and a blocked event loop included, and the run
// must go on after each with a fresh child process.
test('the runner tells opened, typed, untyped, crash, hang and a late abort apart', async () => {
  const n = 14;
  const seed = 3;
  const limitMs = 300;
  const results: FuzzResult[] = [];
  const report = await runFuzz({
    kind: fileURLToPath(new URL('./misbehaving-kind.ts', import.meta.url)),
    n,
    seed,
    workers: 2,
    limitMs,
    hangMs: 1500,
    onResult: (r) => results.push(r),
  });
  const seeds = await kind.seeds();
  const expected = Array.from(
    { length: n },
    (_, i) => BEHAVIOURS[makeMutant(seeds, kind.mutate, seed, i, limitMs).bytes[0]],
  );
  results.sort((a, b) => a.index - b.index);
  assert.deepEqual(
    results.map((r) => r.outcome),
    expected,
  );
  for (const behaviour of BEHAVIOURS)
    assert.ok(expected.includes(behaviour), `seed ${seed} gives no '${behaviour}' mutant`);
  assert.equal(report.codes.bad, report.counts.typed);
  assert.match(report.failures.find((f) => f.outcome === 'crash')!.message!, /SIGABRT/);
});
