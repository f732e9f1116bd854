import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MsdWorkspace, msdParamLayout, packMsdParams, unpackMsdParams } from '../../../core/msd/engine.js';
import { accumulateDice, diceGradient, diceLoss, diceLossGradient, emptyDiceSums } from '../../../core/math/dice.js';
import { dilationOf, initMsdWeights, seededGaussian, type MsdWeights } from '../../../core/msd/weights.js';
import { mirrorPad } from '../../../core/msd/mirror-pad.js';
import { createMsd } from '../../../core/msd/tf-network.js';
import { initBackend } from '../../../core/msd/tf-backend.js';

/** Random parameters with every group non-zero (the reference init zeroes biases and output weights). */
function randomParams(C: number, depth: number, seed: number): Float64Array {
  const layout = msdParamLayout(C, depth);
  const g = seededGaussian(seed);
  const p = new Float64Array(layout.size);
  const sigma = Math.sqrt(2 / (9 * (C + depth - 1) + 1));
  for (let i = 0; i < p.length; i++) p[i] = sigma * g();
  for (let i = 0; i < depth; i++) p[layout.bias[i]] = 0.3 + 0.1 * g();
  for (let c = 0; c < C + depth; c++) p[layout.outputWeights + c] = 0.5 * g();
  p[layout.outputBias] = 0.2;
  return p;
}

function randomImage(n: number, seed: number): Float64Array {
  const g = seededGaussian(seed);
  return Float64Array.from({ length: n }, () => 128 + 50 * g());
}

const norm = (C: number) => ({ mean: Array(C).fill(120), std: Array(C).fill(45) });

interface Case {
  C: number;
  depth: number;
  H: number;
  W: number;
  samples: number;
}

/** Batch soft-Dice loss of the workspace's forward on `images`, and optionally its gradient. */
function lossAndGradient(
  ws: MsdWorkspace,
  params: Float32Array | Float64Array,
  images: Float64Array[],
  targets: Float64Array[],
  grad?: Float64Array,
): number {
  const sums = emptyDiceSums();
  images.forEach((img, s) => accumulateDice(sums, ws.forward(s, params, img, norm(ws.inputChannels)), targets[s]));
  if (grad) {
    const g = diceGradient(sums);
    const dl = new Float64Array(ws.height * ws.width);
    targets.forEach((t, s) => {
      diceLossGradient(g, t, dl);
      ws.backward(s, params, dl, grad);
    });
  }
  return diceLoss(sums);
}

function checkGradient(k: Case): Record<string, number> {
  const ws = new MsdWorkspace({
    inputChannels: k.C,
    depth: k.depth,
    height: k.H,
    width: k.W,
    samples: k.samples,
    training: true,
    precision: 'float64',
  });
  const params = randomParams(k.C, k.depth, 11 + k.depth);
  const images = Array.from({ length: k.samples }, (_, s) => randomImage(k.H * k.W * k.C, 100 + s));
  const targets = Array.from({ length: k.samples }, (_, s) => {
    const g = seededGaussian(200 + s);
    return Float64Array.from({ length: k.H * k.W }, () => (g() > 0.3 ? 1 : 0));
  });
  const grad = new Float64Array(ws.layout.size);
  lossAndGradient(ws, params, images, targets, grad);

  const layout = ws.layout;
  const groups: Record<string, number[]> = {
    'layer kernels': [],
    'layer biases': [],
    'output weights': [],
    'output bias': [layout.outputBias],
  };
  for (let i = 0; i < k.depth; i++) {
    for (let j = layout.kernel[i]; j < layout.bias[i]; j++) groups['layer kernels'].push(j);
    groups['layer biases'].push(layout.bias[i]);
  }
  for (let c = 0; c < k.C + k.depth; c++) groups['output weights'].push(layout.outputWeights + c);

  const h = 1e-6;
  const errors: Record<string, number> = {};
  for (const [name, indices] of Object.entries(groups)) {
    // Relative error of the whole group's gradient vector: ‖g − fd‖ / ‖fd‖.
    let diff = 0,
      norm2 = 0;
    for (const j of indices) {
      const keep = params[j];
      params[j] = keep + h;
      const up = lossAndGradient(ws, params, images, targets);
      params[j] = keep - h;
      const down = lossAndGradient(ws, params, images, targets);
      params[j] = keep;
      const fd = (up - down) / (2 * h);
      diff += (grad[j] - fd) ** 2;
      norm2 += fd * fd;
    }
    assert.ok(norm2 > 0, `${name}: the finite-difference gradient is zero, the check would prove nothing`);
    errors[name] = Math.sqrt(diff / norm2);
  }
  return errors;
}

const cases: Case[] = [
  { C: 3, depth: 4, H: 9, W: 11, samples: 2 },
  // Smaller than the dilations (up to 10): reflection wraps around the axis several times.
  { C: 3, depth: 12, H: 5, W: 7, samples: 1 },
  { C: 1, depth: 11, H: 3, W: 2, samples: 2 },
  { C: 2, depth: 3, H: 1, W: 4, samples: 1 },
];

for (const k of cases) {
  test(
    `gradient matches central finite differences: ` + `C=${k.C} depth=${k.depth} ${k.H}×${k.W} batch ${k.samples}`,
    () => {
      const errors = checkGradient(k);
      const text = Object.entries(errors)
        .map(([n, e]) => `${n} ${e.toExponential(1)}`)
        .join(', ');
      console.log(`  relative error ‖g − fd‖/‖fd‖ (float64, h = 1e-6): ${text}`);
      for (const [name, e] of Object.entries(errors)) assert.ok(e < 1e-6, `${name}: relative error ${e}`);
    },
  );
}

test('the float32 loops (WebAssembly SIMD and plain JS) give the float64 gradient', () => {
  for (const k of [
    { C: 3, depth: 25, H: 37, W: 29, samples: 2 },
    { C: 3, depth: 12, H: 5, W: 7, samples: 1 },
    { C: 1, depth: 3, H: 4, W: 1, samples: 1 },
    { C: 3, depth: 25, H: 64, W: 64, samples: 1 },
  ]) {
    const params = randomParams(k.C, k.depth, 21);
    const images = Array.from({ length: k.samples }, (_, s) => randomImage(k.H * k.W * k.C, 300 + s));
    const targets = Array.from({ length: k.samples }, (_, s) => {
      const g = seededGaussian(400 + s);
      return Float64Array.from({ length: k.H * k.W }, () => (g() > 0.5 ? 1 : 0));
    });
    const reference = new Float64Array(params.length);
    const ws64 = new MsdWorkspace({
      inputChannels: k.C,
      depth: k.depth,
      height: k.H,
      width: k.W,
      samples: k.samples,
      training: true,
      precision: 'float64',
    });
    lossAndGradient(ws64, params, images, targets, reference);
    for (const simd of [true, false]) {
      const ws = new MsdWorkspace({
        inputChannels: k.C,
        depth: k.depth,
        height: k.H,
        width: k.W,
        samples: k.samples,
        training: true,
        simd,
      });
      if (simd) assert.ok(ws.usesSimd, 'Node 20 has WebAssembly SIMD; the SIMD loops should run');
      const grad = new Float64Array(params.length);
      lossAndGradient(ws, Float32Array.from(params), images, targets, grad);
      let diff = 0,
        norm2 = 0;
      for (let i = 0; i < grad.length; i++) {
        diff += (grad[i] - reference[i]) ** 2;
        norm2 += reference[i] ** 2;
      }
      const e = Math.sqrt(diff / norm2);
      console.log(
        `  float32 ${simd ? 'SIMD' : 'JS'} vs float64, C=${k.C} depth=${k.depth} ${k.H}×${k.W}: ` +
          `relative error ${e.toExponential(1)}`,
      );
      assert.ok(e < 1e-4, `relative error ${e}`);
    }
  }
});

/**
 * An independent forward: TF.js dilated conv2d over mirror-padded inputs, layer by layer, on
 * the CPU backend — what the inference code is built from.
 */
function tfForward(
  w: MsdWeights,
  rgb: Float32Array,
  H: number,
  W: number,
): { maps: Float32Array[]; output: Float32Array } {
  return tf.tidy(() => {
    const C = w.inputChannels;
    const mean = tf.tensor1d([...w.normalisation.mean]);
    const std = tf.tensor1d([...w.normalisation.std]);
    let x = tf.tensor4d(rgb, [1, H, W, C]).sub(mean).div(std) as tf.Tensor4D;
    const maps: Float32Array[] = [];
    w.layers.forEach((layer, i) => {
      const d = layer.dilation;
      const kernel = tf.tensor4d(layer.kernel, [3, 3, C + i, 1]);
      const y = tf.relu(tf.conv2d(mirrorPad(x, d), kernel, 1, 'valid', 'NHWC', d).add(layer.bias)) as tf.Tensor4D;
      maps.push(y.dataSync() as Float32Array);
      x = tf.concat([x, y], 3);
    });
    const out = tf.sigmoid(
      tf.conv2d(x, tf.tensor4d(w.output.weights, [1, 1, C + w.layers.length, 1]), 1, 'valid').add(w.output.bias),
    );
    return { maps, output: out.dataSync() as Float32Array };
  });
}

test('the float32 forward equals a TF.js dilated conv2d + mirrorPad forward', async () => {
  await tf.setBackend('cpu');
  for (const [H, W, depth] of [
    [40, 33, 25],
    [6, 5, 12],
  ] as const) {
    const C = 3;
    const p = randomParams(C, depth, 5);
    const w = unpackMsdParams(p, C, depth, { mean: [180, 120, 160], std: [40, 50, 30] });
    const rgb = new Float32Array(H * W * C);
    const g = seededGaussian(9);
    for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(Math.min(255, Math.max(0, 150 + 60 * g())));
    const ws = new MsdWorkspace({ inputChannels: C, depth, height: H, width: W, samples: 1, training: false });
    const out = ws.forward(0, packMsdParams(w), rgb, w.normalisation);
    const ref = tfForward(w, rgb, H, W);
    let maxMap = 0;
    for (let m = 0; m < depth; m++) {
      const mine = ws.featureMap(0, m);
      for (let i = 0; i < mine.length; i++) maxMap = Math.max(maxMap, Math.abs(mine[i] - ref.maps[m][i]));
    }
    let maxOut = 0;
    for (let i = 0; i < out.length; i++) maxOut = Math.max(maxOut, Math.abs(out[i] - ref.output[i]));
    assert.ok(maxMap < 1e-4, `${H}×${W} depth ${depth}: feature maps differ by ${maxMap}`);
    assert.ok(maxOut < 1e-5, `${H}×${W} depth ${depth}: outputs differ by ${maxOut}`);
  }
});

test('the training forward computes the same function as the inference network (core/msd/tf-network.ts)', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend(backend);
    for (const [H, W, depth] of [
      [45, 38, 25],
      [7, 6, 12],
    ] as const) {
      const C = 3;
      const w = unpackMsdParams(randomParams(C, depth, 8), C, depth, { mean: [170, 110, 150], std: [45, 55, 35] });
      const g = seededGaussian(10);
      const rgb = Float32Array.from({ length: H * W * C }, () =>
        Math.round(Math.min(255, Math.max(0, 150 + 60 * g()))),
      );
      const ws = new MsdWorkspace({ inputChannels: C, depth, height: H, width: W, samples: 1, training: false });
      const out = ws.forward(0, packMsdParams(w), rgb, w.normalisation);
      const net = createMsd(w);
      const x = tf.tensor4d(rgb, [1, H, W, C]);
      const { features, probability } = net.forward(x);
      const theirMaps = await features.data();
      const theirOut = await probability.data();
      tf.dispose([x, features, probability]);
      net.dispose();
      let maxMap = 0;
      for (let m = 0; m < depth; m++) {
        const mine = ws.featureMap(0, m);
        for (let i = 0; i < mine.length; i++) maxMap = Math.max(maxMap, Math.abs(mine[i] - theirMaps[i * depth + m]));
      }
      let maxOut = 0;
      for (let i = 0; i < out.length; i++) maxOut = Math.max(maxOut, Math.abs(out[i] - theirOut[i]));
      console.log(
        `  vs createMsd on ${backend}, ${H}×${W} depth ${depth}: max |Δmap| ${maxMap.toExponential(1)}, ` +
          `max |Δprobability| ${maxOut.toExponential(1)}`,
      );
      assert.ok(maxMap < 1e-4, `${backend} ${H}×${W} depth ${depth}: feature maps differ by ${maxMap}`);
      assert.ok(maxOut < 1e-5, `${backend} ${H}×${W} depth ${depth}: outputs differ by ${maxOut}`);
    }
  }
});

test('packing and unpacking parameters round-trips an MsdWeights', () => {
  const w = initMsdWeights(3, 7, seededGaussian(3), { mean: [1, 2, 3], std: [4, 5, 6] });
  const back = unpackMsdParams(packMsdParams(w), 3, 7, w.normalisation);
  assert.deepEqual(back, w);
  assert.equal(msdParamLayout(3, 7).size, 9 * (3 * 7 + 21) + 7 + 3 + 7 + 1);
});

test('dilationOf is what the workspace pads for', () => {
  assert.equal(
    new MsdWorkspace({ inputChannels: 3, depth: 25, height: 4, width: 4, samples: 1, training: false }).pad,
    dilationOf(9),
  );
});
