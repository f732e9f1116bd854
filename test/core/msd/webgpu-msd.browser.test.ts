import { assert } from 'chai';
import { WebGpuMsd } from '../../../core/msd/webgpu-msd.js';
import { seededGaussian, type MsdWeights } from '../../../core/msd/weights.js';
import { referenceForward } from './msd-reference.js';
import {
  DEPTHS,
  SIZES,
  TOLERANCE,
  maxAbsDiff,
  positiveFraction,
  randomImage,
  randomWeights,
} from './msd-test-cases.js';

// The fused WGSL kernels against the plain float64 loop (msd-reference.ts), on whatever WebGPU
// adapter this Chromium offers: SwiftShader here and in CI, so images stay small. The sizes include
// 1-pixel axes and sides below 2·dilation + 1 (dilations up to 10 on 5×7), where the reflection
// folds more than once.

let device: GPUDevice | undefined;

before(async function (this: Mocha.Context) {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) {
    console.log('skipped: this browser offers no WebGPU adapter');
    this.skip();
  }
  const info = adapter.info;
  console.log(
    `WebGPU adapter: ${info.vendor} ${info.architecture} ${info.description} fallback=${info.isFallbackAdapter}`,
  );
  device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
});

after(() => device?.destroy());

/** The head over reference features in float64: σ(b + Σ_m W_m · f_m), the extractors' maps concatenated. */
function referenceHead(features: Float64Array[], depths: number[], W: Float32Array, b: number, pixels: number) {
  const p = new Float64Array(pixels);
  for (let q = 0; q < pixels; q++) {
    let z = b;
    let m = 0;
    features.forEach((f, e) => {
      for (let j = 0; j < depths[e]; j++) z += W[m++] * f[q * depths[e] + j];
    });
    p[q] = 1 / (1 + Math.exp(-z));
  }
  return p;
}

function randomHead(channels: number, seed: number): { W: Float32Array; b: number } {
  const g = seededGaussian(seed);
  return { W: Float32Array.from({ length: channels }, () => g() / Math.sqrt(channels)), b: 0.2 * g() };
}

const toBytes = (pixels: Int32Array) => Uint8Array.from(pixels);

describe('fused WebGPU MSD kernels equal the float64 reference', () => {
  const worst = { features: 0, probability: 0 };
  after(() => console.log(`fused WebGPU vs float64: worst |Δ| features ${worst.features}, p ${worst.probability}`));

  for (const depth of DEPTHS) {
    for (const [height, width] of SIZES) {
      it(`depth ${depth}, ${height}×${width}: every feature map and the head's probabilities`, async () => {
        const weights = randomWeights(3, depth, 1000 + depth);
        const pixels = randomImage(height, width, 3, 17 * height + width);
        const reference = referenceForward(weights, { height, width, pixels });
        const msd = new WebGpuMsd(device!, [weights]);
        try {
          const all = Int32Array.from({ length: height * width }, (_, i) => i);
          const features = await msd.features(toBytes(pixels), width, height, all);
          const df = maxAbsDiff(features, reference.features);
          worst.features = Math.max(worst.features, df);
          assert.isAtMost(df, TOLERANCE, `features differ by ${df}`);
          if (height * width > 9) assert.isAbove(positiveFraction(features), 0.1, 'ReLU left too few maps alive');
          const head = randomHead(depth, depth + height);
          const p = await msd.predict(toBytes(pixels), width, height, head);
          const expected = referenceHead([reference.features], [depth], head.W, head.b, height * width);
          const dp = maxAbsDiff(p, expected);
          worst.probability = Math.max(worst.probability, dp);
          assert.isAtMost(dp, TOLERANCE, `probabilities differ by ${dp}`);
        } finally {
          msd.dispose();
        }
      });
    }
  }

  it('three extractors of different depths share one buffer: the head over all their maps, some pixels', async () => {
    const extractors: MsdWeights[] = [12, 3, 25].map((depth, i) => randomWeights(3, depth, 50 + i));
    const [height, width] = [19, 26];
    const pixels = randomImage(height, width, 3, 5);
    const references = extractors.map((w) => referenceForward(w, { height, width, pixels }).features);
    const depths = extractors.map((w) => w.layers.length);
    const channels = depths.reduce((a, b) => a + b, 0);
    const msd = new WebGpuMsd(device!, extractors);
    try {
      const head = randomHead(channels, 9);
      const p = await msd.predict(toBytes(pixels), width, height, head);
      const dp = maxAbsDiff(p, referenceHead(references, depths, head.W, head.b, height * width));
      assert.isAtMost(dp, TOLERANCE, `probabilities differ by ${dp}`);
      // Some pixels, out of order, one twice: rows of C' in the extractors' order.
      const some = Int32Array.from([0, width * height - 1, 37, 5, 37, width * 7 + 3]);
      const rows = await msd.features(toBytes(pixels), width, height, some);
      const expected = new Float64Array(some.length * channels);
      some.forEach((q, k) => {
        let m = 0;
        references.forEach((f, e) => {
          for (let j = 0; j < depths[e]; j++) expected[k * channels + m++] = f[q * depths[e] + j];
        });
      });
      assert.isAtMost(maxAbsDiff(rows, expected), TOLERANCE);
      // Another size remakes the buffers; the same weights still agree.
      const small = randomImage(4, 6, 3, 6);
      const p2 = await msd.predict(toBytes(small), 6, 4, head);
      const r2 = extractors.map((w) => referenceForward(w, { height: 4, width: 6, pixels: small }).features);
      assert.isAtMost(maxAbsDiff(p2, referenceHead(r2, depths, head.W, head.b, 24)), TOLERANCE);
    } finally {
      msd.dispose();
    }
  });

  it('an image taller than the feature buffer runs in bands of rows, each with the receptive margin', async () => {
    // Depth 5: margin 1 + 2 + 3 + 4 + 5 = 15. 24 rows of buffer leave bands of 24 − 2·15 < 1 rows: refused;
    // 40 rows give bands of 10 output rows, the first and last windows clamped to the image's edges.
    const weights = randomWeights(3, 5, 71);
    const [height, width] = [67, 6];
    const pixels = randomImage(height, width, 3, 72);
    const reference = referenceForward(weights, { height, width, pixels }).features;
    const head = randomHead(5, 73);
    const expected = referenceHead([reference], [5], head.W, head.b, height * width);
    const rowBytes = 4 * (3 + 5) * width;
    const banded = new WebGpuMsd(device!, [weights], { maxBufferBytes: 40 * rowBytes });
    const tooSmall = new WebGpuMsd(device!, [weights], { maxBufferBytes: 24 * rowBytes });
    try {
      const p = await banded.predict(toBytes(pixels), width, height, head);
      const dp = maxAbsDiff(p, expected);
      assert.isAtMost(dp, TOLERANCE, `banded probabilities differ by ${dp}`);
      let error: unknown;
      await tooSmall.predict(toBytes(pixels), width, height, head).catch((e: unknown) => (error = e));
      assert.instanceOf(error, RangeError);
      assert.match((error as Error).message, /margin 15/);
    } finally {
      banded.dispose();
      tooSmall.dispose();
    }
  });

  it('a tile is one submit of 1 + depth dispatches per extractor, only the probabilities read back', async () => {
    // Counted on the real objects' prototypes for the length of one predict (restored after).
    const counts = { submits: 0, dispatches: 0, maps: 0, mappedBytes: 0 };
    const spies: [object, string, (...a: unknown[]) => void][] = [
      [GPUQueue.prototype, 'submit', () => counts.submits++],
      [GPUComputePassEncoder.prototype, 'dispatchWorkgroups', () => counts.dispatches++],
      [
        GPUBuffer.prototype,
        'mapAsync',
        (...a) => {
          counts.maps++;
          counts.mappedBytes += a[2] as number;
        },
      ],
    ];
    const originals = spies.map(
      ([proto, name]) => (proto as Record<string, unknown>)[name] as (...a: unknown[]) => unknown,
    );
    const extractors = [4, 7].map((depth, i) => randomWeights(3, depth, 80 + i));
    const msd = new WebGpuMsd(device!, extractors);
    const [height, width] = [9, 13];
    const head = randomHead(11, 81);
    try {
      spies.forEach(([proto, name, count], i) => {
        (proto as Record<string, unknown>)[name] = function (this: unknown, ...a: unknown[]) {
          count(...a);
          return originals[i].apply(this, a);
        };
      });
      await msd.predict(toBytes(randomImage(height, width, 3, 82)), width, height, head);
    } finally {
      spies.forEach(([proto, name], i) => ((proto as Record<string, unknown>)[name] = originals[i]));
      msd.dispose();
    }
    assert.deepEqual(counts, { submits: 1, dispatches: 1 + 4 + 1 + 7, maps: 1, mappedBytes: 4 * height * width });
  });

  it('refuses a head of the wrong size, a pixel outside the image, and an aborted signal', async () => {
    const msd = new WebGpuMsd(device!, [randomWeights(3, 3, 1)]);
    try {
      const rgb = new Uint8Array(5 * 5 * 3);
      assert.throws(() => msd.predict(rgb, 5, 5, { W: [1, 2], b: 0 }), /3 features/);
      let error: unknown;
      await msd.features(rgb, 5, 5, Int32Array.from([25])).catch((e: unknown) => (error = e));
      assert.instanceOf(error, RangeError);
      const controller = new AbortController();
      controller.abort();
      error = undefined;
      await msd.predict(rgb, 5, 5, { W: [1, 2, 3], b: 0 }, controller.signal).catch((e: unknown) => (error = e));
      assert.equal((error as Error).name, 'AbortError');
    } finally {
      msd.dispose();
    }
  });
});
