import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { boxResize } from '../../../core/slide/read-scaled.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { serveFiles, type FileServer } from '../../http-file-server.js';
import { pixelDiff } from '../../pixel-diff.js';

// Real slides from ../shared/data/wsi (read its README): never copied into the repository.
const dir = join(process.cwd(), '..', 'shared', 'data', 'wsi');
const absent = existsSync(dir) ? false : `../shared/data/wsi is absent (${dir}); real-slide tests skipped`;
if (absent) console.log(`# ${absent}`);

const CMU = join(dir, 'CMU-1-Small-Region.svs');
const PYRAMID = join(dir, 'derived', 'CMU-1-Small-Region.pyramid-jpeg90-256.tif');
const TCGA = join(dir, 'TCGA-CR-7395-01A-01-TS1.svs');

async function fromFile(path: string): Promise<PixelSource> {
  return openTiff({ kind: 'blob', blob: new Blob([await readFile(path)]), name: path });
}

/**
 * A level-k window against the box-averaged level-0 window it covers. Pyramid writers halve
 * each level (flooring odd sizes), so level k is a 2^k reduction even where the size ratio
 * is not (vips' 138-pixel level 4 of 2220 is 16.09×).
 */
async function levelAgreement(
  source: PixelSource,
  level: number,
  x: number,
  y: number,
  size: number,
  shift = 0,
): Promise<number> {
  const d = 2 ** Math.round(Math.log2(source.levels[level].downsample));
  const w0 = Math.round(size * d);
  const coarse = await source.readRegion({ level, x, y, width: size, height: size });
  const fine = await source.readRegion({
    level: 0,
    x: Math.round(x * d) + shift,
    y: Math.round(y * d),
    width: w0,
    height: w0,
  });
  return pixelDiff(coarse, boxResize(fine, w0, w0, size, size)).mean;
}

describe('real slides in ../shared/data/wsi', { skip: absent }, () => {
  let server: FileServer;
  before(async () => {
    server = await serveFiles({ ranges: true });
  });
  after(() => server.close());

  test(
    'Aperio SVS with RGB-encoded JPEG tiles: one level, 0.499 µm/px, ' + 'same pixels as its re-encoded pyramid',
    async () => {
      const svs = await fromFile(CMU);
      assert.deepEqual(svs.levels, [{ width: 2220, height: 2967, downsample: 1, tileWidth: 240, tileHeight: 240 }]);
      assert.deepEqual(svs.mpp, { x: 0.499, y: 0.499 });
      const pyramid = await fromFile(PYRAMID);
      const region = { level: 0, x: 720, y: 960, width: 480, height: 480 };
      const a = await svs.readRegion(region);
      const b = await pyramid.readRegion(region);
      // The pyramid is the SVS's level 0 re-encoded at JPEG quality 90 (its README: mean 0.36).
      const d = pixelDiff(a, b).mean;
      assert.ok(d < 1.0, `SVS vs its JPEG-90 copy: mean |Δ| ${d.toFixed(3)}`);
      // Colours: an RGB-encoded JPEG read as YCbCr would turn pink tissue green.
      let r = 0;
      let g = 0;
      for (let i = 0; i < a.length; i += 3) {
        r += a[i];
        g += a[i + 1];
      }
      assert.ok(r > g * 1.05, 'H&E is pinker than green');
    },
  );

  test(
    'JPEG pyramid: five levels, resolution tags give 0.499 µm/px, ' + 'every level matches the downsampled level 0',
    async () => {
      const source = await fromFile(PYRAMID);
      assert.deepEqual(
        source.levels.map((l) => [l.width, l.height]),
        [
          [2220, 2967],
          [1110, 1483],
          [555, 741],
          [277, 370],
          [138, 185],
        ],
      );
      assert.ok(
        Math.abs(source.mpp!.x - 0.499) < 1e-4 && Math.abs(source.mpp!.y - 0.499) < 1e-4,
        `mpp ${JSON.stringify(source.mpp)}`,
      );
      for (let level = 1; level < source.levels.length; level++) {
        const size = Math.min(128, source.levels[level].width - 4);
        const d = await levelAgreement(source, level, 2, 2, size);
        console.log(`# JPEG pyramid level ${level}: mean |Δ| vs box-downsampled level 0 = ${d.toFixed(2)}`);
        assert.ok(d < 4, `level ${level} vs level 0 downsampled: mean |Δ| ${d.toFixed(2)}`);
      }
    },
  );

  test('TCGA SVS in JPEG 2000 (33005): two levels that agree after downsampling, no mpp', async () => {
    const source = await fromFile(TCGA);
    assert.deepEqual(
      source.levels.map((l) => [l.width, l.height]),
      [
        [4443, 3567],
        [2221, 1783],
      ],
    );
    assert.equal(source.mpp, undefined);
    // Both levels are lossy JPEG 2000 of fine texture, and Aperio's reduction filter is not a
    // box, so they differ by a few grey levels; shifting the reference by one level-1 pixel
    // makes the difference far larger, which shows the two decodes line up.
    const d = await levelAgreement(source, 1, 900, 700, 256);
    const shifted = await levelAgreement(source, 1, 900, 700, 256, 2);
    console.log(
      `# TCGA level 1 vs box-downsampled level 0: mean |Δ| = ${d.toFixed(2)} ` +
        `(shifted by one pixel: ${shifted.toFixed(2)})`,
    );
    assert.ok(d < 9, `mean |Δ| ${d.toFixed(2)}`);
    assert.ok(d < 0.75 * shifted, `aligned ${d.toFixed(2)} vs shifted ${shifted.toFixed(2)}`);
  });

  test('the same slides read over HTTP Range requests equal the local reads', async () => {
    for (const path of [CMU, PYRAMID, TCGA]) {
      const local = await fromFile(path);
      const remote = await openTiff({ kind: 'url', url: server.url(path) });
      assert.deepEqual(remote.levels, local.levels);
      const last = local.levels.length - 1;
      for (const level of [0, last]) {
        const { width, height } = local.levels[level];
        const region = {
          level,
          x: Math.floor(width / 4),
          y: Math.floor(height / 4),
          width: Math.floor(width / 3),
          height: Math.min(300, Math.floor(height / 3)),
        };
        assert.deepEqual(await remote.readRegion(region), await local.readRegion(region), `${path} level ${level}`);
      }
    }
  });
});
