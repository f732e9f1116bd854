import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { fromFile, getDecoder, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { registerJpeg2000 } from '../../../core/slide/jpeg2000.js';
import Jpeg2000Decoder, { type Jpeg2000DecoderParameters } from '../../../core/slide/jpeg2000-decoder.js';
import { pixelDiff } from '../../pixel-diff.js';

// The slide lives beside the repository (../shared/data/wsi from the repo root), not in it.
const SLIDE = fileURLToPath(new URL('../../../../shared/data/wsi/TCGA-CR-7395-01A-01-TS1.svs', import.meta.url));
const haveSlide = existsSync(SLIDE);
const SKIP_REASON = `JPEG 2000 test slide not found at ${SLIDE}`;

let tiff: GeoTIFF | undefined;
let slideBytes: Uint8Array | undefined;

before(async () => {
  registerJpeg2000();
  if (!haveSlide) return;
  tiff = await fromFile(SLIDE);
  slideBytes = new Uint8Array(await readFile(SLIDE));
});

after(async () => {
  await tiff?.close();
});

function slide(t: TestContext): { tiff: GeoTIFF; bytes: Uint8Array } | undefined {
  if (!tiff || !slideBytes) {
    t.skip(SKIP_REASON);
    return undefined;
  }
  return { tiff, bytes: slideBytes };
}

async function rgb(image: GeoTIFFImage, window: number[]): Promise<Uint8Array> {
  const raster = await image.readRGB({ window, interleave: true });
  return raster as unknown as Uint8Array;
}

/** The raw codestream of one tile, copied so each test owns its buffer. */
async function tileBytes(image: GeoTIFFImage, bytes: Uint8Array, index: number): Promise<Uint8Array> {
  const offset = Number(await image.fileDirectory.loadValueIndexed('TileOffsets', index));
  const length = Number(await image.fileDirectory.loadValueIndexed('TileByteCounts', index));
  return bytes.slice(offset, offset + length);
}

function params(overrides: Partial<Jpeg2000DecoderParameters> = {}): Jpeg2000DecoderParameters {
  return {
    tileWidth: 256,
    tileHeight: 256,
    predictor: 1,
    bitsPerSample: [8, 8, 8],
    planarConfiguration: 1,
    samplesPerPixel: 3,
    compression: 33005,
    photometricInterpretation: 2,
    ...overrides,
  };
}

async function decodeTile(
  codestream: Uint8Array,
  overrides: Partial<Jpeg2000DecoderParameters> = {},
): Promise<Uint8Array> {
  // decode() may hand the buffer on, so every call gets its own copy.
  const decoded = await new Jpeg2000Decoder(params(overrides)).decode(codestream.slice().buffer);
  return new Uint8Array(decoded);
}

function channelMeans(pixels: Uint8Array): [number, number, number] {
  const sums = [0, 0, 0];
  for (let i = 0; i < pixels.length; i += 3) {
    sums[0] += pixels[i];
    sums[1] += pixels[i + 1];
    sums[2] += pixels[i + 2];
  }
  const n = pixels.length / 3;
  return [sums[0] / n, sums[1] / n, sums[2] / n];
}

/** Offset of the COD marker's MCT byte, found by walking the main header. */
function mctByteOffset(codestream: Uint8Array): number {
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  let offset = 2;
  while (offset + 4 <= codestream.length) {
    const marker = view.getUint16(offset);
    if (marker === 0xff52) return offset + 8;
    if (marker === 0xff90) break;
    offset += 2 + view.getUint16(offset + 2);
  }
  throw new Error('no COD marker in the main header');
}

// A tissue-rich region: IFD2 [800,640]+256² and the matching IFD0 [1600,1280]+512².
const L2_X = 800;
const L2_Y = 640;
const L2_SIZE = 256;

test('registerJpeg2000 is idempotent and routes 33003/33005 to the JPEG 2000 decoder', async () => {
  registerJpeg2000();
  registerJpeg2000();
  for (const compression of [33003, 33005]) {
    const decoder = await getDecoder(compression, params({ compression }));
    assert.ok(decoder instanceof Jpeg2000Decoder, `compression ${compression}`);
  }
});

test('level 0 (IFD0) decodes to H&E tissue colours', async (t) => {
  const s = slide(t);
  if (!s) return;
  const image = await s.tiff.getImage(0);
  assert.equal(image.fileDirectory.getValue('Compression'), 33005);
  const window = [2 * L2_X, 2 * L2_Y, 2 * (L2_X + L2_SIZE), 2 * (L2_Y + L2_SIZE)];
  const pixels = await rgb(image, window);
  assert.equal(pixels.length, 512 * 512 * 3);

  const [r, g, b] = channelMeans(pixels);
  t.diagnostic(`IFD0 window mean RGB ${r.toFixed(1)}, ${g.toFixed(1)}, ${b.toFixed(1)}`);
  // Eosin/haematoxylin: red and blue well above green, neither black nor blank glass.
  assert.ok(r > g + 40 && b > g + 20, `not pink/purple: ${r}, ${g}, ${b}`);
  assert.ok(g > 40 && r < 250, `implausible brightness: ${r}, ${g}, ${b}`);

  // Decoded noise would differ from its neighbour by ~85 on average; tissue texture far less.
  let neighbour = 0;
  for (let i = 0; i + 3 < pixels.length; i += 3) neighbour += Math.abs(pixels[i + 1] - pixels[i + 4]);
  neighbour /= pixels.length / 3;
  t.diagnostic(`mean horizontal neighbour difference (G) ${neighbour.toFixed(2)}`);
  assert.ok(neighbour > 2 && neighbour < 30, `neighbour difference ${neighbour}`);
});

test('IFD2 agrees with a 2× box-downsampled IFD0 window', async (t) => {
  const s = slide(t);
  if (!s) return;
  const level0 = await s.tiff.getImage(0);
  const level2 = await s.tiff.getImage(2);
  assert.equal(level2.fileDirectory.getValue('Compression'), 33005);
  const reduced = await rgb(level2, [L2_X, L2_Y, L2_X + L2_SIZE, L2_Y + L2_SIZE]);

  // A margin lets the same read also score a misaligned comparison.
  const margin = 8;
  const width0 = 2 * L2_SIZE + 2 * margin;
  const full = await rgb(level0, [
    2 * L2_X - margin,
    2 * L2_Y - margin,
    2 * (L2_X + L2_SIZE) + margin,
    2 * (L2_Y + L2_SIZE) + margin,
  ]);
  const boxed = (shift: number): Float64Array => {
    const out = new Float64Array(L2_SIZE * L2_SIZE * 3);
    for (let y = 0; y < L2_SIZE; y++) {
      for (let x = 0; x < L2_SIZE; x++) {
        const top = ((margin + shift + 2 * y) * width0 + margin + shift + 2 * x) * 3;
        const bottom = top + width0 * 3;
        for (let c = 0; c < 3; c++) {
          out[(y * L2_SIZE + x) * 3 + c] =
            (full[top + c] + full[top + 3 + c] + full[bottom + c] + full[bottom + 3 + c]) / 4;
        }
      }
    }
    return out;
  };
  const aligned = pixelDiff(reduced, boxed(0)).mean;
  const shifted = pixelDiff(reduced, boxed(margin)).mean;
  t.diagnostic(
    `IFD2 vs box(IFD0): mean abs diff ${aligned.toFixed(2)} aligned, ${shifted.toFixed(2)} when shifted ${margin}px`,
  );
  // Measured 6.67 here: Aperio built IFD2 with its own filter and re-encoded it lossily, so
  // textured tissue never matches a box filter exactly; smooth regions measure ~3.
  assert.ok(aligned < 9, `levels disagree: ${aligned}`);
  assert.ok(aligned < shifted / 2, `alignment does not stand out: ${aligned} vs ${shifted}`);
});

test('IFD2 colours match the slide’s JPEG thumbnail, an independent decoder', async (t) => {
  const s = slide(t);
  if (!s) return;
  const thumbnail = await s.tiff.getImage(1);
  assert.equal(thumbnail.fileDirectory.getValue('Compression'), 7);
  const level2 = await s.tiff.getImage(2);
  const thumbWidth = thumbnail.getWidth();
  const thumbHeight = thumbnail.getHeight();
  const width2 = level2.getWidth();
  const scaleX = width2 / thumbWidth;
  const scaleY = level2.getHeight() / thumbHeight;
  const thumb = await rgb(thumbnail, [0, 0, thumbWidth, thumbHeight]);
  const reduced = await rgb(level2, [0, 0, width2, level2.getHeight()]);

  // Block means sidestep the non-integer scale; a channel swap or a wrong colour transform
  // moves them by tens of grey levels.
  const block = 32;
  let sum = 0;
  let swapped = 0;
  let count = 0;
  for (let by = 0; by + block <= thumbHeight; by += block) {
    for (let bx = 0; bx + block <= thumbWidth; bx += block) {
      const a = [0, 0, 0];
      const b = [0, 0, 0];
      let na = 0;
      let nb = 0;
      for (let y = by; y < by + block; y++) {
        for (let x = bx; x < bx + block; x++, na++)
          for (let c = 0; c < 3; c++) a[c] += thumb[(y * thumbWidth + x) * 3 + c];
      }
      for (let y = Math.round(by * scaleY); y < Math.round((by + block) * scaleY); y++) {
        for (let x = Math.round(bx * scaleX); x < Math.round((bx + block) * scaleX); x++, nb++) {
          for (let c = 0; c < 3; c++) b[c] += reduced[(y * width2 + x) * 3 + c];
        }
      }
      for (let c = 0; c < 3; c++) {
        sum += Math.abs(a[c] / na - b[c] / nb);
        swapped += Math.abs(a[c] / na - b[2 - c] / nb);
        count++;
      }
    }
  }
  const mean = sum / count;
  t.diagnostic(
    `thumbnail vs IFD2 block means: ${mean.toFixed(2)} (R/B swapped would be ${(swapped / count).toFixed(2)})`,
  );
  assert.ok(mean < 2, `colours disagree with the thumbnail: ${mean}`);
});

test('edge tiles fill tileWidth × tileHeight × samples', async (t) => {
  const s = slide(t);
  if (!s) return;
  const image = await s.tiff.getImage(0);
  const width = image.getWidth();
  const height = image.getHeight();
  const corner = await rgb(image, [width - 100, height - 100, width, height]);
  assert.equal(corner.length, 100 * 100 * 3);
  assert.ok(corner.some((v) => v !== 0));

  // A codestream smaller than the TIFF tile is padded, its pixels at the same place.
  const codestream = await tileBytes(image, s.bytes, 0);
  const exact = await decodeTile(codestream);
  const padded = await decodeTile(codestream, { tileWidth: 300, tileHeight: 280 });
  assert.equal(padded.length, 300 * 280 * 3);
  for (const y of [0, 100, 255]) {
    assert.deepEqual(
      padded.subarray(y * 300 * 3, y * 300 * 3 + 256 * 3),
      exact.subarray(y * 256 * 3, (y + 1) * 256 * 3),
    );
    assert.ok(padded.subarray(y * 300 * 3 + 256 * 3, (y + 1) * 300 * 3).every((v) => v === 0));
  }
  assert.ok(padded.subarray(256 * 300 * 3).every((v) => v === 0));
});

test('33003: YCbCr planes are converted to RGB unless the codestream MCT already did it', async (t) => {
  const s = slide(t);
  if (!s) return;
  const image = await s.tiff.getImage(0);
  const withMct = await tileBytes(image, s.bytes, 5 * 18 + 7);
  const mct = mctByteOffset(withMct);
  assert.equal(withMct[mct], 1);
  // Aperio's 33005 tiles use the irreversible colour transform, which is JPEG's YCbCr matrix;
  // clearing the MCT flag leaves genuine full-range YCbCr planes, i.e. a 33003-style tile.
  const withoutMct = withMct.slice();
  withoutMct[mct] = 0;

  const reference = await decodeTile(withMct, { compression: 33005 });
  const mctHonoured = await decodeTile(withMct, { compression: 33003 });
  assert.deepEqual(mctHonoured, reference);

  const planes = await decodeTile(withoutMct, { compression: 33005 });
  assert.ok(pixelDiff(planes, reference).mean > 20, 'clearing MCT should expose YCbCr planes');
  const converted = await decodeTile(withoutMct, { compression: 33003 });
  const diff = pixelDiff(converted, reference);
  t.diagnostic(`33003 conversion vs OpenJPEG's own inverse transform: mean ${diff.mean.toFixed(3)}, max ${diff.max}`);
  assert.ok(diff.mean < 1 && diff.max <= 3, `conversion off: ${JSON.stringify(diff)}`);

  // When the TIFF itself says YCbCr, geotiff's readRGB converts, so the decoder must not.
  const tagged = await decodeTile(withoutMct, { compression: 33003, photometricInterpretation: 6 });
  assert.deepEqual(tagged, planes);
});

test('a corrupt codestream fails with an error that names JPEG 2000', async (t) => {
  const s = slide(t);
  if (!s) return;
  const image = await s.tiff.getImage(0);
  const codestream = await tileBytes(image, s.bytes, 40);

  await assert.rejects(decodeTile(codestream.subarray(0, codestream.length >> 1)), /JPEG 2000 decoding failed/);
  const badHeader = codestream.slice();
  badHeader.fill(0, 2, 30);
  await assert.rejects(decodeTile(badHeader), /JPEG 2000/);
  await assert.rejects(decodeTile(new Uint8Array(64).fill(0x42)), /JPEG 2000/);
  await assert.rejects(decodeTile(new Uint8Array(0)), /JPEG 2000/);
  await assert.rejects(decodeTile(codestream, { samplesPerPixel: 1, bitsPerSample: [8] }), /JPEG 2000.*components/);

  // The codec must still work after failures.
  const image2 = await decodeTile(codestream);
  assert.equal(image2.length, 256 * 256 * 3);
});
