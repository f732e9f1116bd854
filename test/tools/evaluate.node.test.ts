import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readLabelledDataset } from '../../tools/dataset.js';
import type { EvaluationState } from '../../tools/evaluation-state.js';
import { decodeBundle } from '../../core/msd/bundle.js';
import { openFeatureExtractor } from '../../core/msd/feature-extractor.js';
import { parseHead } from '../../core/adaptation/head.js';
import { predictWithHead } from '../../core/adaptation/predict-with-head.js';
import { initBackend } from '../../core/msd/tf-backend.js';

// The whole protocol on the generated sample patches with tiny extractors (depth 3, one epoch),
// so that it runs in seconds: training, adaptation, scoring, table, files, resume.
const SAMPLE = '.cache/sample/patches';
const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');

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
      const [o, q] = state.counts[`1/${image.name}`].heads['plasma/1/2/1'].bfgs;
      // Both are float32 products; a pixel at the threshold may fall either way.
      assert.ok(
        Math.abs(o - overlap) <= 2 && Math.abs(q - predicted) <= 2,
        `${image.name}: stored [${o}, ${q}], recomputed [${overlap}, ${predicted}]`,
      );
      checked += predicted;
    }
    extractor.dispose();
    assert.ok(checked > 0, 'the head predicts some plasma pixels');
    assert.equal(tf.memory().numTensors, 0);
  },
);
