import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from '../../../core/cells/crc32.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

// Reference: the polynomial division done bit by bit from the definition, no table.
function bitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('the standard check value and the CRC of an empty input', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  // The CRC PNG files carry on their IEND chunk (CRC of the type alone).
  assert.equal(crc32(new TextEncoder().encode('IEND')), 0xae426082);
});

test('random inputs match the bitwise definition, in one piece or continued over pieces', () => {
  const random = new SeededRandom(12);
  for (let trial = 0; trial < 200; trial++) {
    const bytes = Uint8Array.from({ length: random.int(3000) }, () => random.int(256));
    const whole = crc32(bytes);
    assert.equal(whole, bitwise(bytes), `trial ${trial}`);
    const cut = random.int(bytes.length + 1);
    assert.equal(
      crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut))),
      whole,
      `trial ${trial}: continued at ${cut}`,
    );
  }
});
