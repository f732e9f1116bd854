import { assert } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { encodeBundle } from '../../../core/msd/bundle.js';
import { createHeadPatchModel } from '../../../core/inference/head-patch-model.js';
import { seededGaussian, type MsdWeights } from '../../../core/msd/weights.js';
import { predictTile } from '../../../core/inference/predict-tile.js';
import type { BackendName } from '../../../core/msd/tf-backend.js';
import type { WorkerRequest, WorkerResponse } from '../../../worker/protocol.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { referenceForward } from '../msd/msd-reference.js';
import { maxAbsDiff, randomImage, randomWeights } from '../msd/msd-test-cases.js';
import type { SimdWorkerReply, SimdWorkerRequest } from './simd-patch-model-in-worker.js';

// The SIMD model in Chromium: its WebAssembly is assembled at run time, so what must hold here
// is that the browser validates and runs it (page and worker) and that it computes the same
// thing as in Node; and that the inference worker picks it on wasm and cpu, TF.js on a GPU.

const extractors: MsdWeights[] = [randomWeights(3, 12, 41), randomWeights(3, 2, 42), randomWeights(3, 25, 43)];
const gaussian = seededGaussian(44);
const head: { W: number[]; b: number } = { W: Array.from({ length: 39 }, () => gaussian() / Math.sqrt(39)), b: -0.1 };
// Measured ~1e-7 (as in Node); a wrong tap or weight slice moves probabilities by 1e-2 or more.
const TOLERANCE = 1e-5;

function referenceHead(pixels: ArrayLike<number>, height: number, width: number): Float64Array {
  const features = extractors.map((e) => referenceForward(e, { height, width, pixels }).features);
  return new Float64Array(height * width).map((_, p) => {
    let z = head.b;
    let k = 0;
    extractors.forEach((e, i) => {
      for (let c = 0; c < e.layers.length; c++) z += head.W[k++] * features[i][p * e.layers.length + c];
    });
    return 1 / (1 + Math.exp(-z));
  });
}

describe('SIMD head patch model in the browser', () => {
  it('equals the float64 reference and the TF.js wasm head model, in the page', async () => {
    await initBackend('wasm');
    const model = createSimdHeadPatchModel(head, extractors);
    const viaTf = createHeadPatchModel(head, extractors);
    assert.isTrue(model.usesSimd, 'Chromium has WebAssembly SIMD: the SIMD loops must run');
    let worst = 0;
    try {
      for (const [height, width] of [
        [23, 17],
        [1, 9],
        [33, 40],
      ]) {
        const pixels = randomImage(height, width, 3, 7 * height + width);
        const rgb = Uint8Array.from(pixels);
        const got = await model.model(rgb, width, height);
        const d = maxAbsDiff(got, referenceHead(pixels, height, width));
        const dt = maxAbsDiff(got, await viaTf.model(rgb, width, height));
        worst = Math.max(worst, d, dt);
        assert.isAtMost(d, TOLERANCE, `${height}×${width} vs float64`);
        assert.isAtMost(dt, TOLERANCE, `${height}×${width} vs TF.js wasm`);
      }
    } finally {
      model.dispose();
      viaTf.dispose();
    }
    console.log(`page: max |Δp| vs float64 and TF.js wasm ${worst.toExponential(2)}`);
  });

  it('runs inside a module Web Worker and equals the reference there', async () => {
    const [height, width] = [29, 31];
    const pixels = randomImage(height, width, 3, 5);
    const worker = new Worker(new URL('/test/core/inference/simd-patch-model-in-worker.ts', location.origin), {
      type: 'module',
    });
    try {
      const reply = await new Promise<SimdWorkerReply>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<SimdWorkerReply>) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
        worker.postMessage({
          head,
          extractors,
          rgb: Uint8Array.from(pixels),
          width,
          height,
        } satisfies SimdWorkerRequest);
      });
      if ('error' in reply) assert.fail(`in a worker: ${reply.error}`);
      assert.isTrue(reply.usesSimd, 'WebAssembly SIMD in a worker too');
      const d = maxAbsDiff(reply.probability, referenceHead(pixels, height, width));
      console.log(`worker: max |Δp| vs float64 ${d.toExponential(2)}`);
      assert.isAtMost(d, TOLERANCE);
      assert.deepEqual(reply.again, reply.probability, 'the second patch through the same buffers gives the same bits');
    } finally {
      worker.terminate();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The inference worker's choice of model: observable from outside through its tensor count (the
// SIMD model holds none; the TF.js one holds a slice of W per extractor and the bias) and its
// output, which must equal the SIMD model's bit for bit on wasm.

const slideUrl = new URL('/files/.cache/sample/sample-slide.tif', location.origin).href;
type Body = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

function client() {
  const worker = new Worker(new URL('/worker/worker-entry.ts', location.origin), { type: 'module' });
  const answers = new Map<number, (r: WorkerResponse) => void>();
  let id = 1;
  worker.onmessage = (e: MessageEvent<WorkerResponse>) => answers.get(e.data.id)?.(e.data);
  return {
    worker,
    async send(body: Body): Promise<WorkerResponse> {
      const n = id++;
      const answer = new Promise<WorkerResponse>((resolve) => answers.set(n, resolve));
      worker.postMessage({ ...body, id: n });
      const r = await answer;
      if (r.type === 'error') throw new Error(`${body.type}: ${r.error.message}`);
      return r;
    },
  };
}

const tensorsIn = async (send: ReturnType<typeof client>['send']) => {
  const m = await send({ type: 'memory' });
  return m.type === 'memory' ? m.numTensors : NaN;
};

describe('the inference worker picks the SIMD model on wasm and cpu, TF.js on webgl', () => {
  const { manifest, weights } = encodeBundle({
    classes: extractors.map((w, i) => ({ name: `e${i}`, weights: w })),
    mpp: 0.5,
    metadata: {},
  });

  for (const backend of ['wasm', 'cpu', 'webgl'] as BackendName[]) {
    it(backend, async () => {
      const { worker, send } = client();
      try {
        assert.deepInclude(await send({ type: 'init-backend', backends: [backend] }), { backend });
        await send({ type: 'load-extractors', key: 'x', source: { kind: 'decoded', manifest, weights } });
        const before = await tensorsIn(send);
        await send({ type: 'set-head', key: 'h', head });
        const added = (await tensorsIn(send)) - before;
        assert.equal(
          added,
          backend === 'webgl' ? extractors.length + 1 : 0,
          `tensors the head model holds on ${backend}`,
        );
      } finally {
        worker.terminate();
      }
    });
  }

  it(
    'a tile predicted by the worker on wasm ' + 'equals the SIMD model run here, bit for bit',
    async function (this: Mocha.Context) {
      const r = await fetch(slideUrl, { headers: { Range: 'bytes=0-0' } });
      await r.body?.cancel();
      if (!r.ok) {
        console.log('skipped: the sample slide is not generated (npm run sample)');
        this.skip();
      }
      const tile = { x: 64, y: 32, width: 48, height: 40 };
      const grid = { patchSize: 32, stride: 16 };
      const { worker, send } = client();
      try {
        await send({ type: 'init-backend', backends: ['wasm'] });
        const opened = await send({ type: 'open', slide: { kind: 'url', url: slideUrl } });
        const slideId = opened.type === 'opened' ? opened.info.slideId : -1;
        await send({ type: 'load-extractors', key: 'x', source: { kind: 'decoded', manifest, weights } });
        await send({ type: 'set-head', key: 'h', head });
        const answer = await send({
          type: 'predict-tile',
          slideId,
          target: { level: 0 },
          tile,
          extractorsKey: 'x',
          headKey: 'h',
          tiling: 'patches',
          grid,
        });
        const fromWorker = answer.type === 'probabilities' ? answer.probabilities : new Float32Array();

        const slide = await openTiff({ kind: 'url', url: slideUrl });
        const model = createSimdHeadPatchModel(head, extractors);
        const here = await predictTile(slide, 0, tile, model.model, grid);
        model.dispose();
        await initBackend('wasm');
        const viaTf = createHeadPatchModel(head, extractors);
        const tfTile = await predictTile(slide, 0, tile, viaTf.model, grid);
        viaTf.dispose();
        assert.deepEqual(fromWorker, here);
        const d = maxAbsDiff(fromWorker, tfTile);
        console.log(`worker tile (wasm, SIMD model) vs TF.js head model: max |Δp| ${d.toExponential(2)}`);
        assert.isAtMost(d, TOLERANCE);
        assert.equal(tf.getBackend(), 'wasm');
      } finally {
        worker.terminate();
      }
    },
  );
});
