// Times one MSD training step (forward + backward + Adam update) at batch B and crop S, for
// the plain-JS formulation the trainer uses (in this thread, and over worker threads) against
// two TF.js formulations on the wasm backend: the naive one (each layer a 1×1 matMul into 9 tap
// maps summed over shifted slices, autograd) and a tf.customGrad one (dilated conv2d forward,
// hand-written input and filter gradients). Usage:
//   npx tsx tools/bench-train.ts [--batch 8] [--crop 128] [--depth 25] [--steps 5] [--threads 2]
//     [--skip naive,custom]
// Each TF.js formulation runs in a child process: the wasm backend aborts the whole process
// when its heap runs out, and that should cost one line of the table, not the run.
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../core/msd/tf-backend.js';
import { mirrorPad } from '../core/msd/mirror-pad.js';
import { Adam } from '../core/training/adam.js';
import { localTrainEngine, type TrainEngineFactory } from '../core/training/train-engine.js';
import { msdParamLayout, packMsdParams } from '../core/msd/engine.js';
import { initMsdWeights, type MsdWeights } from '../core/msd/weights.js';
import { SeededRandom } from '../core/math/seeded-random.js';
import type { Crop } from '../core/training/crop-sampler.js';
import { threadedTrainEngine } from './train-threads.js';
import { choiceOption, integerOption, listOption, startCli } from './cli.js';

const values = startCli({
  name: 'bench:train',
  command: 'npm run bench:train',
  synopsis: '[options]',
  description: `
Times one MSD training step (forward, backward, Adam) of the plain-JS + wasm SIMD engine the
trainer uses, in this thread and over worker threads, against two TF.js formulations on wasm
(each in a child process: the wasm backend aborts the whole process when its heap runs out).`,
  options: {
    batch: { type: 'string', value: 'N', default: '8', description: 'crops per step' },
    crop: { type: 'string', value: 'N', default: '128', description: 'crop side' },
    depth: { type: 'string', value: 'N', default: '25', description: 'MSD layers' },
    steps: { type: 'string', value: 'N', default: '5', description: 'timed steps after a warm-up' },
    threads: { type: 'string', value: 'N', default: String(os.availableParallelism()), description: 'worker threads' },
    skip: { type: 'string', value: 'LIST', default: '', description: 'TF.js formulations to leave out: naive, custom' },
    // The child process's mode: one TF.js formulation, its result as one JSON line.
    only: { type: 'string', value: 'naive|custom', description: 'time only this TF.js formulation (used internally)' },
  },
  examples: ['npm run bench:train -- --batch 4 --crop 64 --threads 2 --skip naive'],
});
const B = integerOption('batch', values.batch, 1);
const S = integerOption('crop', values.crop, 8, 2048);
const depth = integerOption('depth', values.depth, 1, 1000);
const steps = integerOption('steps', values.steps, 1);
const threads = integerOption('threads', values.threads, 1);
const formulations = ['naive', 'custom'] as const;
const skip = new Set(
  values.skip === '' ? [] : listOption('skip', values.skip, (f) => choiceOption('skip', f, formulations)),
);
if (values.only !== undefined) choiceOption('only', values.only, formulations);
const C = 3;

const rng = new SeededRandom(7);
const weights = initMsdWeights(C, depth, () => rng.gaussian(), { mean: [180, 130, 170], std: [40, 50, 35] });
// The reference init zeroes the output layer, which leaves most gradients zero on step one.
weights.output.weights.forEach((_, i) => (weights.output.weights[i] = 0.1 * rng.gaussian()));
const crops: Crop[] = Array.from({ length: B }, () => {
  const rgb = new Uint8Array(S * S * C);
  const mask = new Uint8Array(S * S);
  // Blobs on a noisy background, so activations and gradients look like real ones.
  const cx = rng.next() * S,
    cy = rng.next() * S,
    r = S / 6;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
      mask[y * S + x] = inside ? 1 : 0;
      for (let c = 0; c < C; c++)
        rgb[(y * S + x) * C + c] = Math.max(0, Math.min(255, (inside ? 90 : 200) + 25 * rng.gaussian()));
    }
  }
  return { rgb, mask };
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeSteps(name: string, step: () => Promise<void>): Promise<number> {
  await step(); // warm-up: JIT, allocation, wasm start
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await step();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const ms = median(wall);
  console.log(
    `${name.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms/step  ${(ms / B).toFixed(1).padStart(7)} ms/crop  ` +
      `(process CPU ${median(cpu).toFixed(0)} ms/step; steps ${wall.map((w) => w.toFixed(0)).join(' ')})`,
  );
  return ms;
}

async function benchJs(label: string, factory: TrainEngineFactory): Promise<{ ms: number; grad: Float64Array }> {
  const engine = await factory({ inputChannels: C, depth, crop: S, batch: B });
  const params = packMsdParams(weights);
  const adam = new Adam(params.length);
  let first: Float64Array | undefined;
  try {
    const ms = await timeSteps(label, async () => {
      const { grad } = await engine.step(params, weights.normalisation, crops);
      first ??= grad.slice();
      adam.update(params, grad);
    });
    return { ms, grad: first! };
  } finally {
    await engine.close();
  }
}

interface TfParams {
  kernels: tf.Variable[];
  biases: tf.Variable[];
  out: tf.Variable;
  outBias: tf.Variable;
}

function tfParams(w: MsdWeights): TfParams {
  return {
    kernels: w.layers.map((l, i) => tf.variable(tf.tensor4d(l.kernel, [3, 3, C + i, 1]))),
    biases: w.layers.map((l) => tf.variable(tf.scalar(l.bias))),
    out: tf.variable(tf.tensor2d(w.output.weights, [C + depth, 1])),
    outBias: tf.variable(tf.scalar(w.output.bias)),
  };
}

function normalisedInput(w: MsdWeights): tf.Tensor4D {
  const all = new Float32Array(B * S * S * C);
  crops.forEach((c, b) => all.set(Float32Array.from(c.rgb), b * S * S * C));
  return tf.tidy(
    () =>
      tf
        .tensor4d(all, [B, S, S, C])
        .sub(tf.tensor1d([...w.normalisation.mean]))
        .div(tf.tensor1d([...w.normalisation.std])) as tf.Tensor4D,
  );
}

function batchDiceLoss(p: tf.Tensor, t: tf.Tensor): tf.Scalar {
  const i = tf.sum(tf.mul(p, t));
  return tf.sub(1, tf.div(tf.add(tf.mul(2, i), 1), tf.add(tf.add(tf.sum(p), tf.sum(t)), 1))) as tf.Scalar;
}

function outputLayer(stack: tf.Tensor4D, p: TfParams): tf.Tensor {
  const flat = tf.reshape(stack, [B * S * S, C + depth]);
  return tf.sigmoid(tf.add(tf.matMul(flat, p.out), p.outBias));
}

/** The naive layer: mirror-pad, one matMul to 9 tap maps, sum of the 9 shifted slices. */
function tapLayer(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor, d: number): tf.Tensor4D {
  const cin = x.shape[3];
  const xp = mirrorPad(x, d);
  const [, hp, wp] = xp.shape;
  const k9 = tf.reshape(tf.transpose(tf.reshape(kernel, [9, cin]), [1, 0]), [cin, 9]);
  const taps = tf.reshape(tf.matMul(tf.reshape(xp, [B * hp * wp, cin]), k9), [B, hp, wp, 9]);
  let acc: tf.Tensor4D | undefined;
  for (let t = 0; t < 9; t++) {
    const ky = Math.floor(t / 3),
      kx = t % 3;
    const s = tf.slice(taps, [0, ky * d, kx * d, t], [B, S, S, 1]);
    acc = acc ? (tf.add(acc, s) as tf.Tensor4D) : (s as tf.Tensor4D);
  }
  return tf.relu(tf.add(acc!, bias)) as tf.Tensor4D;
}

/**
 * A dilated-conv layer with a hand-written gradient: the input gradient is a dilated conv of
 * the zero-padded dy with the flipped, transposed kernel; the filter gradient is 9 shifted
 * x·dy reductions as matMuls. (Mirror padding sits outside, so autograd folds its gradient.)
 */
const dilatedLayer = (d: number): ((xp: tf.Tensor, kernel: tf.Tensor) => tf.Tensor) =>
  tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xp, kernel, save] = inputs as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xp, kernel]);
    const value = tf.conv2d(xp, kernel, 1, 'valid', 'NHWC', d);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, k] = saved as [tf.Tensor4D, tf.Tensor4D];
        const cin = x.shape[3];
        const dy4 = dy as tf.Tensor4D;
        const flipped = tf.reshape(tf.reverse(tf.reshape(k, [3, 3, cin]), [0, 1]), [3, 3, 1, cin]) as tf.Tensor4D;
        const dx = tf.conv2d(
          tf.pad(dy4, [
            [0, 0],
            [2 * d, 2 * d],
            [2 * d, 2 * d],
            [0, 0],
          ]),
          flipped,
          1,
          'valid',
          'NHWC',
          d,
        );
        const dyRow = tf.reshape(dy4, [1, B * S * S]);
        const taps: tf.Tensor[] = [];
        for (let t = 0; t < 9; t++) {
          const ky = Math.floor(t / 3),
            kx = t % 3;
          const xs = tf.reshape(tf.slice(x, [0, ky * d, kx * d, 0], [B, S, S, cin]), [B * S * S, cin]);
          taps.push(tf.matMul(dyRow, xs));
        }
        return [dx, tf.reshape(tf.concat(taps, 0), [3, 3, cin, 1])];
      },
    };
  }) as (xp: tf.Tensor, kernel: tf.Tensor) => tf.Tensor;

async function benchTf(label: string, layer: 'taps' | 'custom'): Promise<{ ms: number; grad: Float64Array }> {
  const p = tfParams(weights);
  const x0 = normalisedInput(weights);
  const target = tf.tensor2d(Float32Array.from(crops.flatMap((c) => Array.from(c.mask))), [B * S * S, 1]);
  const custom = weights.layers.map((l) => dilatedLayer(l.dilation));
  const loss = () =>
    tf.tidy(() => {
      let stack = x0;
      weights.layers.forEach((l, i) => {
        const y =
          layer === 'taps'
            ? tapLayer(stack, p.kernels[i] as tf.Tensor4D, p.biases[i], l.dilation)
            : (tf.relu(tf.add(custom[i](mirrorPad(stack, l.dilation), p.kernels[i]), p.biases[i])) as tf.Tensor4D);
        stack = tf.concat([stack, y], 3);
      });
      return batchDiceLoss(outputLayer(stack, p), target);
    });
  const vars = [...p.kernels.flatMap((k, i) => [k, p.biases[i]]), p.out, p.outBias];
  // The gradient of the first step, flattened like the JS parameters, to cross-check the two.
  const { grads } = tf.variableGrads(loss, vars);
  const layout = msdParamLayout(C, depth);
  const grad = new Float64Array(layout.size);
  weights.layers.forEach((_, i) => {
    grad.set(grads[p.kernels[i].name].dataSync(), layout.kernel[i]);
    grad[layout.bias[i]] = grads[p.biases[i].name].dataSync()[0];
  });
  grad.set(grads[p.out.name].dataSync(), layout.outputWeights);
  grad[layout.outputBias] = grads[p.outBias.name].dataSync()[0];
  tf.dispose(Object.values(grads));
  const optimizer = tf.train.adam(1e-3);
  try {
    const ms = await timeSteps(label, async () => {
      const l = optimizer.minimize(loss, true, vars);
      await l?.data();
      l?.dispose();
    });
    return { ms, grad };
  } finally {
    optimizer.dispose();
    tf.dispose([x0, target, ...vars]);
  }
}

function relativeDifference(a: Float64Array, b: Float64Array): number {
  let d = 0,
    n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

const RESULT = 'RESULT ';

if (values.only === 'naive' || values.only === 'custom') {
  // Child mode: one TF.js formulation; the result goes back as one JSON line.
  const backend = await initBackend('wasm');
  const r =
    values.only === 'custom'
      ? await benchTf(`TF.js ${backend}, dilated conv2d + customGrad`, 'custom')
      : await benchTf(`TF.js ${backend}, naive 9-tap matMul (autograd)`, 'taps');
  console.log(RESULT + JSON.stringify({ ms: r.ms, grad: Array.from(r.grad) }));
  process.exit(0);
}

function runChild(which: 'naive' | 'custom'): { ms: number; grad: Float64Array } | string {
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--batch',
    String(B),
    '--crop',
    String(S),
    '--depth',
    String(depth),
    '--steps',
    String(steps),
    '--only',
    which,
  ];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const lines = (child.stdout ?? '').split('\n');
  for (const line of lines)
    if (
      line &&
      !line.startsWith(RESULT) &&
      !line.includes('tfjs-node') &&
      !line.startsWith('====') &&
      line.trim() !== '' &&
      !line.startsWith('Hi, looks')
    )
      console.log(line);
  const result = lines.find((l) => l.startsWith(RESULT));
  if (!result) {
    const why = /memory access out of bounds|Aborted|out of memory/i.test(child.stderr ?? '')
      ? 'the wasm heap ran out'
      : `exit code ${child.status}`;
    return `failed (${why}) at batch ${B}, ${S}²`;
  }
  const parsed = JSON.parse(result.slice(RESULT.length)) as { ms: number; grad: number[] };
  return { ms: parsed.ms, grad: Float64Array.from(parsed.grad) };
}

const load = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
console.log(
  `MSD training step, depth ${depth}, batch ${B}, crops ${S}², median of ${steps} steps after a warm-up; ` +
    `${os.cpus().length} cores, load ${load}`,
);
const js1 = await benchJs('plain JS + wasm SIMD loops, 1 thread', localTrainEngine);
const jsN =
  threads > 1
    ? await benchJs(`plain JS + wasm SIMD loops, ${threads} worker threads`, threadedTrainEngine(threads))
    : js1;
const results: Record<string, { ms: number; grad: Float64Array } | string> = {};
for (const which of ['custom', 'naive'] as const) if (!skip.has(which)) results[which] = runChild(which);
console.log(
  "TF.js 4.22's MirrorPad gradient only slices the interior out of dy " +
    '(it drops what the mirrored border contributed), so both TF.js gradients are wrong near borders; ' +
    'the plain-JS gradient matches finite differences (test/core/msd/engine.node.test.ts).',
);
console.log(
  `load now ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (const [name, r] of Object.entries(results)) {
  if (typeof r === 'string') {
    console.log(`${name}: ${r}`);
    continue;
  }
  console.log(
    `${name}: ${r.ms.toFixed(0)} ms/step vs ours ${js1.ms.toFixed(0)} (1 thread) ` +
      `→ ${(r.ms / js1.ms).toFixed(1)}× faster, ` +
      `${jsN.ms.toFixed(0)} (${threads} threads) → ${(r.ms / jsN.ms).toFixed(1)}× faster;` +
      ` its gradient differs from ours by ${relativeDifference(r.grad, js1.grad).toExponential(1)} (relative L2)`,
  );
}
