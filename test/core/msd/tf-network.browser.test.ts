import { assert } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { createMsd } from '../../../core/msd/tf-network.js';
import { initBackend, type BackendName } from '../../../core/msd/tf-backend.js';
import type { MsdWorkerReply, MsdWorkerRequest } from './msd-in-worker.js';
import { referenceForward } from './msd-reference.js';
import { DEPTHS, SIZES, TOLERANCE, maxAbsDiff, randomImage, randomWeights } from './msd-test-cases.js';

// Every backend this Chromium offers. The GPU ones are software here (SwiftShader), so inputs
// stay tiny; what matters is that each computes the same thing.
const BACKENDS: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

interface Outputs {
  features: Float32Array;
  probability: Float32Array;
}

const cases = DEPTHS.flatMap((depth) =>
  SIZES.map(([height, width]) => ({ depth, height, width, key: `depth ${depth}, ${height}×${width}` })),
);
const results = new Map<string, Map<BackendName, Outputs>>(cases.map((c) => [c.key, new Map()]));

async function webgpuOffered(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return gpu !== undefined && (await gpu.requestAdapter()) !== null;
}

describe('MSD forward on every browser backend equals the float64 reference', () => {
  for (const backend of BACKENDS) {
    describe(backend, () => {
      const worst = { features: 0, probability: 0 };

      before(async function (this: Mocha.Context) {
        if (backend === 'webgpu' && !(await webgpuOffered())) {
          console.log('skipped: this browser offers no WebGPU adapter');
          this.skip();
        }
        // A backend the browser offers must start: failing here is a finding, not a skip.
        assert.equal(await initBackend(backend), backend);
      });

      for (const { depth, height, width, key } of cases) {
        it(key, async () => {
          await initBackend(backend);
          const weights = randomWeights(3, depth, 1000 + depth);
          const pixels = randomImage(height, width, 3, 17 * height + width);
          const reference = referenceForward(weights, { height, width, pixels });
          const net = createMsd(weights);
          const x = tf.tensor4d(pixels, [1, height, width, 3], 'int32');
          const before = tf.memory().numTensors;
          const { features, probability } = net.forward(x);
          // await data(), never dataSync(): webgpu's dataSync has returned zeros.
          const got = {
            features: (await features.data()) as Float32Array,
            probability: (await probability.data()) as Float32Array,
          };
          tf.dispose([features, probability]);
          assert.equal(tf.memory().numTensors, before, 'tensors leaked');
          x.dispose();
          net.dispose();
          results.get(key)!.set(backend, got);
          const df = maxAbsDiff(got.features, reference.features);
          const dp = maxAbsDiff(got.probability, reference.probability);
          worst.features = Math.max(worst.features, df);
          worst.probability = Math.max(worst.probability, dp);
          assert.isAtMost(df, TOLERANCE, `features differ by ${df}`);
          assert.isAtMost(dp, TOLERANCE, `probability differs by ${dp}`);
        });
      }

      after(() => {
        if (results.get(cases[0].key)!.has(backend)) {
          console.log(
            `${backend}: max |features − reference| = ${worst.features.toExponential(2)}, ` +
              `max |probability − reference| = ${worst.probability.toExponential(2)}`,
          );
        }
      });
    });
  }

  describe('all backends agree with each other', () => {
    it('max pairwise difference within tolerance', () => {
      let worst = 0;
      let ran = 0;
      for (const [key, byBackend] of results) {
        const entries = [...byBackend.entries()];
        for (let i = 0; i < entries.length; i++) {
          for (let j = i + 1; j < entries.length; j++) {
            const d = Math.max(
              maxAbsDiff(entries[i][1].features, entries[j][1].features),
              maxAbsDiff(entries[i][1].probability, entries[j][1].probability),
            );
            assert.isAtMost(d, TOLERANCE, `${entries[i][0]} and ${entries[j][0]} differ by ${d} on ${key}`);
            worst = Math.max(worst, d);
            ran++;
          }
        }
      }
      // wasm and cpu always run; without at least that pair per case this test proved nothing.
      assert.isAtLeast(ran, cases.length);
      console.log(
        `backends ${BACKENDS.filter((b) => results.get(cases[0].key)!.has(b)).join(', ')}: ` +
          `max pairwise difference ${worst.toExponential(2)}`,
      );
    });
  });
});

describe('MSD forward inside a module Web Worker', () => {
  for (const backend of BACKENDS) {
    it(backend, async function (this: Mocha.Context) {
      if (backend === 'webgpu' && !(await webgpuOffered())) this.skip();
      const weights = randomWeights(3, 12, 77);
      const pixels = randomImage(11, 11, 3, 78);
      const worker = new Worker(new URL('/test/core/msd/msd-in-worker.ts', location.origin), { type: 'module' });
      try {
        const reply = await new Promise<MsdWorkerReply>((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<MsdWorkerReply>) => resolve(event.data);
          worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
          worker.postMessage({ backend, weights, pixels, shape: [1, 11, 11, 3] } satisfies MsdWorkerRequest);
        });
        if ('error' in reply) assert.fail(`${backend} in a worker: ${reply.error}`);
        assert.equal(reply.backend, backend);
        const reference = referenceForward(weights, { height: 11, width: 11, pixels });
        assert.isAtMost(maxAbsDiff(reply.features, reference.features), TOLERANCE);
        assert.isAtMost(maxAbsDiff(reply.probability, reference.probability), TOLERANCE);
      } finally {
        worker.terminate();
      }
    });
  }
});

describe('initBackend without a preference', () => {
  after(async () => {
    await initBackend('wasm');
  });

  it('passes over software GPU backends unless allowed', async () => {
    const gpu = (
      navigator as Navigator & {
        gpu?: { requestAdapter(): Promise<{ isFallbackAdapter?: boolean; info?: Record<string, unknown> } | null> };
      }
    ).gpu;
    const adapter = await gpu?.requestAdapter();
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    const debug = gl?.getExtension('WEBGL_debug_renderer_info');
    const renderer = gl && debug ? String(gl.getParameter(debug.UNMASKED_RENDERER_WEBGL)) : 'unknown';
    const adapterInfo = {
      fallback: adapter?.info?.isFallbackAdapter ?? adapter?.isFallbackAdapter,
      architecture: adapter?.info?.architecture,
      vendor: adapter?.info?.vendor,
    };
    console.log(`WebGPU adapter: ${JSON.stringify(adapterInfo)}; WebGL renderer: ${renderer}`);
    const chosen = await initBackend();
    console.log(`automatic choice here: ${chosen}`);
    if (adapter?.info?.isFallbackAdapter ?? adapter?.isFallbackAdapter) assert.notEqual(chosen, 'webgpu');
    if (/swiftshader/i.test(renderer)) assert.notEqual(chosen, 'webgl');
    assert.include(['webgpu', 'webgl', 'wasm'], chosen, 'cpu is only for when wasm cannot start');
    if (await webgpuOffered()) assert.equal(await initBackend(undefined, { allowSoftwareGpu: true }), 'webgpu');
  });
});
