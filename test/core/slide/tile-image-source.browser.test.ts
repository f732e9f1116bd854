import { assert } from 'chai';
import OpenSeadragon from 'openseadragon';
import { describeTileSource } from '../../../plugin/slide/tile-source-description.js';
import { openInWorker } from '../../../plugin/slide/worker-pixel-source.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { SlideError } from '../../../core/slide/slide-error.js';
import { tilePlacement, type TileImagesDescription } from '../../../core/slide/tile-description.js';
import { openTileImages } from '../../../core/slide/tile-image-source.js';
import { patternLevel, patternRegion } from '../../fixtures/tile-pattern.js';

// The fixtures are made by test/fixtures/make-tiles.ts from the pattern the reads are checked against.
const TILES = '/files/test/fixtures/tiles';
const workerUrl = new URL('/worker/worker-entry.ts', location.origin);

const SOURCES: { label: string; spec: string | object; levels: number }[] = [
  { label: 'Deep Zoom (overlap 1)', spec: `${TILES}/pattern.dzi`, levels: 3 },
  { label: 'IIIF Image API 2, level 0', spec: `${TILES}/iiif/info.json`, levels: 3 },
  { label: 'single image', spec: { type: 'image', url: `${TILES}/pattern.png` }, levels: 1 },
];

/** The tile source OpenSeadragon itself makes from a DZI, an info.json or an image URL. */
async function osdTileSource(spec: string | object): Promise<OpenSeadragon.TileSource> {
  const element = document.createElement('div');
  element.style.width = '400px';
  element.style.height = '300px';
  document.body.append(element);
  const viewer = OpenSeadragon({ element, animationTime: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      viewer.addOnceHandler('open', () => resolve());
      viewer.addOnceHandler('open-failed', (e) => reject(new Error(String(e.message))));
      viewer.open(spec as OpenSeadragon.TileSourceSpecifier);
    });
    return viewer.world.getItemAt(0).source;
  } finally {
    viewer.destroy();
    element.remove();
  }
}

/** Rectangles of a level that cross tile edges (and DZI overlaps), touch every border, and a single pixel. */
function rectangles(width: number, height: number): { x: number; y: number; width: number; height: number }[] {
  const rects = [
    { x: 0, y: 0, width, height },
    { x: width - 1, y: height - 1, width: 1, height: 1 },
    {
      x: Math.max(0, Math.min(250, width - 20)),
      y: Math.max(0, Math.min(251, height - 9)),
      width: Math.min(20, width),
      height: Math.min(9, height),
    },
  ];
  for (const [fx, fy, fw, fh] of [
    [0.13, 0.41, 0.6, 0.3],
    [0.5, 0.02, 0.49, 0.97],
    [0.37, 0.5, 0.01, 0.5],
  ]) {
    const x = Math.floor(width * fx);
    const y = Math.floor(height * fy);
    rects.push({
      x,
      y,
      width: Math.max(1, Math.min(width - x, Math.floor(width * fw))),
      height: Math.max(1, Math.min(height - y, Math.floor(height * fh))),
    });
  }
  return rects;
}

async function assertPattern(source: PixelSource, level: number): Promise<void> {
  const { width, height, downsample } = source.levels[level];
  for (const r of rectangles(width, height)) {
    const got = await source.readRegion({ level, ...r });
    const want = patternRegion(downsample, r.x, r.y, r.width, r.height);
    assert.equal(got.length, want.length);
    const bad = got.findIndex((v, i) => v !== want[i]);
    assert.equal(bad, -1, `level ${level}, ${r.width}×${r.height} at (${r.x}, ${r.y}): first differing byte ${bad}`);
  }
}

async function rejection(promise: Promise<unknown>): Promise<SlideError> {
  try {
    await promise;
  } catch (err) {
    assert.instanceOf(err, SlideError);
    return err as SlideError;
  }
  assert.fail('expected a SlideError');
}

describe('image-tile sources (DZI, IIIF, single image)', () => {
  const described = new Map<string, TileImagesDescription>();
  const osd = new Map<string, OpenSeadragon.TileSource>();

  before(async () => {
    for (const { label, spec } of SOURCES) {
      const tileSource = await osdTileSource(spec);
      osd.set(label, tileSource);
      described.set(label, describeTileSource(tileSource, { mpp: 0.5 }));
    }
  });

  for (const { label, levels } of SOURCES) {
    describe(label, () => {
      it('describes the levels and builds the same tile URLs as OpenSeadragon', () => {
        const d = described.get(label)!;
        const tileSource = osd.get(label)!;
        assert.equal(d.kind, 'tiles');
        assert.deepEqual(d.mpp, { x: 0.5, y: 0.5 });
        assert.deepEqual(
          d.levels.map((l) => [l.width, l.height, l.downsample]),
          [1, 2, 4].slice(0, levels).map((f) => [patternLevel(f).width, patternLevel(f).height, f]),
        );
        let compared = 0;
        for (const [i, level] of d.levels.entries()) {
          for (let row = 0; row * level.tileHeight < level.height; row++) {
            for (let col = 0; col * level.tileWidth < level.width; col++) {
              const ours = tilePlacement(d, i, col, row).url;
              assert.equal(
                ours,
                new URL(tileSource.getTileUrl(level.urlLevel, col, row) as string, document.baseURI).href,
                `level ${i} tile ${col},${row}`,
              );
              compared++;
            }
          }
        }
        assert.isAtLeast(compared, levels === 1 ? 1 : 9);
      });

      it('reads every level exactly (PNG tiles) on the main thread', async () => {
        const source = await openTileImages(described.get(label)!);
        assert.equal(source.levels.length, levels);
        for (let level = 0; level < source.levels.length; level++) await assertPattern(source, level);
      });

      it('reads the same pixels in a worker through openInWorker', async () => {
        const d = described.get(label)!;
        const source = await openInWorker(d, { workerUrl });
        try {
          assert.equal(source.name, d.name);
          assert.deepEqual(source.mpp, { x: 0.5, y: 0.5 });
          assert.deepEqual(
            source.levels.map((l) => l.width),
            d.levels.map((l) => l.width),
          );
          for (let level = 0; level < source.levels.length; level++) await assertPattern(source, level);
        } finally {
          source.close();
        }
      });
    });
  }

  it('a missing tile is a network SlideError naming HTTP 404', async () => {
    const d = described.get(SOURCES[0].label)!;
    // Level 0 now points at a DZI level folder that does not exist; the smallest level, read at open, does.
    const source = await openTileImages({
      ...d,
      levels: d.levels.map((l, i) => (i === 0 ? { ...l, urlLevel: 99 } : l)),
    });
    const err = await rejection(source.readRegion({ level: 0, x: 10, y: 10, width: 5, height: 5 }));
    assert.equal(err.code, 'network');
    assert.match(err.message, /404/);
    await assertPattern(source, 1);
  });

  it('an unreachable server is a network SlideError at open', async () => {
    const err = await rejection(
      openTileImages({
        kind: 'tiles',
        name: 'nowhere',
        width: 10,
        height: 10,
        levels: [
          {
            width: 10,
            height: 10,
            downsample: 1,
            tileWidth: 10,
            tileHeight: 10,
            urlLevel: 0,
            url: 'http://127.0.0.1:9/x.png',
          },
        ],
        scheme: { kind: 'images' },
      }),
    );
    assert.equal(err.code, 'network');
  });

  it('a tile that is not an image is a corrupt SlideError at open', async () => {
    const url = new URL(`${TILES}/pattern.dzi`, location.href).href;
    const err = await rejection(
      openTileImages({
        kind: 'tiles',
        name: 'xml',
        width: 10,
        height: 10,
        levels: [{ width: 10, height: 10, downsample: 1, tileWidth: 10, tileHeight: 10, urlLevel: 0, url }],
        scheme: { kind: 'images' },
      }),
    );
    assert.equal(err.code, 'corrupt');
    assert.include(err.message, 'pattern.dzi');
  });

  it('an aborted read rejects as aborted and leaves the source usable', async () => {
    const source = await openTileImages(described.get(SOURCES[1].label)!);
    const already = new AbortController();
    already.abort();
    assert.equal(
      (await rejection(source.readRegion({ level: 0, x: 0, y: 0, width: 700, height: 500, signal: already.signal })))
        .code,
      'aborted',
    );
    // Aborted before any level-0 tile could have arrived: no fetch finishes synchronously.
    const controller = new AbortController();
    const read = source.readRegion({ level: 0, x: 0, y: 0, width: 700, height: 500, signal: controller.signal });
    controller.abort();
    const err = await rejection(read);
    assert.equal(err.code, 'aborted');
    assert.equal(err.name, 'AbortError');
    await assertPattern(source, 0);
  });

  it('an aborted open rejects as aborted', async () => {
    const controller = new AbortController();
    const opening = openTileImages(described.get(SOURCES[0].label)!, { signal: controller.signal });
    controller.abort();
    assert.equal((await rejection(opening)).code, 'aborted');
  });

  it('a region outside the level is a bad-region SlideError', async () => {
    const source = await openTileImages(described.get(SOURCES[0].label)!);
    assert.equal(
      (await rejection(source.readRegion({ level: 1, x: 300, y: 0, width: 51, height: 1 }))).code,
      'bad-region',
    );
    assert.equal(
      (await rejection(source.readRegion({ level: 3, x: 0, y: 0, width: 1, height: 1 }))).code,
      'bad-region',
    );
  });

  it('describeTileSource refuses other tile sources, naming their type and the TIFF way', () => {
    const tms = new OpenSeadragon.TmsTileSource(1024, 1024, 256, 0, 'https://example.org/tms/');
    assert.throws(() => describeTileSource(tms), /TmsTileSource.*kind: 'url'/s);
  });
});
