import { assert } from 'chai';
import { HeadError } from '../../core/adaptation/head.js';
import { BundleError } from '../../core/msd/bundle-error.js';
import { encodeBundle } from '../../core/msd/bundle.js';
import { SlideError } from '../../core/slide/slide-error.js';
import { WorkerChannel } from '../../plugin/pool/worker-channel.js';
import type { WorkerRequest, WorkerResponse } from '../../worker/protocol.js';
import { randomWeights } from '../core/msd/msd-test-cases.js';

// The worker's own protocol, without the pool: requests run in order, an abort takes a job out
// of the worker's queue before it starts, and a job names the model it was queued for.
const slideUrl = new URL('/files/.cache/sample/sample-slide.tif', location.origin).href;
type Body = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

function client() {
  const worker = new Worker(new URL('/worker/worker-entry.ts', location.origin), { type: 'module' });
  const answers = new Map<number, (r: WorkerResponse) => void>();
  let id = 1;
  worker.onmessage = (e: MessageEvent<WorkerResponse>) => answers.get(e.data.id)?.(e.data);
  return {
    worker,
    send(body: Body): { id: number; answer: Promise<WorkerResponse> } {
      const n = id++;
      const answer = new Promise<WorkerResponse>((resolve) => answers.set(n, resolve));
      worker.postMessage({ ...body, id: n });
      return { id: n, answer };
    },
  };
}

describe('inference worker protocol', () => {
  it(
    'runs predict-tile jobs in order, aborts a queued one, ' + 'refuses a job for another head',
    async function (this: Mocha.Context) {
      const r = await fetch(slideUrl, { headers: { Range: 'bytes=0-0' } });
      await r.body?.cancel();
      if (!r.ok) this.skip();
      const { worker, send } = client();
      try {
        const backend = await send({ type: 'init-backend', backends: ['wasm'] }).answer;
        assert.deepInclude(backend, { type: 'backend', backend: 'wasm' });
        const opened = await send({ type: 'open', slide: { kind: 'url', url: slideUrl } }).answer;
        assert.equal(opened.type, 'opened');
        const slideId = opened.type === 'opened' ? opened.info.slideId : -1;
        const { manifest, weights } = encodeBundle({
          classes: [{ name: 'a', weights: randomWeights(3, 3, 5) }],
          mpp: 0.5,
          metadata: {},
        });
        const loaded = await send({ type: 'load-extractors', key: 'x', source: { kind: 'decoded', manifest, weights } })
          .answer;
        assert.deepInclude(loaded, { type: 'extractors-loaded', key: 'x', mpp: 0.5 });
        const wrongHead = await send({ type: 'set-head', key: 'bad', head: { W: [1, 2], b: 0 } }).answer;
        assert.equal(wrongHead.type, 'error');
        assert.equal(
          (await send({ type: 'set-head', key: 'h', head: { W: [1, -1, 0.5], b: 0 } }).answer).type,
          'head-set',
        );

        const job = (x: number, headKey = 'h') =>
          send({
            type: 'predict-tile',
            slideId,
            target: { level: 0 },
            tile: { x, y: 0, width: 32, height: 32 },
            extractorsKey: 'x',
            headKey,
            tiling: 'patches',
            grid: { patchSize: 32, stride: 16 },
          });
        const before = await send({ type: 'memory' }).answer;
        const jobs = [job(0), job(32), job(64), job(96, 'other')];
        worker.postMessage({ type: 'abort', id: jobs[1].id } satisfies WorkerRequest);
        const answers = await Promise.all(jobs.map((j) => j.answer));
        assert.deepEqual(
          answers.map((a) => a.type),
          ['probabilities', 'error', 'probabilities', 'error'],
        );
        assert.equal(answers[1].type === 'error' && answers[1].error.name, 'AbortError');
        assert.match(answers[3].type === 'error' ? answers[3].error.message : '', /head 'other'/);
        const p = answers[0].type === 'probabilities' ? answers[0] : undefined;
        assert.equal(p?.probabilities.length, 32 * 32);
        assert.equal(p?.patches, 4, 'a 32² tile at the corner touches the 32² patches at 0 and 16 along each axis');
        assert.isTrue(p!.probabilities.every((v) => v > 0 && v < 1));
        // A whole-forward tile is one forward of the model; a tiling the worker does not know is refused.
        const tile = { x: 0, y: 0, width: 32, height: 32 };
        const wholeJob = {
          type: 'predict-tile',
          slideId,
          target: { level: 0 },
          tile,
          extractorsKey: 'x',
          headKey: 'h',
        } as const;
        const whole = await send({ ...wholeJob, tiling: 'whole' } as const).answer;
        assert.equal(whole.type === 'probabilities' && whole.patches, 1);
        assert.notDeepEqual(whole.type === 'probabilities' && whole.probabilities, p!.probabilities, 'other numbers');
        const unknown = await send({ ...wholeJob, tiling: 'tiles' } as unknown as Body).answer;
        assert.match(unknown.type === 'error' ? unknown.error.message : '', /unknown tiling 'tiles'/);
        const after = await send({ type: 'memory' }).answer;
        assert.deepEqual(after, { ...before, id: after.id });
      } finally {
        worker.terminate();
      }
    },
  );
});

describe('errors from a module worker', () => {
  it('arrive with their class, code and message', async () => {
    const channel = new WorkerChannel(
      new Worker(new URL('/worker/worker-entry.ts', location.origin), { type: 'module' }),
    );
    /** The error a request is refused with, rebuilt on this side. */
    const refusal = async (...args: Parameters<WorkerChannel['call']>): Promise<Error> => {
      const answer = await channel.call(...args).then(
        (r) => new Error(`the worker answered '${r.type}' instead of refusing`),
        (err: unknown) => err,
      );
      assert.instanceOf(answer, Error);
      return answer as Error;
    };
    try {
      const text = new Blob(['hello, not a slide']);
      const notTiff = await refusal({ type: 'open', slide: { kind: 'blob', blob: text, name: 'notes.txt' } });
      assert.instanceOf(notTiff, SlideError, `${notTiff.name}: ${notTiff.message}`);
      assert.equal((notTiff as SlideError).code, 'not-tiff');
      assert.equal((notTiff as SlideError).file, 'notes.txt');
      assert.match(notTiff.message, /^notes\.txt: not a TIFF file/);

      assert.equal((await channel.call({ type: 'init-backend', backends: ['cpu'] })).type, 'backend');
      const classes = [{ name: 'a', weights: randomWeights(3, 3, 5) }];
      const { manifest, weights } = encodeBundle({ classes, mpp: 0.5, metadata: {} });
      const short = { kind: 'decoded', manifest, weights: weights.slice(0, weights.byteLength - 4) } as const;
      const bundle = await refusal({ type: 'load-extractors', key: 'x', source: short });
      assert.instanceOf(bundle, BundleError, `${bundle.name}: ${bundle.message}`);
      assert.equal((bundle as BundleError).code, 'weights-short');
      assert.match(bundle.message, /^Extractor bundle: /);

      await channel.call({ type: 'load-extractors', key: 'x', source: { kind: 'decoded', manifest, weights } });
      const head = await refusal({ type: 'set-head', key: 'h', head: { W: [1, 2], b: 0 } });
      assert.instanceOf(head, HeadError, `${head.name}: ${head.message}`);
      assert.equal((head as HeadError).code, 'extractor-mismatch');
      assert.equal(head.message, 'Head: the head has 2 weights but the extractors give 3 features');
    } finally {
      channel.close(new Error('the test is over'));
    }
  });
});
