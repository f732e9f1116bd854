import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { readBundle, writeBundle, type ExtractorManifest } from '../../core/msd/bundle.js';
import { randomWeights } from '../core/msd/msd-test-cases.js';
import {
  OTHER_E,
  OTHER_H,
  RUIFROK_E,
  RUIFROK_H,
  cosine,
  referenceIsTissue,
  referenceLabStats,
  twoStainImage,
} from '../core/stain/synthetic-stain.js';

const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');

function writePng(file: string, width: number, height: number, rgb: Uint8Array): void {
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) {
    png.data.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
    png.data[4 * p + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}

test(
  'npm run stain-stats: the training split’s pooled statistics, as the test computes them, into the manifest',
  {
    timeout: 120_000,
  },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stain-stats-'));
    try {
      const data = path.join(dir, 'data');
      fs.mkdirSync(path.join(data, 'images'), { recursive: true });
      fs.mkdirSync(path.join(data, 'labels'));
      const side = 120;
      // train_1 and train_2 in the split; test_1 stained otherwise and not in it: it must not count.
      const images = {
        train_1: twoStainImage(RUIFROK_H, RUIFROK_E, side * side, 11),
        train_2: twoStainImage(RUIFROK_H, RUIFROK_E, side * side, 12, 1.2, 0.8),
        test_1: twoStainImage(OTHER_H, OTHER_E, side * side, 13),
      };
      for (const [name, image] of Object.entries(images)) {
        writePng(path.join(data, 'images', `${name}.png`), side, side, image.rgb);
        const label = new PNG({ width: side, height: side });
        label.data.fill(0);
        fs.writeFileSync(path.join(data, 'labels', `${name}.png`), PNG.sync.write(label));
      }
      fs.writeFileSync(path.join(data, 'manifest.csv'), 'name\ntrain_1\ntrain_2\ntest_1\n');
      const normalisation = { mean: [180, 130, 170], std: [40, 50, 35] };
      const { manifest, weights } = await writeBundle({
        classes: [{ name: 'a', weights: { ...randomWeights(3, 2, 41), normalisation } }],
        mpp: 0.25,
        metadata: { classes: { a: { split: { train: ['train_2'], validation: ['train_1'] } } } },
      });
      const bundleDir = path.join(dir, 'bundle');
      fs.mkdirSync(bundleDir);
      const manifestFile = path.join(bundleDir, 'extractors.json');
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      fs.writeFileSync(path.join(bundleDir, manifest.weightsFile), new Uint8Array(weights));
      const before = fs.readFileSync(path.join(bundleDir, manifest.weightsFile));

      const { stdout } = await run(tsx, ['tools/stain-stats.ts', '--data', data, '--manifest', manifestFile]);
      assert.match(stdout, /stain of 2 images/);

      const written = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as ExtractorManifest;
      assert.deepEqual(fs.readFileSync(path.join(bundleDir, manifest.weightsFile)), before, 'weights touched');
      const read = await readBundle(written, weights);
      assert.equal(read.warnings, undefined);
      assert.deepEqual((written.training.stain as { images: string[] }).images, ['train_1', 'train_2']);
      const pooled = new Uint8Array([...images.train_1.rgb, ...images.train_2.rgb]);
      const ref = referenceLabStats(pooled, referenceIsTissue);
      const stain = read.stain!;
      assert.equal(stain.pixels, ref.n);
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(stain.reinhard.mean[c] - ref.mean[c]) < 1e-6, `mean ${c}`);
        assert.ok(Math.abs(stain.reinhard.std[c] - ref.std[c]) < 1e-6, `std ${c}`);
      }
      assert.ok(cosine(stain.macenko.stains[0], RUIFROK_H) > 0.999, `H ${stain.macenko.stains[0]}`);
      assert.ok(cosine(stain.macenko.stains[1], RUIFROK_E) > 0.999, `E ${stain.macenko.stains[1]}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
