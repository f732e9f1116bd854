/**
 * Forward-pass speed of the MSD feature extractor: median over timed runs (after one warm-up)
 * of createMsd(weights).features(x) on one 256×256×3 patch, read back with await data().
 *
 *   npx tsx tools/bench-msd.ts              # wasm: depths 25, 50, 100; cpu: depth 25
 *   npx tsx tools/bench-msd.ts --baseline   # also the plain pad-and-concatenate formulation
 *   npx tsx tools/bench-msd.ts --runs 9 --size 128
 */
import * as tf from '@tensorflow/tfjs';
import { mirrorPad } from '../core/msd/mirror-pad.js';
import { createMsd } from '../core/msd/tf-network.js';
import { initMsdWeights, seededGaussian, type MsdWeights } from '../core/msd/weights.js';
import { initBackend, type BackendName } from '../core/msd/tf-backend.js';
import { integerOption, startCli } from './cli.js';

const args = startCli({
  name: 'bench:msd',
  command: 'npm run bench:msd',
  synopsis: '[options]',
  description: `
Forward-pass speed of the MSD feature extractor on one patch: median over timed runs after a
warm-up, on wasm at depths 25, 50 and 100 and on cpu at depth 25.`,
  options: {
    runs: { type: 'string', value: 'N', default: '5', description: 'timed runs per case' },
    size: { type: 'string', value: 'N', default: '256', description: 'patch width and height' },
    baseline: { type: 'boolean', default: false, description: 'also time the plain pad-and-concatenate formulation' },
  },
  examples: ['npm run bench:msd -- --baseline', 'npm run bench:msd -- --runs 9 --size 128'],
});
const runs = integerOption('runs', args.runs, 1);
const size = integerOption('size', args.size, 8, 4096);

const cases: { backend: BackendName; depth: number }[] = [
  { backend: 'wasm', depth: 25 },
  { backend: 'wasm', depth: 50 },
  { backend: 'wasm', depth: 100 },
  { backend: 'cpu', depth: 25 },
];

/**
 * The formulation tf-network.ts replaced: mirror-pad the whole stack, one 3×3 convolution,
 * concatenate the new map. Kept here only as the yardstick for that choice.
 */
function baselineFeatures(weights: MsdWeights): { run(x: tf.Tensor4D): tf.Tensor4D; dispose(): void } {
  const c = weights.inputChannels;
  const kernels = weights.layers.map((l, i) => tf.tensor4d(l.kernel, [3, 3, c + i, 1]));
  const biases = weights.layers.map((l) => tf.tensor1d([l.bias]));
  return {
    run(x) {
      let stack = tf.tidy(
        () =>
          tf.div(
            tf.sub(tf.cast(x, 'float32'), weights.normalisation.mean as number[]),
            weights.normalisation.std as number[],
          ) as tf.Tensor4D,
      );
      weights.layers.forEach((layer, i) => {
        const previous = stack;
        stack = tf.tidy(() =>
          tf.concat(
            [
              previous,
              tf.fused.conv2d({
                x: mirrorPad(previous, layer.dilation),
                filter: kernels[i],
                strides: 1,
                pad: 'valid',
                dilations: layer.dilation,
                bias: biases[i],
                activation: 'relu',
              }),
            ],
            3,
          ),
        );
        previous.dispose();
      });
      const out = tf.slice(stack, [0, 0, 0, c], [-1, -1, -1, -1]);
      stack.dispose();
      return out;
    },
    dispose: () => tf.dispose([...kernels, ...biases]),
  };
}

async function timeRuns(run: () => tf.Tensor): Promise<number[]> {
  const times: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const start = performance.now();
    const y = run();
    await y.data();
    const elapsed = performance.now() - start;
    y.dispose();
    if (r > 0) times.push(elapsed); // run 0 is the warm-up (kernel set-up, operator caches)
  }
  return times.sort((a, b) => a - b);
}

const median = (sorted: number[]) => sorted[Math.floor(sorted.length / 2)];

console.log(`MSD width 1, input 1×${size}×${size}×3, ${runs} runs after 1 warm-up, times in ms`);
const header = ['backend', 'depth', 'median', 'min', 'max', ...(args.baseline ? ['baseline median', 'speed-up'] : [])];
const rows: string[][] = [];
for (const { backend, depth } of cases) {
  await initBackend(backend);
  const weights = initMsdWeights(3, depth, seededGaussian(depth), { mean: [180, 130, 170], std: [40, 50, 35] });
  const x = tf.tidy(() => tf.floor(tf.randomUniform([1, size, size, 3], 0, 256, 'float32', 1)) as tf.Tensor4D);
  const net = createMsd(weights);
  const times = await timeRuns(() => net.features(x));
  net.dispose();
  const row = [
    backend,
    String(depth),
    median(times).toFixed(0),
    times[0].toFixed(0),
    times[times.length - 1].toFixed(0),
  ];
  if (args.baseline) {
    const base = baselineFeatures(weights);
    const baseTimes = await timeRuns(() => base.run(x));
    base.dispose();
    row.push(median(baseTimes).toFixed(0), `${(median(baseTimes) / median(times)).toFixed(2)}×`);
  }
  x.dispose();
  rows.push(row);
  console.log(row.join('\t'));
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padStart(widths[i])).join(' | ')} |`;
console.log(['', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
