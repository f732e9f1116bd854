import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseHead } from '../../core/adaptation/head.js';
import { predictWithHead } from '../../core/adaptation/predict-with-head.js';
import { decodeBundle, writeBundle } from '../../core/msd/bundle.js';
import { openFeatureExtractor } from '../../core/msd/feature-extractor.js';
import { initBackend } from '../../core/msd/tf-backend.js';
import { reinhardApply } from '../../core/stain/reinhard.js';
import { estimateStain } from '../../core/stain/stain-normaliser.js';
import { readLabelledDataset } from '../../tools/dataset.js';
import type { EvaluationState } from '../../tools/evaluation-state.js';
import { randomWeights } from '../core/msd/msd-test-cases.js';

// `--extractors BUNDLE --stain reinhard --test LIST`: a given bundle's extractors for a target
// none of them is (no upper bound, nothing trained), on a folder split by --test, every image
// brought to the bundle's stain by its own statistics first. Tiny random extractors, one draw.
const SAMPLE = '.cache/sample/patches';
const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');

test(
  'npm run evaluate --extractors --stain: heads on the given extractors, counts as predicted on normalised images',
  {
    timeout: 300_000,
  },
  async () => {
    assert.ok(fs.existsSync(`${SAMPLE}/manifest.csv`), `${SAMPLE} is missing: run \`npm run sample\` first`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evaluate-extractors-'));
    try {
      const images = readLabelledDataset(SAMPLE);
      // A training stain unlike the sample's: the sample's own, shifted (bluer, lighter).
      const own = estimateStain(images[0].rgb)!;
      const stain = {
        ...own,
        reinhard: {
          mean: [own.reinhard.mean[0] + 8, own.reinhard.mean[1] - 6, own.reinhard.mean[2] - 9],
          std: own.reinhard.std,
        },
      } as typeof own;
      const normalisation = { mean: [180, 130, 170], std: [40, 50, 35] };
      const { manifest, weights } = await writeBundle({
        classes: [
          { name: 'a', weights: { ...randomWeights(3, 3, 51), normalisation } },
          { name: 'b', weights: { ...randomWeights(3, 2, 52), normalisation } },
        ],
        mpp: 0.5,
        metadata: {},
        stain,
      });
      const bundleDir = path.join(dir, 'tiny');
      fs.mkdirSync(bundleDir);
      fs.writeFileSync(path.join(bundleDir, 'extractors.json'), JSON.stringify(manifest));
      fs.writeFileSync(path.join(bundleDir, manifest.weightsFile), new Uint8Array(weights));
      const testNames = ['test_1', 'test_2'];
      const args = [
        'tools/evaluate.ts',
        ...['--data', SAMPLE, '--target', 'lymphocyte=2', '--extractors', bundleDir, '--stain', 'reinhard'],
        ...['--test', testNames.join(','), '--shots', '1', '--draws', '1', '--out', `${dir}/result`],
        ...['--cache', `${dir}/cache`],
      ];
      const { stdout } = await run(tsx, args, { maxBuffer: 1 << 24 });
      assert.doesNotMatch(stdout, /epoch /, 'nothing is trained');
      const result = JSON.parse(fs.readFileSync(`${dir}/result.json`, 'utf8'));
      assert.equal(result.protocol.stain, 'reinhard');
      assert.deepEqual(result.testImages, testNames);
      assert.equal(result.results[0].shots['1'].bfgs.n, 1);
      assert.equal(result.results[0].upperBound.n, 0, 'no extractor of the target: no upper bound');

      // The stored counts equal predicting the head over each test image normalised here.
      const state = JSON.parse(fs.readFileSync(`${dir}/cache/state.json`, 'utf8')) as EvaluationState;
      const adaptation = state.adaptations['lymphocyte/1/1/0'];
      assert.deepEqual(
        adaptation.windows.map((w) => testNames.includes(w.image)),
        [false],
        'support from training images only',
      );
      const bundle = decodeBundle(manifest, weights);
      const head = parseHead(adaptation.bfgs, bundle.classes);
      await initBackend('wasm');
      const extractor = openFeatureExtractor(bundle.classes);
      try {
        for (const image of images.filter((im) => testNames.includes(im.name))) {
          const rgb = reinhardApply(image.rgb, estimateStain(image.rgb)!.reinhard, stain.reinhard);
          const p = await predictWithHead({ ...image, rgb }, extractor, head);
          let overlap = 0,
            predicted = 0;
          p.forEach((v, i) => {
            const positive = v > head.threshold ? 1 : 0;
            predicted += positive;
            overlap += positive * (image.labels[i] === 2 ? 1 : 0);
          });
          const [o, q] = state.counts[`whole/1/${image.name}`].heads['lymphocyte/1/1/0'].bfgs;
          assert.ok(
            Math.abs(o - overlap) <= 2 && Math.abs(q - predicted) <= 2,
            `${image.name}: stored [${o}, ${q}], recomputed [${overlap}, ${predicted}]`,
          );
        }
      } finally {
        extractor.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
