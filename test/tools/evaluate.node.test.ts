import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readLabelledDataset } from '../../tools/dataset.js';
import type { LabelledImage } from '../../tools/dataset.js';
import type { EvaluationState } from '../../tools/evaluation-state.js';
import { imageSource } from '../../tools/scaled-image.js';
import { decodeBundle } from '../../core/msd/bundle.js';
import { openFeatureExtractor } from '../../core/msd/feature-extractor.js';
import { parseHead } from '../../core/adaptation/head.js';
import { predictWithHead } from '../../core/adaptation/predict-with-head.js';
import { initBackend } from '../../core/msd/tf-backend.js';
import { createMsd } from '../../core/msd/tf-network.js';
import { createHeadPatchModel } from '../../core/inference/head-patch-model.js';
import { predictTile } from '../../core/inference/predict-tile.js';
import type { PatchModel } from '../../core/inference/patch-model.js';

// The whole protocol on the generated sample patches with tiny extractors (depth 3, one epoch),
// so that it runs in seconds: training, adaptation, scoring, table, files, resume.
const SAMPLE = '.cache/sample/patches';
const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');

/** [overlap, predicted] of a probability map thresholded against the pixels whose label is `id`. */
function countsOf(p: Float32Array, image: LabelledImage, id: number, threshold: number): [number, number] {
  let overlap = 0;
  let predicted = 0;
  p.forEach((v, i) => {
    if (v > threshold) {
      predicted++;
      if (image.labels[i] === id) overlap++;
    }
  });
  return [overlap, predicted];
}

test(
  'npm run evaluate: protocol end to end on the sample, resumable, counts equal a per-image prediction',
  { timeout: 300_000 },
  async () => {
    assert.ok(fs.existsSync(`${SAMPLE}/manifest.csv`), `${SAMPLE} is missing: run \`npm run sample\` first`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evaluate-'));
    const cli = [
      'tools/evaluate.ts',
      '--data',
      SAMPLE,
      '--target',
      'epithelial=1',
      '--target',
      'lymphocyte=2',
      '--target',
      'plasma=4',
    ];
    const settings = [
      '--depth',
      '3',
      '--max-epochs',
      '1',
      '--shots',
      '1,2',
      '--draws',
      '2',
      '--instances',
      '1',
      '--threads',
      '1',
      '--mpp',
      '0.5',
      '--out',
      `${dir}/result`,
      '--cache',
      `${dir}/cache`,
    ];
    const first = await run(tsx, [...cli, ...settings], { maxBuffer: 1 << 24 });
    assert.match(first.stdout, /epithelial 1-shot draw 0: .* 1\/12, ETA/);
    assert.match(first.stdout, /test image test_8 \(8\/8\): 12 adaptations scored/);

    const result = JSON.parse(fs.readFileSync(`${dir}/result.json`, 'utf8'));
    assert.deepEqual(
      result.results.map((c: { name: string }) => c.name),
      ['epithelial', 'lymphocyte', 'plasma'],
    );
    for (const c of result.results) {
      for (const k of ['1', '2']) {
        for (const kind of ['logistic', 'bfgs']) {
          const q = c.shots[k][kind];
          assert.equal(q.n, 2, `${c.name} ${k}-shot ${kind}: one value per draw`);
          assert.ok(q.q1 <= q.median && q.median <= q.q3 && q.q1 >= 0 && q.q3 <= 1, JSON.stringify(q));
        }
      }
      assert.equal(c.upperBound.n, 1);
    }
    assert.match(result.table, /\| plasma /);
    // Per-image mean Dice beside pooled: recomputed here from the stored per-image counts.
    const firstState = JSON.parse(fs.readFileSync(`${dir}/cache/state.json`, 'utf8')) as EvaluationState;
    const perImage = (draw: number) => {
      const scores = Object.entries(firstState.counts)
        .filter(([key, c]) => key.startsWith('whole/1/') && c.truth.plasma > 0)
        .map(([, c]) => {
          const [o, q] = c.heads[`plasma/1/2/${draw}`].bfgs;
          return (2 * o) / (q + c.truth.plasma);
        });
      return scores.reduce((a, b) => a + b, 0) / scores.length;
    };
    const plasmaMean = result.resultsPerImageMean.find((c: { name: string }) => c.name === 'plasma');
    assert.ok(Math.abs(plasmaMean.shots['2'].bfgs.median - (perImage(0) + perImage(1)) / 2) < 1e-9);
    assert.match(result.tablePerImageMean, /\| plasma /);
    assert.match(fs.readFileSync(`${dir}/result.svg`, 'utf8'), /^<svg /);

    // Rerun: everything is cached, nothing is trained, adapted or scored again, same results.
    const again = await run(tsx, [...cli, ...settings], { maxBuffer: 1 << 24 });
    assert.doesNotMatch(again.stdout, /draw \d+:|test image \S+ \(|epoch /);
    assert.deepEqual(JSON.parse(fs.readFileSync(`${dir}/result.json`, 'utf8')).results, result.results);

    // One more draw: only the new adaptations are made and scored.
    const more = await run(tsx, [...cli, ...settings.map((s, i) => (settings[i - 1] === '--draws' ? '3' : s))], {
      maxBuffer: 1 << 24,
    });
    assert.equal(more.stdout.match(/ draw 2: /g)?.length, 6);
    assert.doesNotMatch(more.stdout, / draw [01]: /);
    assert.match(more.stdout, /test image test_1 \(1\/8\): 6 adaptations scored/);

    // Other settings on the same cache are refused, not mixed in.
    await assert.rejects(run(tsx, [...cli, ...settings, '--min-positive', '50']), (err: { stderr: string }) =>
      /was made with other settings/.test(err.stderr),
    );

    // --tiling patches on the same cache: the extractors and heads are reused (nothing trained or
    // adapted), every test image is scored again with patches, and stored apart from 'whole'.
    const drawsThree = settings.map((s, i) => (settings[i - 1] === '--draws' ? '3' : s));
    const whole = fs.readFileSync(`${dir}/result.json`, 'utf8');
    const patchRun = await run(tsx, [...cli, ...drawsThree, '--tiling', 'patches'], { maxBuffer: 1 << 24 });
    assert.doesNotMatch(patchRun.stdout, /draw \d+:|epoch /);
    assert.match(patchRun.stdout, /test image test_8 \(8\/8\): 18 adaptations scored/);
    const patchResult = JSON.parse(fs.readFileSync(`${dir}/result-patches.json`, 'utf8'));
    assert.equal(patchResult.protocol.tiling, 'patches');
    assert.equal(patchResult.results[0].shots['2'].bfgs.n, 3);
    assert.match(fs.readFileSync(`${dir}/result-patches.svg`, 'utf8'), /^<svg /);
    assert.equal(fs.readFileSync(`${dir}/result.json`, 'utf8'), whole, "'whole' results are not touched");
    // Each tiling resumes on its own: neither scores anything again.
    for (const tiling of ['patches', 'whole']) {
      const rerun = await run(tsx, [...cli, ...drawsThree, '--tiling', tiling], { maxBuffer: 1 << 24 });
      assert.doesNotMatch(rerun.stdout, /draw \d+:|test image \S+ \(|epoch /, tiling);
    }
    await assert.rejects(
      run(tsx, [...cli, ...drawsThree, '--tiling', 'tiles']),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && /--tiling must be one of whole, patches, got "tiles"/.test(err.stderr),
    );

    // The stored counts of one head equal an independent per-image prediction with predictWithHead.
    const state = JSON.parse(fs.readFileSync(`${dir}/cache/state.json`, 'utf8')) as EvaluationState;
    const bundleJson = fs.readFileSync(`${dir}/cache/extractors/instance-1.json`, 'utf8');
    const bundle = decodeBundle(
      JSON.parse(bundleJson),
      new Uint8Array(fs.readFileSync(`${dir}/cache/extractors/instance-1.bin`)).buffer,
    );
    const adaptation = state.adaptations['plasma/1/2/1'];
    const others = bundle.classes.filter((c) => c.name !== 'plasma');
    const head = parseHead(adaptation.bfgs, others);
    await initBackend('wasm');
    const extractor = openFeatureExtractor(others);
    let checked = 0;
    for (const image of readLabelledDataset(SAMPLE, 'test')) {
      const p = await predictWithHead(image, extractor, head);
      let overlap = 0;
      let predicted = 0;
      p.forEach((v, i) => {
        const positive = v > head.threshold ? 1 : 0;
        predicted += positive;
        overlap += positive * (image.labels[i] === 4 ? 1 : 0);
      });
      const [o, q] = state.counts[`whole/1/${image.name}`].heads['plasma/1/2/1'].bfgs;
      // Both are float32 products; a pixel at the threshold may fall either way.
      assert.ok(
        Math.abs(o - overlap) <= 2 && Math.abs(q - predicted) <= 2,
        `${image.name}: stored [${o}, ${q}], recomputed [${overlap}, ${predicted}]`,
      );
      checked += predicted;
    }
    extractor.dispose();
    assert.ok(checked > 0, 'the head predicts some plasma pixels');

    // Patches: the stored counts of the head and of the upper bound (plasma's own extractor) equal
    // the product's patch path, predictTile over the image (same grid, each patch alone, averaged).
    const plasma = bundle.classes.find((c) => c.name === 'plasma')!;
    const headModel = createHeadPatchModel(
      adaptation.bfgs,
      others.map((c) => c.weights),
    );
    const own = createMsd(plasma.weights);
    const ownModel: PatchModel = async (rgb, width, height) => {
      const p = tf.tidy(() => own.predict(tf.tensor4d(Int32Array.from(rgb), [1, height, width, 3], 'int32')));
      try {
        return (await p.data()) as Float32Array;
      } finally {
        p.dispose();
      }
    };
    let differs = 0;
    for (const image of readLabelledDataset(SAMPLE, 'test')) {
      const everything = { x: 0, y: 0, width: image.width, height: image.height };
      const stored = state.counts[`patches/1/${image.name}`];
      const expected = {
        head: countsOf(await predictTile(imageSource(image), 0, everything, headModel.model), image, 4, 0.5),
        upper: countsOf(await predictTile(imageSource(image), 0, everything, ownModel), image, 4, 0.5),
      };
      for (const [what, [o, q]] of [
        ['head', stored.heads['plasma/1/2/1'].bfgs],
        ['upper', stored.upper.plasma],
      ] as const) {
        const [eo, eq] = expected[what];
        assert.ok(
          Math.abs(o - eo) <= 2 && Math.abs(q - eq) <= 2,
          `${image.name} ${what}: stored [${o}, ${q}], predictTile [${eo}, ${eq}]`,
        );
      }
      assert.equal(stored.truth.plasma, state.counts[`whole/1/${image.name}`].truth.plasma);
      const w = state.counts[`whole/1/${image.name}`].heads['plasma/1/2/1'].bfgs;
      if (Math.abs(w[1] - stored.heads['plasma/1/2/1'].bfgs[1]) > 2) differs++;
    }
    headModel.dispose();
    own.dispose();
    // Mirror padding at every patch border does change predictions: the two tilings are not one.
    assert.ok(differs > 0, 'patches and whole predict the same pixels on every test image');
    assert.equal(tf.memory().numTensors, 0);
  },
);
