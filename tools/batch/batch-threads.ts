import { Worker } from 'node:worker_threads';
import { rebuildError } from '../../core/errors/transferable-error.js';
import { headKey } from '../../core/inference/keys.js';
import type { ExtractorInfo } from '../../core/session/session.js';
import type { PoolSlide, TileRequest, TileResult, HeadWeights } from '../../core/session/compute.js';
import type { ByteReader } from '../../core/slide/http-blocks.js';
import { serveBytes } from '../../core/slide/port-bytes.js';
import type { SlideInfo } from '../../core/slide/pixel-source.js';
import type { TissueMask } from '../../core/slide/tissue-mask.js';
import type { TilePredictor } from '../../core/session/region-run.js';
import type { WorkerRequest, WorkerResponse } from '../../worker/protocol.js';

/**
 * The batch command's compute: worker threads each serving the product's worker
 * (worker/node-thread-entry.ts → worker/serve-worker.ts: the same messages, the same tile
 * computation as a page's Web Workers), and what a region run needs of a compute
 * (core/session/region-run.ts's TilePredictor: `size` and `predictTile`). Each thread runs on
 * the cpu backend: on wasm and cpu a tile is the training engine's WebAssembly SIMD forward
 * (serve-worker.ts's set-head), so TF.js' own wasm binaries are never loaded in Node. A slide's
 * bytes are read once, on this thread, and served to every worker over a port
 * (core/slide/port-bytes.ts), as the page serves a URL slide. No scheduling beyond "the thread
 * with the fewest tiles": a region run keeps two tiles per thread in flight, and a thread runs
 * its tiles one at a time.
 */

type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * Starts a thread of the worker: the built file beside this one in the package, or under tsx
 * (tests, `npx tsx`) the TypeScript source, registering tsx in the thread first (Node 20 does not
 * apply the main thread's loader to workers; tools/sample/render-pool.ts does the same).
 * geotiff's decoder pool imports the web-worker package, which in a worker thread takes itself for
 * one of its own workers and reads workerData.mod: an empty workerData tells it it is not.
 */
function startThread(): Worker {
  const workerData = {};
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./node-worker.js', import.meta.url), { workerData });
  const entry = new URL('../../worker/node-thread-entry.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); ` + `return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** Request/answer over one worker thread: ids, one answer each, aborts sent on. */
class ThreadChannel {
  private readonly pending = new Map<number, { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failedWith?: Error;
  /** Tiles sent and not answered. */
  load = 0;

  constructor(private readonly thread: Worker) {
    thread.on('message', (answer: WorkerResponse) => {
      if (answer.type === 'adapt-progress') return;
      const p = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      p?.resolve(answer);
    });
    const fail = (err: Error) => {
      this.failedWith ??= err;
      for (const p of this.pending.values()) p.reject(this.failedWith);
      this.pending.clear();
    };
    thread.on('error', fail);
    thread.on('exit', (code) => fail(new Error(`a worker thread exited (code ${code})`)));
  }

  call(body: RequestBody, transfer: Transferable[] = [], signal?: AbortSignal): Promise<WorkerResponse> {
    if (this.failedWith) return Promise.reject(this.failedWith);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.thread.postMessage({ type: 'abort', id } satisfies WorkerRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (r) => {
          done();
          if (r.type === 'error') reject(rebuildError(r.error));
          else resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      this.thread.postMessage({ ...body, id }, transfer as never[]);
    });
  }

  close(): Promise<number> {
    return this.thread.terminate();
  }
}

function expect<T extends WorkerResponse['type']>(r: WorkerResponse, type: T): Extract<WorkerResponse, { type: T }> {
  if (r.type !== type) throw new Error(`the worker answered '${r.type}' where '${type}' was expected`);
  return r as Extract<WorkerResponse, { type: T }>;
}

export interface BatchModel {
  readonly manifest: unknown;
  readonly weights: ArrayBuffer;
  readonly head: HeadWeights;
}

export interface OpenedSlide extends PoolSlide {
  close(): Promise<void>;
}

export class BatchThreads implements TilePredictor {
  private nextSlideKey = 1;
  private readonly slideIds = new Map<number, number[]>();
  private model?: { extractorsKey: string; headKey: string };

  private constructor(private readonly channels: readonly ThreadChannel[]) {}

  /** Starts `threads` worker threads on the cpu backend (its WebAssembly SIMD engine). */
  static async start(threads: number): Promise<BatchThreads> {
    const channels = Array.from({ length: threads }, () => new ThreadChannel(startThread()));
    const pool = new BatchThreads(channels);
    try {
      await Promise.all(channels.map((c) => c.call({ type: 'init-backend', backends: ['cpu'] })));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.channels.length;
  }

  /**
   * Loads the extractors and then the head into every thread; `check` sees the extractors as the
   * workers name them before the head goes in (and throws when the head is not theirs).
   */
  async loadModel(
    model: BatchModel,
    check: (extractors: readonly ExtractorInfo[]) => void = () => undefined,
  ): Promise<{ extractors: readonly ExtractorInfo[]; mpp: number }> {
    const extractorsKey = 'batch';
    const answers = await Promise.all(
      this.channels.map(async (c) =>
        expect(
          await c.call({
            type: 'load-extractors',
            key: extractorsKey,
            // Each thread gets its own copy: the weights are read, never transferred away.
            source: { kind: 'decoded', manifest: model.manifest as never, weights: model.weights.slice(0) },
          }),
          'extractors-loaded',
        ),
      ),
    );
    check(answers[0].extractors);
    const W = Array.from(model.head.W);
    const key = headKey(W, model.head.b);
    await Promise.all(this.channels.map((c) => c.call({ type: 'set-head', key, head: { W, b: model.head.b } })));
    this.model = { extractorsKey, headKey: key };
    return { extractors: answers[0].extractors, mpp: answers[0].mpp };
  }

  /** Opens a slide in every thread, its bytes read here by `reader` and served to each over a port. */
  async openSlide(reader: ByteReader): Promise<OpenedSlide> {
    const servers: { close(): void }[] = [];
    const ids: number[] = [];
    let info: SlideInfo | undefined;
    const key = this.nextSlideKey++;
    const close = async () => {
      this.slideIds.delete(key);
      await Promise.allSettled(ids.map((slideId, i) => this.channels[i].call({ type: 'close', slideId })));
      servers.forEach((s) => s.close());
    };
    try {
      for (const channel of this.channels) {
        const { port1, port2 } = new MessageChannel();
        servers.push(serveBytes(port1, reader));
        const slide = { kind: 'bytes', name: reader.name, size: reader.size, port: port2 } as const;
        const opened = expect(await channel.call({ type: 'open', slide }, [port2]), 'opened');
        ids.push(opened.info.slideId);
        info ??= opened.info;
      }
    } catch (err) {
      await close();
      throw err;
    }
    this.slideIds.set(key, ids);
    return { key, info: info!, close };
  }

  private idsOf(slide: PoolSlide): number[] {
    const ids = this.slideIds.get(slide.key);
    if (!ids) throw new Error(`slide ${slide.key} is not open`);
    return ids;
  }

  tissueMask(slide: PoolSlide, options: { readonly signal?: AbortSignal } = {}): Promise<TissueMask> {
    const slideId = this.idsOf(slide)[0];
    return this.channels[0]
      .call({ type: 'tissue-mask', slideId }, [], options.signal)
      .then((r) => expect(r, 'tissue-mask').mask);
  }

  async predictTile(request: TileRequest): Promise<TileResult> {
    if (!this.model) throw new Error('load the model before predicting');
    if (!request.inference) throw new Error('the batch predicts on the inference grid');
    const ids = this.idsOf(request.slide);
    let worker = 0;
    for (let i = 1; i < this.channels.length; i++) if (this.channels[i].load < this.channels[worker].load) worker = i;
    const channel = this.channels[worker];
    channel.load++;
    try {
      const body = {
        type: 'predict-tile',
        slideId: ids[worker],
        target: { inference: request.inference },
        tile: request.tile,
        extractorsKey: this.model.extractorsKey,
        headKey: this.model.headKey,
        tiling: 'whole',
        ...(request.contours ? { contours: request.contours } : {}),
      } as const;
      const r = expect(await channel.call(body, [], request.signal), 'probabilities');
      return { probabilities: r.probabilities, patches: r.patches, cached: false, worker };
    } finally {
      channel.load--;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.channels.map((c) => c.close()));
  }
}
