import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { cellContours } from '../../../core/cells/cell-contours.js';
import { encodePng, type PngChannels } from '../../../core/cells/png-encode.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { sampleLabelImages } from './mask-fixtures.js';

/** pngjs (CRC checks on) expands every PNG to RGBA; the same expansion, done on our input. */
function expandToRgba(pixels: Uint8Array, channels: PngChannels): Uint8Array {
  const n = pixels.length / channels;
  const out = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    const p = pixels.subarray(i * channels, (i + 1) * channels);
    const [r, g, b, a] =
      channels === 1
        ? [p[0], p[0], p[0], 255]
        : channels === 2
          ? [p[0], p[0], p[0], p[1]]
          : channels === 3
            ? [p[0], p[1], p[2], 255]
            : [p[0], p[1], p[2], p[3]];
    out.set([r, g, b, a], 4 * i);
  }
  return out;
}

test('random images of every channel count decode with pngjs to the same samples', async () => {
  const random = new SeededRandom(30);
  for (let trial = 0; trial < 40; trial++) {
    const channels = (1 + (trial % 4)) as PngChannels;
    const width = 1 + random.int(trial < 8 ? 3 : 300);
    const height = 1 + random.int(trial < 8 ? 3 : 200);
    const pixels = Uint8Array.from({ length: width * height * channels }, () => random.int(256));
    const png = PNG.sync.read(Buffer.from(await encodePng(pixels, width, height, channels)), { checkCRC: true });
    assert.equal(png.width, width);
    assert.equal(png.height, height);
    assert.equal(png.depth, 8);
    assert.equal(png.colorType, { 1: 0, 2: 4, 3: 2, 4: 6 }[channels]);
    assert.deepEqual(
      new Uint8Array(png.data),
      expandToRgba(pixels, channels),
      `trial ${trial}: ${width}×${height}×${channels}`,
    );
  }
});

test('a nucleus mask of the sample (0/255) round-trips and compresses well', async () => {
  const [image] = sampleLabelImages();
  const mask = image.classes.map((c) => (c ? 255 : 0));
  const bytes = await encodePng(mask, image.width, image.height);
  const png = PNG.sync.read(Buffer.from(bytes));
  const grey = Uint8Array.from({ length: mask.length }, (_, i) => png.data[4 * i]);
  assert.deepEqual(grey, mask);
  assert.ok(bytes.length < mask.length / 10, `${bytes.length} bytes for ${mask.length} pixels`);
  // And the decoded mask outlines into the same cells as the original.
  assert.deepEqual(cellContours(grey, image.width, image.height), cellContours(mask, image.width, image.height));
});

test('sizes and sample counts that do not fit are refused', async () => {
  await assert.rejects(encodePng(new Uint8Array(5), 2, 2), /needs 4/);
  await assert.rejects(encodePng(new Uint8Array(0), 0, 0), /size/);
  await assert.rejects(encodePng(new Uint8Array(10), 2, 1, 5 as PngChannels), /channels/);
});
