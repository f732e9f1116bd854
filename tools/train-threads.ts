import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { addDiceSums, diceGradient, diceLoss, emptyDiceSums, type DiceSums } from '../core/math/dice.js';
import type { Crop, MaskedImage } from '../core/training/crop-sampler.js';
import type { TrainEngine, TrainEngineFactory } from '../core/training/train-engine.js';
import type { ShardShape, ValidationSums } from '../core/training/train-shard.js';
import type { MsdWeights } from '../core/msd/weights.js';

export type ThreadRequest =
  | { type: 'forward'; params: Float32Array; normalisation: MsdWeights['normalisation']; crops: readonly Crop[] }
  | { type: 'backward'; g: { a: number; b: number } }
  | { type: 'set-validation'; images: readonly MaskedImage[] }
  | { type: 'validate'; params: Float32Array; normalisation: MsdWeights['normalisation'] };

export type ThreadResponse =
  | { type: 'sums'; sums: DiceSums }
  | { type: 'grad'; grad: Float64Array }
  | { type: 'ok' }
  | { type: 'validation'; sums: ValidationSums }
  | { type: 'error'; message: string };

/** One worker thread answering one request at a time, in order. */
class ShardThread {
  private readonly worker: Worker;
  private readonly pending: { resolve: (r: ThreadResponse) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(shape: ShardShape) {
    // Node 20 does not apply the main thread's tsx loader to workers: register it in the thread.
    const entry = new URL('./train-thread.ts', import.meta.url).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot =
      `import(${JSON.stringify(tsx)}).then((m) => { m.register(); ` + `return import(${JSON.stringify(entry)}); });`;
    this.worker = new Worker(boot, { eval: true, workerData: shape });
    this.worker.on('message', (r: ThreadResponse) => {
      const p = this.pending.shift();
      if (!p) return;
      if (r.type === 'error') p.reject(new Error(`training thread: ${r.message}`));
      else p.resolve(r);
    });
    const fail = (e: Error) => {
      this.failure = e;
      for (const p of this.pending.splice(0)) p.reject(e);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`training thread exited with code ${code}`)));
  }

  request<T extends ThreadResponse['type']>(
    m: ThreadRequest,
    expect: T,
  ): Promise<Extract<ThreadResponse, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({
        resolve: (r) =>
          r.type === expect
            ? resolve(r as Extract<ThreadResponse, { type: T }>)
            : reject(new Error(`expected ${expect}, got ${r.type}`)),
        reject,
      });
      this.worker.postMessage(m);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/**
 * Data parallelism over Node worker threads: each step's crops are dealt out in contiguous
 * runs, every thread runs its forward, the batch-wide Dice coefficients go back, and the
 * threads' gradients are added in thread order (so a run is reproducible). Validation images
 * are dealt out once, balanced by pixel count.
 */
export function threadedTrainEngine(threads = Math.max(1, os.availableParallelism())): TrainEngineFactory {
  return (shape) => {
    const n = Math.max(1, Math.min(threads, shape.batch));
    const share = Math.ceil(shape.batch / n);
    const pool = Array.from(
      { length: n },
      () =>
        new ShardThread({ inputChannels: shape.inputChannels, depth: shape.depth, crop: shape.crop, samples: share }),
    );
    const engine: TrainEngine = {
      async step(params, normalisation, crops) {
        const parts = pool.map((_, t) => crops.slice(t * share, (t + 1) * share));
        const sums = (
          await Promise.all(
            pool.map((th, t) => th.request({ type: 'forward', params, normalisation, crops: parts[t] }, 'sums')),
          )
        ).reduce((a, r) => addDiceSums(a, r.sums), emptyDiceSums());
        const g = diceGradient(sums);
        const grads = await Promise.all(pool.map((th) => th.request({ type: 'backward', g }, 'grad')));
        const grad = grads[0].grad;
        for (const r of grads.slice(1)) for (let i = 0; i < grad.length; i++) grad[i] += r.grad[i];
        return { loss: diceLoss(sums), sums, grad };
      },
      async setValidation(images) {
        const parts: MaskedImage[][] = pool.map(() => []);
        const load = pool.map(() => 0);
        for (const im of [...images].sort((a, b) => b.width * b.height - a.width * a.height)) {
          const t = load.indexOf(Math.min(...load));
          parts[t].push(im);
          load[t] += im.width * im.height;
        }
        await Promise.all(pool.map((th, t) => th.request({ type: 'set-validation', images: parts[t] }, 'ok')));
      },
      async validate(params, normalisation) {
        const rs = await Promise.all(
          pool.map((th) => th.request({ type: 'validate', params, normalisation }, 'validation')),
        );
        return {
          hard: rs.reduce((a, r) => addDiceSums(a, r.sums.hard), emptyDiceSums()),
          soft: rs.reduce((a, r) => addDiceSums(a, r.sums.soft), emptyDiceSums()),
        };
      },
      async close() {
        await Promise.all(pool.map((th) => th.close()));
      },
    };
    return engine;
  };
}
