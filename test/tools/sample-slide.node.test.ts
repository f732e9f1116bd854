import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromFile } from 'geotiff';
import { PNG } from 'pngjs';
import {
  buildPyramid,
  LABELS_FILE,
  makeSampleSlide,
  MANIFEST_FILE,
  NUCLEUS_CLASSES,
  PATCHES_DIR,
  renderRegion,
  SLIDE_FILE,
  type MakeSampleSlideResult,
  type Raster,
  type SampleSlideManifest,
} from '../../tools/sample/index.js';

const SIZE = 1024;
const quiet = () => {};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-slide-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function stripNul(v: unknown): string {
  return String(v).replace(/\0+$/, '');
}

describe('makeSampleSlide (1024², deflate)', () => {
  const dir = path.join(tmp, 'deflate');
  let result: MakeSampleSlideResult;
  let reference: Raster[];
  let referenceLabels: Uint8Array;

  before(async () => {
    result = await makeSampleSlide({
      out: dir,
      size: SIZE,
      seed: 1,
      patches: 3,
      patchSize: 256,
      workers: 2,
      log: quiet,
    });
    const { rgb, labels } = renderRegion(result.manifest.spec, 0, 0, SIZE, SIZE);
    reference = buildPyramid({ width: SIZE, height: SIZE, channels: 3, data: rgb });
    referenceLabels = labels;
  });

  it('describes the slide in sample-slide.json', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as SampleSlideManifest;
    assert.deepEqual(manifest, result.manifest);
    assert.deepEqual(manifest.spec, { seed: 1, width: SIZE, height: SIZE, mpp: 0.5 });
    assert.equal(manifest.mpp, 0.5);
    assert.deepEqual(
      manifest.levels,
      reference.map((l, i) => ({ width: l.width, height: l.height, downsample: 2 ** i })),
    );
    assert.deepEqual(manifest.classes, [...NUCLEUS_CLASSES]);
    assert.equal(manifest.slide.sha256, sha256(path.join(dir, SLIDE_FILE)));
    assert.equal(manifest.slide.bytes, fs.statSync(path.join(dir, SLIDE_FILE)).size);
    assert.equal(manifest.labels.sha256, sha256(path.join(dir, LABELS_FILE)));
  });

  it('reads back pixel-exact at every level with geotiff, with mpp × downsample in the resolution tags', async () => {
    const tiff = await fromFile(path.join(dir, SLIDE_FILE));
    assert.equal(await tiff.getImageCount(), reference.length);
    for (let i = 0; i < reference.length; i++) {
      const image = await tiff.getImage(i);
      assert.equal(image.getWidth(), reference[i].width);
      assert.equal(image.getHeight(), reference[i].height);
      assert.equal(image.isTiled, true);
      const dir = image.fileDirectory;
      assert.equal(dir.getValue('TileWidth'), 256);
      assert.equal(dir.getValue('Compression'), 8);
      assert.equal(dir.getValue('NewSubfileType'), i > 0 ? 1 : 0);
      assert.equal(await dir.loadValue('ResolutionUnit'), 3);
      const [num, den] = (await dir.loadValue('XResolution')) as unknown as number[];
      assert.equal(10000 / (num / den), 0.5 * 2 ** i);
      assert.match(stripNul(await dir.loadValue('ImageDescription')), /synthetic H&E; seed=1; mpp=0.5/);
      const pixels = new Uint8Array((await image.readRasters({ interleave: true })) as unknown as Uint8Array);
      assert.ok(Buffer.from(pixels).equals(Buffer.from(reference[i].data)), `level ${i} differs`);
    }
  });

  it('writes the level-0 label mask as one grey level', async () => {
    const tiff = await fromFile(path.join(dir, LABELS_FILE));
    assert.equal(await tiff.getImageCount(), 1);
    const image = await tiff.getImage(0);
    assert.equal(image.getSamplesPerPixel(), 1);
    assert.equal(image.fileDirectory.getValue('PhotometricInterpretation'), 1);
    const labels = new Uint8Array((await image.readRasters({ interleave: true })) as unknown as Uint8Array);
    assert.ok(Buffer.from(labels).equals(Buffer.from(referenceLabels)));
  });

  it('writes a patch set in the CoNSeP layout', () => {
    const patches = path.join(dir, PATCHES_DIR);
    const lines = fs.readFileSync(path.join(patches, 'manifest.csv'), 'utf8').trim().split('\n');
    assert.equal(lines[0], 'name,split,width,height,px_class0,px_class1,px_class2,px_class3,px_class4');
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.deepEqual(
      rows.map((r) => [r[0], r[1]]),
      [
        ['train_1', 'train'],
        ['train_2', 'train'],
        ['test_1', 'test'],
      ],
    );
    assert.ok(fs.readFileSync(path.join(patches, 'README.md'), 'utf8').includes('0.5 µm/px'));
    for (const row of rows) {
      const image = PNG.sync.read(fs.readFileSync(path.join(patches, 'images', `${row[0]}.png`)));
      const label = PNG.sync.read(fs.readFileSync(path.join(patches, 'labels', `${row[0]}.png`)));
      assert.equal(image.width, 256);
      assert.equal(image.height, 256);
      assert.equal((image as unknown as { colorType: number }).colorType, 2);
      assert.equal((label as unknown as { colorType: number }).colorType, 0);
      // pngjs expands to RGBA when reading; the first channel carries the class id.
      const counts = [0, 0, 0, 0, 0];
      for (let i = 0; i < label.data.length; i += 4) counts[label.data[i]]++;
      assert.deepEqual(counts, row.slice(4).map(Number));
      assert.ok(
        counts.slice(1).every((n) => n > 0),
        `${row[0]} lacks a class: ${counts}`,
      );
    }
  });

  it('returns at once when the outputs already match', async () => {
    const before = fs.statSync(path.join(dir, SLIDE_FILE)).mtimeMs;
    const again = await makeSampleSlide({ out: dir, size: SIZE, seed: 1, patches: 3, patchSize: 256, log: quiet });
    assert.equal(again.upToDate, true);
    assert.deepEqual(again.manifest, result.manifest);
    assert.equal(fs.statSync(path.join(dir, SLIDE_FILE)).mtimeMs, before);
  });

  it(
    'writes identical bytes for the same seed, on one thread or many, ' + 'and different bytes for another seed',
    async () => {
      const same = await makeSampleSlide({
        out: path.join(tmp, 'same'),
        size: SIZE,
        seed: 1,
        patches: 3,
        patchSize: 256,
        workers: 0,
        log: quiet,
      });
      assert.equal(same.manifest.slide.sha256, result.manifest.slide.sha256);
      assert.equal(same.manifest.labels.sha256, result.manifest.labels.sha256);
      for (const name of ['train_1', 'test_1']) {
        const a = fs.readFileSync(path.join(dir, PATCHES_DIR, 'images', `${name}.png`));
        const b = fs.readFileSync(path.join(tmp, 'same', PATCHES_DIR, 'images', `${name}.png`));
        assert.ok(a.equals(b), `${name} differs`);
      }
      const other = await makeSampleSlide({
        out: path.join(tmp, 'other'),
        size: SIZE,
        seed: 2,
        patches: 0,
        workers: 0,
        log: quiet,
      });
      assert.notEqual(other.manifest.slide.sha256, result.manifest.slide.sha256);
    },
  );
});

describe('makeSampleSlide (512², jpeg)', () => {
  it('decodes within JPEG tolerance at every level', async () => {
    // Quality 90, no chroma subsampling. Measured: mean |Δ| ≈ 1.1 at level 0 and ≈ 2 at
    // level 1 (less smooth content per pixel); the bounds leave about 2× room.
    const dir = path.join(tmp, 'jpeg');
    const { manifest } = await makeSampleSlide({
      out: dir,
      size: 512,
      seed: 4,
      compression: 'jpeg',
      patches: 0,
      workers: 0,
      log: quiet,
    });
    const { rgb } = renderRegion(manifest.spec, 0, 0, 512, 512);
    const reference = buildPyramid({ width: 512, height: 512, channels: 3, data: rgb });
    const tiff = await fromFile(path.join(dir, SLIDE_FILE));
    assert.equal(await tiff.getImageCount(), reference.length);
    for (let i = 0; i < reference.length; i++) {
      const image = await tiff.getImage(i);
      assert.equal(image.fileDirectory.getValue('Compression'), 7);
      assert.equal(image.fileDirectory.getValue('PhotometricInterpretation'), 6);
      const decoded = (await image.readRGB({ interleave: true })) as unknown as Uint8Array;
      const want = reference[i].data;
      let sum = 0;
      let max = 0;
      for (let k = 0; k < want.length; k++) {
        const d = Math.abs(want[k] - decoded[k]);
        sum += d;
        max = Math.max(max, d);
      }
      assert.ok(sum / want.length < 4, `level ${i}: mean abs diff ${(sum / want.length).toFixed(2)}`);
      assert.ok(max <= 64, `level ${i}: max abs diff ${max}`);
    }
  });
});
