import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlideError } from '../../../core/slide/slide-error.js';
import { directoryValues, readTiffStructure, type ByteReader } from '../../../core/slide/tiff-directories.js';
import { tiffSeeds } from '../../../tools/fuzz/tiff-kind.js';
import { parseLayout, TiffBytes } from '../../../tools/fuzz/tiff-layout.js';

const seeds = tiffSeeds();

function reader(bytes: Uint8Array): { read: ByteReader; reads: () => number } {
  let reads = 0;
  return {
    read: async (offset, length) => {
      reads++;
      return bytes.slice(offset, offset + length).buffer;
    },
    reads: () => reads,
  };
}

test('the walk finds the IFDs, SubIFDs and entries the fuzzer’s own parser finds, in every layout', async () => {
  for (const [i, bytes] of seeds.entries()) {
    const layout = parseLayout(bytes);
    const structure = await readTiffStructure(reader(bytes).read, bytes.length, `seed ${i}`);
    assert.equal(structure.littleEndian, layout.littleEndian);
    assert.equal(structure.bigTiff, layout.bigTiff);
    const all = [...structure.chain, ...structure.subIfds];
    assert.deepEqual(
      all.map((d) => d.offset),
      layout.ifds.map((d) => d.offset),
      `seed ${i}`,
    );
    const b = new TiffBytes(bytes, layout.littleEndian, layout.bigTiff);
    for (const [k, directory] of all.entries()) {
      const expected = layout.ifds[k].entries;
      assert.deepEqual(
        [...directory.entries.keys()],
        expected.map((e) => e.tag),
      );
      const values = directoryValues(structure, directory, reader(bytes).read, bytes.length, `seed ${i}`);
      const width = expected.find((e) => e.tag === 256)!;
      assert.equal(values.scalar(256, 'ImageWidth'), b.value(width, 0));
      const offsets = expected.find((e) => e.tag === 324 || e.tag === 273)!;
      assert.deepEqual(
        await values.integers(offsets.tag, 'offsets', offsets.count),
        Array.from({ length: offsets.count }, (_, j) => b.value(offsets, j)),
      );
    }
  }
});

test('a looping chain is refused after one read per IFD, not walked forever', async () => {
  const bytes = seeds[0].slice();
  const layout = parseLayout(bytes);
  const b = new TiffBytes(bytes, layout.littleEndian, layout.bigTiff);
  b.setWord(layout.ifds[3].nextAt, layout.ifds[1].offset);
  const { read, reads } = reader(bytes);
  await assert.rejects(
    readTiffStructure(read, bytes.length, 'loop.tif'),
    (err) => err instanceof SlideError && err.code === 'corrupt' && /IFD 3 points back to IFD 1/.test(err.message),
  );
  // The header, then the entry count and the entries of each of the 4 IFDs.
  assert.equal(reads(), 1 + 2 * 4);
});
