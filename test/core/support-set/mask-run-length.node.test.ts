import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRunLength, encodeRunLength } from '../../../core/support-set/mask-run-length.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

const LABELS = [0, 1, 255];

test('masks survive encode → decode: empty, uniform, noisy, long runs past the varint byte boundaries', () => {
  const random = new SeededRandom(11);
  const masks: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array(65536),
    new Uint8Array(65536).fill(255),
    new Uint8Array(1).fill(1),
  ];
  masks.push(Uint8Array.from({ length: 4096 }, () => LABELS[random.int(3)]));
  // Runs of 127, 128, 16383, 16384 straddle the 1-, 2- and 3-byte varint lengths.
  const runs = new Uint8Array(127 + 128 + 16383 + 16384);
  runs.fill(1, 127, 255);
  runs.fill(255, 255 + 16383);
  masks.push(runs);
  for (const mask of masks) {
    const text = encodeRunLength(mask);
    assert.match(text, /^[A-Za-z0-9+/]*={0,2}$/);
    assert.deepEqual(decodeRunLength(text, mask.length, LABELS), mask);
  }
  assert.ok(encodeRunLength(new Uint8Array(65536)).length < 10, 'an unpainted 256² patch is a few characters');
});

test('bad mask text is refused with a message naming the defect', () => {
  const good = encodeRunLength(Uint8Array.of(0, 0, 1, 1, 1));
  assert.deepEqual(decodeRunLength(good, 5, LABELS), Uint8Array.of(0, 0, 1, 1, 1));
  const b64 = (...bytes: number[]) => btoa(String.fromCharCode(...bytes));
  const cases: [unknown, number, RegExp][] = [
    [42, 5, /not a base64 string/],
    [null, 5, /null/],
    ['AAE*', 5, /not valid base64/],
    ['AAE', 5, /not valid base64/],
    [b64(7, 5), 5, /value 7 at pixel 0/],
    [b64(0, 2, 1), 5, /ends inside the length of the run at pixel 2/],
    [b64(0, 0x80), 5, /ends inside/],
    [b64(0, 0), 5, /empty run at pixel 0/],
    [b64(0, 6), 5, /runs to pixel 6, past the 5 pixels/],
    [b64(0, 2, 1, 2), 5, /covers 4 pixels; the mask has 5/],
    ['', 5, /covers 0 pixels/],
    [b64(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 5, /too long/],
  ];
  for (const [text, length, message] of cases) {
    assert.throws(() => decodeRunLength(text as string, length, LABELS), message, String(text));
  }
});
