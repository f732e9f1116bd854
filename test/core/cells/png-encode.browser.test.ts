import { assert } from 'chai';
import { encodePng, type PngChannels } from '../../../core/cells/png-encode.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

// Chromium's own PNG decoder (createImageBitmap, drawn into an OffscreenCanvas) reads what the
// encoder wrote. Alpha is 0 or 255 here: the canvas stores premultiplied colour, so colour
// under partial alpha would not come back exactly, and under alpha 0 not at all.
async function decodeInChromium(bytes: Uint8Array, width: number, height: number): Promise<Uint8ClampedArray> {
  const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' }), {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  assert.equal(bitmap.width, width);
  assert.equal(bitmap.height, height);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, width, height).data;
}

describe('PNG encoding in Chromium', () => {
  it('grey, grey + alpha, RGB and RGBA images decode to the samples written', async () => {
    const random = new SeededRandom(2);
    for (const channels of [1, 2, 3, 4] as PngChannels[]) {
      const width = 97 + channels * 13,
        height = 61;
      const pixels = new Uint8Array(width * height * channels);
      for (let i = 0; i < width * height; i++) {
        for (let c = 0; c < channels; c++) {
          const alpha = (channels === 2 && c === 1) || (channels === 4 && c === 3);
          pixels[i * channels + c] = alpha ? (random.next() < 0.2 ? 0 : 255) : random.int(256);
        }
      }
      const rgba = await decodeInChromium(await encodePng(pixels, width, height, channels), width, height);
      for (let i = 0; i < width * height; i++) {
        const p = pixels.subarray(i * channels, (i + 1) * channels);
        const expected =
          channels === 1
            ? [p[0], p[0], p[0], 255]
            : channels === 2
              ? [p[0], p[0], p[0], p[1]]
              : channels === 3
                ? [p[0], p[1], p[2], 255]
                : [p[0], p[1], p[2], p[3]];
        const got = Array.from(rgba.subarray(4 * i, 4 * i + 4));
        if (expected[3] === 0) assert.equal(got[3], 0, `${channels} channels, pixel ${i}: alpha`);
        else assert.deepEqual(got, expected, `${channels} channels, pixel ${i}`);
      }
    }
  });

  it('a large mask of runs (0/255) comes back exactly', async () => {
    const width = 1500,
      height = 900;
    const mask = new Uint8Array(width * height);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) mask[y * width + x] = ((x >> 4) + (y >> 3)) % 3 === 0 ? 255 : 0;
    const bytes = await encodePng(mask, width, height);
    assert.isBelow(bytes.length, mask.length / 20);
    const rgba = await decodeInChromium(bytes, width, height);
    for (let i = 0; i < mask.length; i++) {
      if (rgba[4 * i] !== mask[i] || rgba[4 * i + 3] !== 255)
        assert.fail(`pixel ${i}: ${rgba[4 * i]}/${rgba[4 * i + 3]}, wrote ${mask[i]}`);
    }
  });
});
