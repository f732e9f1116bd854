import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import {
  buildPyramid,
  encodeTiff,
  renderRegion,
  type Raster,
  type TiffCompression,
} from '../../../tools/sample/index.js';
import type { PixelSource, SlideDescription } from '../../../core/slide/pixel-source.js';
import { SlideError, type SlideErrorCode } from '../../../core/slide/slide-error.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import {
  parseLayout,
  TiffBytes,
  transcodeTiff,
  type LayoutEntry,
  type TiffLayout,
} from '../../../tools/fuzz/tiff-layout.js';
import { serveFiles, type FileServer } from '../../http-file-server.js';
import { pixelDiff } from '../../pixel-diff.js';

// A generated slide with odd level sizes (edge tiles, odd halvings), written by the project's
// own TIFF writer, read back through geotiff and compared with the generator's pixels.
const SPEC = { seed: 11, width: 1500, height: 1100, mpp: 0.5 };
const dir = mkdtempSync(join(tmpdir(), 'pixel-source-'));
let levels: Raster[];
let server: FileServer;
let noRangeServer: FileServer;

function pyramidTiff(
  compression: TiffCompression,
  extra: { description?: string; layout?: 'chain' | 'subifds' } = {},
): Uint8Array {
  return encodeTiff(
    levels.map((level, i) => ({
      options: {
        width: level.width,
        height: level.height,
        samplesPerPixel: 3,
        compression,
        reduced: i > 0,
        mpp: SPEC.mpp * (SPEC.width / level.width),
        description: i === 0 ? extra.description : undefined,
      },
      pixels: level.data,
    })),
    extra.layout,
  );
}

function save(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const blob = (bytes: Uint8Array, name: string): SlideDescription => ({
  kind: 'blob',
  blob: new Blob([bytes as Uint8Array<ArrayBuffer>]),
  name,
});

async function rejectsWith(promise: Promise<unknown>, code: SlideErrorCode, text: RegExp): Promise<SlideError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SlideError, `a SlideError, got ${err}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, text);
    return err;
  }
  assert.fail(`expected a '${code}' error`);
}

/** Rewrites every Compression tag (259) of a little-endian classic TIFF. */
function withCompression(tiff: Uint8Array, code: number): Uint8Array {
  const bytes = tiff.slice();
  const view = new DataView(bytes.buffer);
  for (let ifd = view.getUint32(4, true); ifd !== 0;) {
    const count = view.getUint16(ifd, true);
    for (let e = 0; e < count; e++) {
      const at = ifd + 2 + e * 12;
      if (view.getUint16(at, true) === 259) view.setUint16(at + 8, code, true);
    }
    ifd = view.getUint32(ifd + 2 + count * 12, true);
  }
  return bytes;
}

before(async () => {
  const { rgb } = renderRegion(SPEC, 0, 0, SPEC.width, SPEC.height);
  levels = buildPyramid({ width: SPEC.width, height: SPEC.height, channels: 3, data: rgb });
  server = await serveFiles({ ranges: true });
  noRangeServer = await serveFiles({ ranges: false });
});

after(async () => {
  await server.close();
  await noRangeServer.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a generated Deflate pyramid', () => {
  test('has the written level geometry and microns per pixel', async () => {
    const source = await openTiff(blob(pyramidTiff('deflate'), 'deflate.tif'));
    assert.deepEqual(
      source.levels.map((l) => [l.width, l.height, l.tileWidth, l.tileHeight]),
      levels.map((l) => [l.width, l.height, 256, 256]),
    );
    assert.deepEqual(
      source.levels.map((l) => l.downsample),
      levels.map((l) => SPEC.width / l.width),
    );
    assert.ok(Math.abs(source.mpp!.x - 0.5) < 1e-6 && Math.abs(source.mpp!.y - 0.5) < 1e-6, JSON.stringify(source.mpp));
  });

  for (const via of ['blob', 'url'] as const) {
    test(`reads pixel-exact at every level (${via})`, async () => {
      const bytes = pyramidTiff('deflate');
      const source: PixelSource =
        via === 'blob'
          ? await openTiff(blob(bytes, 'deflate.tif'))
          : await openTiff({ kind: 'url', url: server.url(save('deflate.tif', bytes)) });
      for (const [i, level] of levels.entries()) {
        const whole = await source.readRegion({ level: i, x: 0, y: 0, width: level.width, height: level.height });
        assert.ok(Buffer.from(whole).equals(Buffer.from(level.data)), `level ${i} differs`);
      }
      // A window across tile corners, at level 0.
      const r = { x: 250, y: 500, width: 300, height: 77 };
      const window = await source.readRegion({ level: 0, ...r });
      const expected = new Uint8Array(r.width * r.height * 3);
      for (let y = 0; y < r.height; y++) {
        expected.set(
          levels[0].data.subarray(((r.y + y) * SPEC.width + r.x) * 3, ((r.y + y) * SPEC.width + r.x + r.width) * 3),
          y * r.width * 3,
        );
      }
      assert.ok(Buffer.from(window).equals(Buffer.from(expected)), 'window differs');
    });
  }
});

test('a generated JPEG pyramid reads within JPEG tolerance at every level', async () => {
  const source = await openTiff(blob(pyramidTiff('jpeg'), 'jpeg.tif'));
  for (const [i, level] of levels.entries()) {
    const whole = await source.readRegion({ level: i, x: 0, y: 0, width: level.width, height: level.height });
    const { mean, max } = pixelDiff(whole, level.data);
    console.log(`# JPEG q90 level ${i}: mean |Δ| ${mean.toFixed(2)}, max ${max}`);
    // Quality 90 on textured H&E: a few grey levels on average, more at the reduced levels
    // where each pixel carries more detail; a colour-space mix-up would be off by tens.
    assert.ok(mean < 5 && max < 64, `level ${i}: mean |Δ| ${mean.toFixed(2)}, max ${max}`);
  }
});

test('OME-TIFF: a SubIFD pyramid reads pixel-exact, microns per pixel from the OME-XML', async () => {
  const ome =
    '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">' +
    '<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint8" SizeX="1500" SizeY="1100" ' +
    'SizeC="3" SizeZ="1" SizeT="1" ' +
    'PhysicalSizeX="250" PhysicalSizeXUnit="nm" PhysicalSizeY="0.26" PhysicalSizeYUnit="µm"/></Image></OME>';
  const source = await openTiff(blob(pyramidTiff('deflate', { description: ome, layout: 'subifds' }), 'slide.ome.tif'));
  assert.deepEqual(source.mpp, { x: 0.25, y: 0.26 });
  assert.deepEqual(
    source.levels.map((l) => l.width),
    levels.map((l) => l.width),
  );
  for (const [i, level] of levels.entries()) {
    const whole = await source.readRegion({ level: i, x: 0, y: 0, width: level.width, height: level.height });
    assert.ok(Buffer.from(whole).equals(Buffer.from(level.data)), `SubIFD level ${i} differs`);
  }
});

describe('bad input gets a typed error that names the problem and the file', () => {
  test('not a TIFF (a PNG, an HTML page)', async () => {
    const png = PNG.sync.write(Object.assign(new PNG({ width: 4, height: 4 }), {}));
    const err = await rejectsWith(openTiff(blob(new Uint8Array(png), 'photo.png')), 'not-tiff', /not a TIFF.*PNG/);
    assert.equal(err.file, 'photo.png');
    assert.match(err.message, /^photo\.png: /);
    await rejectsWith(
      openTiff(blob(new TextEncoder().encode('<!doctype html><p>Not found</p>'), 'x.svs')),
      'not-tiff',
      /HTML/,
    );
  });

  test('empty and truncated files', async () => {
    await rejectsWith(openTiff(blob(new Uint8Array(0), 'empty.tif')), 'truncated', /too short/);
    const bytes = pyramidTiff('deflate');
    for (const keep of [0.3, 0.6, 0.95]) {
      const cut = bytes.subarray(0, Math.floor(bytes.length * keep));
      await rejectsWith(openTiff(blob(cut, `cut-${keep}.tif`)), 'truncated', /truncated|ends too early/);
      await rejectsWith(
        openTiff({ kind: 'url', url: server.url(save(`cut-${keep}.tif`, cut)) }),
        'truncated',
        /truncated|ends too early/,
      );
    }
  });

  test('a strip-based image with strips too large to read a region of', async () => {
    const level = levels[0];
    const oneStrip = encodeTiff([
      {
        options: { width: level.width, height: level.height, samplesPerPixel: 3, rowsPerStrip: level.height },
        pixels: level.data,
      },
    ]);
    await rejectsWith(
      openTiff(blob(oneStrip, 'strips.tif'), { maxStripBytes: 1 << 20 }),
      'strip-too-large',
      /strips.*MiB.*tiled/,
    );
    // Small strips are fine: a region decodes only the strips it crosses.
    const small = encodeTiff([
      {
        options: { width: level.width, height: level.height, samplesPerPixel: 3, rowsPerStrip: 16 },
        pixels: level.data,
      },
    ]);
    const source = await openTiff(blob(small, 'small-strips.tif'), { maxStripBytes: 1 << 20 });
    const region = await source.readRegion({ level: 0, x: 0, y: 0, width: level.width, height: level.height });
    assert.ok(Buffer.from(region).equals(Buffer.from(level.data)));
  });

  test('a compression nobody decodes (JPEG XR)', async () => {
    const jxr = withCompression(pyramidTiff('deflate'), 22610);
    await rejectsWith(openTiff(blob(jxr, 'jxr.tif')), 'unsupported-compression', /22610 \(JPEG XR\)/);
  });

  test('a server without Range support, a missing file, no server', async () => {
    const path = save('whole.tif', pyramidTiff('deflate'));
    await rejectsWith(openTiff({ kind: 'url', url: noRangeServer.url(path) }), 'no-range-support', /Range/);
    await rejectsWith(openTiff({ kind: 'url', url: server.url(join(dir, 'missing.tif')) }), 'network', /HTTP 404/);
    await rejectsWith(
      openTiff({ kind: 'url', url: 'http://127.0.0.1:9/slide.tif' }),
      'network',
      /network error|connect/i,
    );
  });

  test('an aborted open or read rejects with "aborted" and the source keeps working', async () => {
    const bytes = pyramidTiff('deflate');
    await rejectsWith(openTiff(blob(bytes, 'a.tif'), { signal: AbortSignal.abort() }), 'aborted', /aborted/);
    const source = await openTiff({ kind: 'url', url: server.url(save('a.tif', bytes)) });
    const controller = new AbortController();
    const pending = source.readRegion({
      level: 0,
      x: 0,
      y: 0,
      width: SPEC.width,
      height: SPEC.height,
      signal: controller.signal,
    });
    controller.abort();
    await rejectsWith(pending, 'aborted', /aborted/);
    const again = await source.readRegion({ level: 0, x: 0, y: 0, width: 64, height: 64 });
    assert.equal(again.length, 64 * 64 * 3);
  });

  test('a region outside the slide', async () => {
    const source = await openTiff(blob(pyramidTiff('deflate'), 'r.tif'));
    await rejectsWith(
      source.readRegion({ level: 0, x: 1400, y: 0, width: 200, height: 10 }),
      'bad-region',
      /outside the slide/,
    );
    await rejectsWith(source.readRegion({ level: 9, x: 0, y: 0, width: 1, height: 1 }), 'bad-region', /levels/);
  });
});

/** A copy of a TIFF with `change` applied to its bytes, located through the fuzzer's layout parser. */
function edited(
  tiff: Uint8Array,
  change: (b: TiffBytes, layout: TiffLayout, entry: (tag: number, ifd?: number) => LayoutEntry) => void,
) {
  const bytes = tiff.slice();
  const layout = parseLayout(bytes);
  const b = new TiffBytes(bytes, layout.littleEndian, layout.bigTiff);
  change(b, layout, (tag, ifd = 0) => layout.ifds[ifd].entries.find((e) => e.tag === tag)!);
  return bytes;
}

describe('a damaged structure is refused at open, each with its own message (issue 12)', () => {
  let tiff: Uint8Array;
  before(() => {
    tiff = pyramidTiff('deflate');
  });
  const open = (bytes: Uint8Array, options?: Parameters<typeof openTiff>[1]) =>
    openTiff(blob(bytes, 'bad.tif'), options);

  test('a next-IFD chain that loops back to the same or an earlier IFD (geotiff hangs on it)', async () => {
    for (const [from, to] of [
      [0, 0],
      [2, 1],
      [3, 0],
    ]) {
      const looped = edited(tiff, (b, layout) => b.setWord(layout.ifds[from].nextAt, layout.ifds[to].offset));
      await rejectsWith(
        open(looped),
        'corrupt',
        new RegExp(`loop: the next-IFD offset of IFD ${from} points back to IFD ${to}`),
      );
    }
  });

  test('tile tables shorter than the geometry needs (these reached Blob.slice(NaN) and aborted Node)', async () => {
    const wider = edited(tiff, (b, _, entry) => b.setValue(entry(256), 0, 65535));
    await rejectsWith(
      open(wider),
      'corrupt',
      /TileOffsets of level 0 \(IFD 0\) has 30 entries, but 65535×1100 px in 256×256 blocks needs 1280/,
    );
    const planar = edited(tiff, (b, _, entry) => b.setValue(entry(284), 0, 2));
    await rejectsWith(open(planar), 'corrupt', /has 30 entries, .* blocks of 3 separate planes needs 90/);
    const shorter = edited(tiff, (b, _, entry) => b.setWord(entry(325).countAt, 29));
    await rejectsWith(open(shorter), 'corrupt', /TileByteCounts of level 0 \(IFD 0\) has 29 entries/);
  });

  test('tile sizes that are not positive multiples of 16 up to 4× the level', async () => {
    for (const [value, text] of [
      [0, /TileLength of level 0 \(IFD 0\) is 0; tile edges are positive multiples of 16/],
      [8, /TileLength .* is 8/],
      [6, /TileLength .* is 6/],
      [65520, /TileLength .* is 65520; .* at most 4× the level's 1100 px/],
    ] as const) {
      await rejectsWith(open(edited(tiff, (b, _, entry) => b.setValue(entry(323), 0, value))), 'corrupt', text);
    }
    const array = edited(tiff, (b, _, entry) => b.setWord(entry(322).countAt, 2));
    await rejectsWith(open(array), 'corrupt', /TileWidth of IFD 0 holds 2 values; it must hold one/);
    const compression = edited(tiff, (b, _, entry) => b.setWord(entry(259).countAt, 2));
    await rejectsWith(open(compression), 'corrupt', /Compression of IFD 0 holds 2 values/);
  });

  test("what geotiff reported as 'truncated' in a complete file is 'corrupt'", async () => {
    // An undefined field type (geotiff: "Invalid field type: 0", reported as the file ending early).
    const type0 = edited(tiff, (b, _, entry) => b.setU16(entry(262).typeAt, 0));
    await rejectsWith(open(type0), 'corrupt', /tag 262 of IFD 0 has field type 0, which TIFF does not define/);
    // An ImageDescription of 16,777,216 characters in a file of 2 MB (geotiff: a RangeError, untyped).
    const described = pyramidTiff('deflate', { description: 'Aperio Image Library |MPP = 0.5' });
    const long = edited(described, (b, _, entry) => b.setWord(entry(270).countAt, 16_777_216));
    await rejectsWith(
      open(long),
      'corrupt',
      /values of tag 270 of IFD 0 would take 16777216 bytes, more than the whole file/,
    );
    // A BigTIFF header with 4-byte offsets (geotiff: "Unsupported offset byte-size").
    const big = transcodeTiff(tiff, { littleEndian: true, bigTiff: true });
    big[4] = 4;
    await rejectsWith(open(big), 'corrupt', /BigTIFF header gives an offset size of 4 bytes/);
    // A LONG8 tile offset beyond 2^53 (geotiff: "exceeds MAX_SAFE_INTEGER … Please report").
    const huge = edited(big.fill(8, 4, 5), (b, _, entry) => {
      const e = entry(324);
      b.view.setBigUint64(e.valuesAt + 8, 2n ** 60n, true);
    });
    await rejectsWith(open(huge), 'corrupt', /TileOffsets of IFD 0 is 1152921504606846976, beyond any file size/);
  });

  test("a tag nobody reads (a scanner's metadata) may point anywhere: the slide still opens", async () => {
    const level = levels[0];
    const options = { width: level.width, height: level.height, samplesPerPixel: 3 as const };
    const withSoftware = encodeTiff([{ options: { ...options, software: 'a scanner 1.2.3' }, pixels: level.data }]);
    const stray = edited(withSoftware, (b, _, entry) => b.setWord(entry(305).valueAt, 0xfffffff0));
    const source = await open(stray);
    const region = await source.readRegion({ level: 0, x: 0, y: 0, width: 300, height: 20 });
    assert.equal(region.length, 300 * 20 * 3);
  });

  test('a tile past the end of a cut file is still truncated', async () => {
    const cut = tiff.slice();
    const layout = parseLayout(cut);
    const b = new TiffBytes(cut, true, false);
    const offsets = layout.ifds[0].entries.find((e) => e.tag === 324)!;
    b.setValue(offsets, 3, tiff.length + 100);
    await rejectsWith(open(cut), 'truncated', /level 0 needs data up to byte/);
  });

  test('opening aborts in the middle of reading the directories', async () => {
    const controller = new AbortController();
    let reads = 0;
    // A Blob that fires the signal on its third read: the header, IFD 0's entry count, then this.
    class AbortingBlob extends Blob {
      override slice(...args: Parameters<Blob['slice']>): Blob {
        if (++reads === 3) controller.abort();
        return super.slice(...args);
      }
    }
    const bytes = new AbortingBlob([tiff as Uint8Array<ArrayBuffer>]);
    await rejectsWith(
      openTiff({ kind: 'blob', blob: bytes, name: 'a.tif' }, { signal: controller.signal }),
      'aborted',
      /aborted/,
    );
    assert.equal(reads, 3, 'no read after the abort');
  });
});
