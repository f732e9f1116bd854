import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromArrayBuffer } from 'geotiff';
import {
  buildPyramid,
  downsample2x,
  encodeTiff,
  levelSizes,
  renderRegion,
  type Raster,
  type TiffImageOptions,
} from '../../tools/sample/index.js';

async function open(bytes: Uint8Array) {
  const copy = bytes.slice();
  return fromArrayBuffer(copy.buffer);
}

function gradient(width: number, height: number, channels: number): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++)
        data[(y * width + x) * channels + c] = (x * 3 + y * 5 + c * 70 + ((x * y) % 7)) & 255;
  }
  return data;
}

describe('pyramid', () => {
  it('halves sizes (rounding up) until the larger side fits 256', () => {
    assert.deepEqual(
      levelSizes(8192, 8192).map((l) => [l.width, l.height, l.downsample]),
      [
        [8192, 8192, 1],
        [4096, 4096, 2],
        [2048, 2048, 4],
        [1024, 1024, 8],
        [512, 512, 16],
        [256, 256, 32],
      ],
    );
    assert.deepEqual(
      levelSizes(1001, 700).map((l) => [l.width, l.height]),
      [
        [1001, 700],
        [501, 350],
        [251, 175],
      ],
    );
    assert.equal(levelSizes(200, 100).length, 1);
  });

  it('averages 2×2 blocks with round-half-up, and only the existing pixels at odd edges', () => {
    const odd: Raster = { width: 3, height: 3, channels: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
    assert.deepEqual([...downsample2x(odd).data], [3, 5, 8, 9]);
    const halves: Raster = {
      width: 6,
      height: 2,
      channels: 1,
      data: new Uint8Array([1, 2, 1, 1, 1, 2, 2, 2, 1, 2, 1, 2]),
    };
    // Sums 7, 5, 6 → 1.75, 1.25, 1.5 → 2, 1, 2.
    assert.deepEqual([...downsample2x(halves).data], [2, 1, 2]);
  });

  it('builds every level from the one above', () => {
    const level0: Raster = { width: 1001, height: 530, channels: 3, data: gradient(1001, 530, 3) };
    const levels = buildPyramid(level0);
    assert.deepEqual(
      levels.map((l) => [l.width, l.height]),
      levelSizes(1001, 530).map((l) => [l.width, l.height]),
    );
    for (let i = 1; i < levels.length; i++) assert.deepEqual(levels[i].data, downsample2x(levels[i - 1]).data);
  });
});

describe('TIFF writer', () => {
  const base = { width: 300, height: 200, mpp: 0.5, description: 'test image', software: 'unit test' } as const;

  for (const [label, options] of [
    ['tiled deflate with predictor', { compression: 'deflate', predictor: true }],
    ['tiled uncompressed, 64² tiles', { compression: 'none', tileSize: 64 }],
    ['strips, deflate', { compression: 'deflate', rowsPerStrip: 7 }],
    ['strips, uncompressed', { compression: 'none', rowsPerStrip: 200 }],
  ] as const) {
    for (const samplesPerPixel of [3, 1] as const) {
      it(`round-trips ${label}, ${samplesPerPixel} sample(s), through geotiff exactly`, async () => {
        const pixels = gradient(base.width, base.height, samplesPerPixel);
        const opts: TiffImageOptions = { ...base, ...options, samplesPerPixel };
        const image = await (await open(encodeTiff([{ options: opts, pixels }]))).getImage(0);
        const raster = (await image.readRasters({ interleave: true })) as unknown as Uint8Array;
        assert.deepEqual(new Uint8Array(raster), pixels);
        const dir = image.fileDirectory;
        assert.equal(image.isTiled, !('rowsPerStrip' in options));
        assert.equal(dir.getValue('PhotometricInterpretation'), samplesPerPixel === 3 ? 2 : 1);
        assert.equal(dir.getValue('SamplesPerPixel'), samplesPerPixel);
        assert.equal(dir.getValue('PlanarConfiguration'), 1);
        // TIFF ASCII values end in NUL, which geotiff keeps.
        assert.equal(String(await dir.loadValue('ImageDescription')).replace(/\0+$/, ''), 'test image');
        assert.equal(String(await dir.loadValue('Software')).replace(/\0+$/, ''), 'unit test');
        if ('rowsPerStrip' in options) assert.equal(dir.getValue('RowsPerStrip'), options.rowsPerStrip);
        else assert.equal(dir.getValue('TileWidth'), 'tileSize' in options ? options.tileSize : 256);
      });
    }
  }

  it('chains several images, marks reduced ones and writes resolution in pixels per cm', async () => {
    const level0: Raster = { width: 600, height: 300, channels: 3, data: gradient(600, 300, 3) };
    const levels = buildPyramid(level0, 100);
    const tiff = await open(
      encodeTiff(
        levels.map((l, i) => ({
          options: { width: l.width, height: l.height, samplesPerPixel: 3, reduced: i > 0, mpp: 0.25 * 2 ** i },
          pixels: l.data,
        })),
      ),
    );
    assert.equal(await tiff.getImageCount(), levels.length);
    for (let i = 0; i < levels.length; i++) {
      const image = await tiff.getImage(i);
      const dir = image.fileDirectory;
      assert.equal(dir.getValue('NewSubfileType'), i > 0 ? 1 : 0);
      assert.equal(await dir.loadValue('ResolutionUnit'), 3);
      const [num, den] = (await dir.loadValue('XResolution')) as unknown as number[];
      assert.deepEqual([...((await dir.loadValue('YResolution')) as unknown as number[])], [num, den]);
      assert.equal(10000 / (num / den), 0.25 * 2 ** i);
      assert.deepEqual(
        new Uint8Array((await image.readRasters({ interleave: true })) as unknown as Uint8Array),
        levels[i].data,
      );
    }
  });

  it('writes JPEG tiles as YCbCr that geotiff decodes to the right colours', async () => {
    // Measured on this region at quality 90: mean |Δ| ≈ 1.1, max ≈ 16 at level 0.
    const { rgb } = renderRegion({ seed: 2, width: 4096, height: 4096, mpp: 0.5 }, 2000, 2000, 520, 300);
    const image = await (
      await open(
        encodeTiff([{ options: { width: 520, height: 300, samplesPerPixel: 3, compression: 'jpeg' }, pixels: rgb }]),
      )
    ).getImage(0);
    assert.equal(image.fileDirectory.getValue('Compression'), 7);
    assert.equal(image.fileDirectory.getValue('PhotometricInterpretation'), 6);
    assert.deepEqual([...((await image.fileDirectory.loadValue('YCbCrSubSampling')) as unknown as number[])], [1, 1]);
    const decoded = (await image.readRGB({ interleave: true })) as unknown as Uint8Array;
    let sum = 0;
    let max = 0;
    for (let i = 0; i < rgb.length; i++) {
      const d = Math.abs(rgb[i] - decoded[i]);
      sum += d;
      max = Math.max(max, d);
    }
    assert.ok(sum / rgb.length < 2.5, `mean abs diff ${(sum / rgb.length).toFixed(2)}`);
    assert.ok(max <= 40, `max abs diff ${max}`);
  });

  it('refuses what it cannot write', () => {
    const grey = { width: 16, height: 16, samplesPerPixel: 1 } as const;
    assert.throws(
      () => encodeTiff([{ options: { ...grey, compression: 'jpeg' }, pixels: new Uint8Array(256) }]),
      /JPEG/,
    );
    assert.throws(() => encodeTiff([{ options: grey, pixels: new Uint8Array(255) }]), /whole rows/);
    assert.throws(() => encodeTiff([{ options: grey, pixels: new Uint8Array(240) }]), /15 of 16 rows/);
    assert.throws(
      () => encodeTiff([{ options: { ...grey, tileSize: 20 }, pixels: new Uint8Array(256) }]),
      /multiples of 16/,
    );
  });
});
