import assert from 'node:assert/strict';
import { existsSync, openAsBlob } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PixelSource, RegionRequest } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { readTissueMask, tissueFromRgb } from '../../../core/slide/tissue-mask.js';

const sampleDir = fileURLToPath(new URL('../../../.cache/sample/', import.meta.url));

test('saturation decides: pink and purple are tissue; white, grey, black and faint tints are not', () => {
  const rgb = new Uint8Array([
    240,
    240,
    242, // glass
    230,
    150,
    200, // eosin pink
    110,
    70,
    160, // haematoxylin purple
    5,
    5,
    5, // scanner border
    128,
    128,
    120, // grey shadow, spread 8
    230,
    225,
    212, // faint tint, spread 18
    230,
    225,
    210, // spread 20: the threshold
  ]);
  assert.deepEqual(Array.from(tissueFromRgb(rgb)), [0, 1, 1, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(tissueFromRgb(rgb, { minSaturation: 5 })), [0, 1, 1, 0, 1, 1, 1]);
});

/** A 4000² slide drawn on demand: glass, a black border down the left, a disc and a bar of tissue. */
function drawnSlide(): PixelSource & { inDisc(x: number, y: number): boolean } {
  const size = 4000;
  const inDisc = (x: number, y: number) => (x - 2200) ** 2 + (y - 1800) ** 2 < 1000 ** 2;
  const colour = (x: number, y: number): [number, number, number] => {
    if (x < 300) return [8, 8, 8];
    if (inDisc(x, y) || (y >= 3300 && y < 3500 && x >= 600 && x < 3600)) return [214, 140, 190];
    return [238, 236, 240];
  };
  return {
    name: 'drawn',
    levels: [{ width: size, height: size, downsample: 1, tileWidth: 256, tileHeight: 256 }],
    inDisc,
    async readRegion({ x, y, width, height }: RegionRequest) {
      const out = new Uint8Array(width * height * 3);
      for (let j = 0; j < height; j++)
        for (let i = 0; i < width; i++) out.set(colour(x + i, y + j), (j * width + i) * 3);
      return out;
    },
  };
}

test('a drawn slide read in strips: tissue where it was drawn, none on glass or the black border', async () => {
  const source = drawnSlide();
  // 40 level-0 pixels per mask pixel of a level-0-only slide: several strips.
  const mask = await readTissueMask(source, { maxSide: 100 });
  assert.deepEqual([mask.width, mask.height, mask.slideWidth, mask.slideHeight], [100, 100, 4000, 4000]);
  let checked = 0;
  for (let j = 0; j < 100; j++) {
    for (let i = 0; i < 100; i++) {
      // Footprint corners decide pixels wholly inside or outside a shape; edges may go either way.
      const xs = [i * 40, i * 40 + 39],
        ys = [j * 40, j * 40 + 39];
      const corners = xs.flatMap((x) => ys.map((y) => [x, y] as const));
      const disc = corners.every(([x, y]) => source.inDisc(x, y));
      const bar = j * 40 >= 3300 && j * 40 + 40 <= 3500 && i * 40 >= 600 && i * 40 + 40 <= 3600;
      const glass =
        corners.every(([x, y]) => !source.inDisc(x, y)) && (j * 40 + 40 <= 3300 || j * 40 >= 3500) && i * 40 >= 300;
      const border = i * 40 + 40 <= 300;
      if (disc || bar) assert.equal(mask.data[j * 100 + i], 1, `tissue at mask ${i},${j}`);
      if (glass || border) assert.equal(mask.data[j * 100 + i], 0, `no tissue at mask ${i},${j}`);
      if (disc || bar || glass || border) checked++;
    }
  }
  assert.ok(checked > 9000, `${checked} mask pixels were decidable`);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(readTissueMask(source, { maxSide: 100, signal: aborted.signal }), { name: 'AbortError' });
});

test(
  'the sample slide: the mask is its 1024² level thresholded, and nearly every labelled nucleus lies on it',
  { skip: existsSync(`${sampleDir}sample-slide.tif`) ? false : 'the sample slide is not generated (npm run sample)' },
  async () => {
    const open = async (file: string) =>
      openTiff({ kind: 'blob', blob: await openAsBlob(sampleDir + file), name: file });
    const slide = await open('sample-slide.tif');
    const mask = await readTissueMask(slide, { maxSide: 1024 });
    assert.deepEqual([mask.width, mask.height], [1024, 1024]);
    const level = slide.levels.findIndex((l) => l.width === 1024);
    const overview = await slide.readRegion({ level, x: 0, y: 0, width: 1024, height: 1024 });
    for (let p = 0; p < 1024 * 1024; p++) {
      const [r, g, b] = [overview[3 * p], overview[3 * p + 1], overview[3 * p + 2]];
      if (mask.data[p] !== (Math.max(r, g, b) - Math.min(r, g, b) >= 20 ? 1 : 0))
        assert.fail(`mask pixel ${p} disagrees with the overview`);
    }
    const share = mask.data.reduce((s, v) => s + v, 0) / mask.data.length;
    assert.ok(share > 0.3 && share < 0.9, `tissue share ${share}`);
    // The generator's label image: nuclei are drawn only in tissue.
    const labels = await open('sample-slide-labels.tif');
    let nuclei = 0,
      onTissue = 0;
    for (let band = 0; band < 8192; band += 1024) {
      const ids = await labels.readRegion({ level: 0, x: 0, y: band, width: 8192, height: 1024 });
      for (let y = 0; y < 1024; y++) {
        for (let x = 0; x < 8192; x++) {
          if (!ids[(y * 8192 + x) * 3]) continue;
          nuclei++;
          onTissue += mask.data[((band + y) >> 3) * 1024 + (x >> 3)];
        }
      }
    }
    assert.ok(nuclei > 1e6, `${nuclei} nucleus pixels`);
    assert.ok(onTissue / nuclei > 0.995, `${onTissue} of ${nuclei} nucleus pixels on the mask`);
  },
);
