/**
 * Per-patch inference speed: ms per 256×256 patch of the head patch model on TF.js wasm
 * (core/inference/head-patch-model.ts) against the SIMD model (core/inference/simd-patch-model.ts), for the
 * default extractors (three depth-25 networks) and a random head; medians over interleaved runs
 * (TF.js, SIMD, TF.js, …, after one warm-up each), so a load change on the machine hits both.
 * Also the plain-JS loops (what runs where WebAssembly SIMD is missing) unless --no-plain.
 *
 *   npx tsx tools/bench-patch-model.ts                    # default bundle, 7 runs
 *   npx tsx tools/bench-patch-model.ts --runs 11 --depths 25,50,100   # random extractors instead
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { decodeBundle } from '../core/msd/bundle.js';
import { createHeadPatchModel } from '../core/inference/head-patch-model.js';
import { initMsdWeights, seededGaussian, type MsdWeights } from '../core/msd/weights.js';
import type { PatchModel } from '../core/inference/patch-model.js';
import { createSimdHeadPatchModel } from '../core/inference/simd-patch-model.js';
import { initBackend } from '../core/msd/tf-backend.js';
import { existingFile, integerOption, listOption, startCli } from './cli.js';

const args = startCli({
  name: 'bench:patch',
  command: 'npm run bench:patch',
  synopsis: '[options]',
  description: `
Per-patch inference speed of the head patch model: TF.js wasm against the WebAssembly SIMD
model (and the plain-JS loops), for the extractor bundle and a random head; medians over
interleaved runs after a warm-up each.`,
  options: {
    runs: { type: 'string', value: 'N', default: '7', description: 'timed runs per model' },
    size: { type: 'string', value: 'N', default: '256', description: 'patch width and height' },
    depths: { type: 'string', value: 'LIST', description: 'random extractors of these depths instead of the bundle' },
    plain: { type: 'boolean', default: true, description: 'time the plain-JS loops too (--no-plain: not)' },
    bundle: {
      type: 'string',
      value: 'FILE',
      default: fileURLToPath(new URL('../models/default/extractors.json', import.meta.url)),
      description: 'extractor bundle manifest (.json; its .bin beside it)',
    },
  },
  allowNegative: true,
  examples: ['npm run bench:patch -- --runs 11 --depths 25,50,100', 'npm run bench:patch -- --no-plain'],
});
const runs = integerOption('runs', args.runs, 1);
const size = integerOption('size', args.size, 8, 4096);
const depths =
  args.depths === undefined ? undefined : listOption('depths', args.depths, (d) => integerOption('depths', d, 1));
if (!depths) {
  existingFile('bundle', args.bundle, 'an extractor bundle manifest');
  existingFile('bundle', args.bundle.replace(/\.json$/, '.bin'), 'its weights, beside the manifest');
}

function extractorSets(): { label: string; extractors: MsdWeights[] }[] {
  if (!depths) {
    const bundle = decodeBundle(
      readFileSync(args.bundle, 'utf8'),
      new Uint8Array(readFileSync(args.bundle.replace(/\.json$/, '.bin'))).buffer,
    );
    return [
      {
        label: `default (${bundle.classes.map((c) => `${c.name} ${c.weights.layers.length}`).join(', ')})`,
        extractors: bundle.classes.map((c) => c.weights),
      },
    ];
  }
  return depths.map((depth) => ({
    label: `3 × random depth ${depth}`,
    extractors: [1, 2, 3].map((k) =>
      initMsdWeights(3, depth, seededGaussian(100 * depth + k), { mean: [180, 130, 170], std: [40, 50, 35] }),
    ),
  }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => ms.toFixed(1);

await initBackend('wasm');
const gaussian = seededGaussian(7);
const rgb = Uint8Array.from({ length: size * size * 3 }, () =>
  Math.max(0, Math.min(255, Math.round(150 + 50 * gaussian()))),
);
console.log(
  `ms per ${size}×${size} patch (features of every extractor + head + σ), ` +
    `${runs} interleaved runs after 1 warm-up each, TF.js backend wasm`,
);
const header = [
  'extractors',
  'TF.js wasm median',
  'SIMD median',
  'speed-up',
  'TF.js min',
  'SIMD min',
  ...(args.plain ? ['plain JS median', 'plain/TF.js'] : []),
  'max |Δp|',
];
const rows: string[][] = [];
for (const { label, extractors } of extractorSets()) {
  const channels = extractors.reduce((s, e) => s + e.layers.length, 0);
  const head = { W: Array.from({ length: channels }, () => gaussian() / Math.sqrt(channels)), b: -0.5 };
  const tfModel = createHeadPatchModel(head, extractors);
  const simdModel = createSimdHeadPatchModel(head, extractors);
  const plainModel = args.plain ? createSimdHeadPatchModel(head, extractors, { simd: false }) : undefined;
  if (!simdModel.usesSimd)
    console.log('WebAssembly SIMD is not available here: the "SIMD" column is the plain-JS loops');
  const models: [string, PatchModel][] = [
    ['tf', tfModel.model],
    ['simd', simdModel.model],
    ...(plainModel ? [['plain', plainModel.model] as [string, PatchModel]] : []),
  ];
  const times = new Map<string, number[]>(models.map(([k]) => [k, []]));
  const outputs = new Map<string, Float32Array>();
  for (let r = 0; r <= runs; r++) {
    for (const [key, model] of models) {
      // The plain loops are slow: a third of the runs is enough for their median.
      if (key === 'plain' && r > Math.max(1, Math.ceil(runs / 3))) continue;
      const start = performance.now();
      const p = await model(rgb, size, size);
      const ms = performance.now() - start;
      if (r === 0) outputs.set(key, p);
      else times.get(key)!.push(ms);
    }
  }
  let dp = 0;
  const a = outputs.get('tf')!,
    b = outputs.get('simd')!;
  for (let i = 0; i < a.length; i++) dp = Math.max(dp, Math.abs(a[i] - b[i]));
  const t = median(times.get('tf')!),
    s = median(times.get('simd')!);
  const row = [
    label,
    fmt(t),
    fmt(s),
    `${(t / s).toFixed(2)}×`,
    fmt(Math.min(...times.get('tf')!)),
    fmt(Math.min(...times.get('simd')!)),
  ];
  if (plainModel) {
    const p = median(times.get('plain')!);
    row.push(fmt(p), `${(p / t).toFixed(2)}×`);
  }
  row.push(dp.toExponential(1));
  rows.push(row);
  const plain = plainModel ? ` | plain ${times.get('plain')!.map(fmt).join(' ')}` : '';
  console.log(
    `${label}: TF.js ${times.get('tf')!.map(fmt).join(' ')} | ` +
      `SIMD ${times.get('simd')!.map(fmt).join(' ')}${plain}`,
  );
  tfModel.dispose();
  simdModel.dispose();
  plainModel?.dispose();
}
console.log(`tensors left: ${tf.memory().numTensors}`);

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padStart(widths[i])).join(' | ')} |`;
console.log(['', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
