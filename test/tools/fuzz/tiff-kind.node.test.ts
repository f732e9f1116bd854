import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { formatReport } from '../../../tools/fuzz/fuzz-report.js';
import { makeMutant, runFuzz } from '../../../tools/fuzz/run-fuzz.js';
import { checkTiff, mutateTiff, tiffSeeds } from '../../../tools/fuzz/tiff-kind.js';
import { parseLayout } from '../../../tools/fuzz/tiff-layout.js';

// The TIFF fuzz run of the suite: a fixed seed and count (not a deadline), about a minute on a
// 2-core machine; `npm run fuzz -- --kind tiff --n 5000` runs longer ones.
const N = 500;

const seeds = tiffSeeds();

test('every seed is a valid TIFF the product opens and reads', async () => {
  for (const [i, seed] of seeds.entries())
    await checkTiff(seed, new AbortController().signal).catch((err) => {
      throw new Error(`seed ${i}: ${err}`);
    });
  const layouts = seeds.map(parseLayout);
  const has = (f: (l: (typeof layouts)[number]) => boolean) => layouts.some(f);
  assert.ok(has((l) => l.bigTiff) && has((l) => !l.littleEndian) && has((l) => l.ifds.some((d) => d.sub)));
  assert.ok(
    has((l) => l.ifds.some((d) => d.entries.some((e) => e.tag === 273))),
    'a stripped seed',
  );
});

test('the big-endian and BigTIFF seeds hold the same pixels as the classic ones they were made from', async () => {
  const read = async (bytes: Uint8Array) => {
    const source = await openTiff({ kind: 'blob', blob: new Blob([bytes as Uint8Array<ArrayBuffer>]), name: 's.tif' });
    return Promise.all(source.levels.map((l, level) => source.readRegion({ level, x: 0, y: 0, ...l })));
  };
  // tiffSeeds: 7 is BigTIFF of 0, 8 big-endian of 2, 9 big-endian BigTIFF of 5 (SubIFDs).
  for (const [copy, original] of [
    [7, 0],
    [8, 2],
    [9, 5],
  ]) {
    const [a, b] = await Promise.all([read(seeds[copy]), read(seeds[original])]);
    assert.equal(a.length, b.length);
    a.forEach((level, i) => assert.ok(Buffer.from(level).equals(Buffer.from(b[i])), `seed ${copy} level ${i}`));
  }
});

test('a mutant depends only on the run seed and its index', () => {
  const one = makeMutant(seeds, mutateTiff, 1, 17, 1000);
  const again = makeMutant(seeds, mutateTiff, 1, 17, 1000);
  assert.ok(Buffer.from(one.bytes).equals(Buffer.from(again.bytes)));
  assert.equal(one.seedIndex, again.seedIndex);
  const other = makeMutant(seeds, mutateTiff, 2, 17, 1000);
  assert.ok(!Buffer.from(one.bytes).equals(Buffer.from(other.bytes)));
});

test(`${N} TIFF mutants: each opens or fails with a typed SlideError naming the file, no crash or hang`, async () => {
  // runFuzz counts an abort that takes over 1 s as a failure ('late-abort'), so this asserts that too.
  const report = await runFuzz({ kind: 'tiff', n: N, seed: 1, workers: 2 });
  const table = formatReport(report, 10);
  console.log(table);
  assert.equal(report.failures.length, 0, table);
  // The mutations reach every part of the reader: some mutants still open, some abort, some
  // are cut, most are refused as corrupt.
  assert.ok(report.counts.opened > 0, table);
  for (const code of ['corrupt', 'truncated', 'aborted']) assert.ok((report.codes[code] ?? 0) > 0, `${code}: ${table}`);
});
