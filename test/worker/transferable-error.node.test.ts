import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { AdaptError } from '../../core/adaptation/adapt-error.js';
import { HeadError } from '../../core/adaptation/head.js';
import { BundleError } from '../../core/msd/bundle-error.js';
import { encodeBundle } from '../../core/msd/bundle.js';
import { SlideError } from '../../core/slide/slide-error.js';
import { WorkerChannel } from '../../plugin/pool/worker-channel.js';
import { encodeTiff } from '../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../worker/in-thread-worker.js';
import { randomWeights } from '../core/msd/msd-test-cases.js';

// Each error is thrown for real inside the worker by a request it refuses, and crosses a real
// MessageChannel (a structured clone, as to a Web Worker): only what flattening keeps arrives.
let channel: WorkerChannel;
/** A 3-feature extractor set (one extractor of depth 3), loaded in the worker. */
const { manifest, weights } = encodeBundle({
  classes: [{ name: 'a', weights: randomWeights(3, 3, 5) }],
  mpp: 0.5,
  metadata: {},
});
/** A small RGB slide open in the worker. */
let slideId: number;

before(async () => {
  channel = new WorkerChannel(createInThreadWorker());
  assert.equal((await channel.call({ type: 'init-backend', backends: ['cpu'] })).type, 'backend');
  const loaded = await channel.call({
    type: 'load-extractors',
    key: 'x',
    source: { kind: 'decoded', manifest, weights },
  });
  assert.equal(loaded.type, 'extractors-loaded');
  const width = 64;
  const height = 64;
  const pixels = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 256);
  const tiff = encodeTiff([{ options: { width, height, samplesPerPixel: 3 }, pixels }]);
  const opened = await channel.call({
    type: 'open',
    slide: { kind: 'blob', blob: new Blob([tiff as Uint8Array<ArrayBuffer>]), name: 'small.tif' },
  });
  assert.equal(opened.type, 'opened');
  slideId = opened.type === 'opened' ? opened.info.slideId : -1;
});

after(() => channel.close(new Error('the test is over')));

/** The error a request is refused with, on this side of the channel. */
async function refusal(...args: Parameters<WorkerChannel['call']>): Promise<Error> {
  try {
    const answer = await channel.call(...args);
    assert.fail(`the worker answered '${answer.type}' instead of refusing`);
  } catch (err) {
    assert.ok(err instanceof Error, 'the channel rejects with an Error');
    return err;
  }
}

test('SlideError: a Blob that is not a TIFF', async () => {
  const err = await refusal({
    type: 'open',
    slide: { kind: 'blob', blob: new Blob(['hello, not a slide']), name: 'notes.txt' },
  });
  assert.ok(err instanceof SlideError, `${err.name}: ${err.message}`);
  assert.equal(err.code, 'not-tiff');
  assert.equal(err.file, 'notes.txt');
  assert.equal(err.name, 'SlideError');
  assert.match(err.message, /^notes\.txt: not a TIFF file/);
});

test('BundleError: a manifest of the wrong format, then weights too short', async () => {
  const { manifest, weights } = encodeBundle({
    classes: [{ name: 'b', weights: randomWeights(3, 2, 6) }],
    mpp: 0.5,
    metadata: {},
  });
  const wrong = { ...manifest, format: 'something-else' };
  const err = await refusal({
    type: 'load-extractors',
    key: 'y',
    source: { kind: 'decoded', manifest: wrong, weights },
  });
  assert.ok(err instanceof BundleError, `${err.name}: ${err.message}`);
  assert.equal(err.code, 'wrong-format');
  assert.equal(err.name, 'BundleError');
  assert.match(err.message, /^Extractor bundle: .*something-else/);

  const short = weights.slice(0, weights.byteLength - 4);
  const err2 = await refusal({
    type: 'load-extractors',
    key: 'y',
    source: { kind: 'decoded', manifest, weights: short },
  });
  assert.ok(err2 instanceof BundleError, `${err2.name}: ${err2.message}`);
  assert.equal(err2.code, 'weights-short');
});

test('AdaptError: no support patches', async () => {
  const err = await refusal({ type: 'adapt', slideId, target: { level: 0 }, patches: [] });
  assert.ok(err instanceof AdaptError, `${err.name}: ${err.message}`);
  assert.equal(err.code, 'empty-support');
  assert.equal(err.name, 'AdaptError');
  assert.equal(err.message, 'Adaptation: the support set is empty: annotate at least one patch');
});

test('HeadError: a head with a weight per feature too few, or one that is not finite', async () => {
  const err = await refusal({ type: 'set-head', key: 'h', head: { W: [1, 2], b: 0 } });
  assert.ok(err instanceof HeadError, `${err.name}: ${err.message}`);
  assert.equal(err.code, 'extractor-mismatch');
  assert.equal(err.name, 'HeadError');
  assert.equal(err.message, 'Head: the head has 2 weights but the extractors give 3 features');

  const nan = await refusal({ type: 'set-head', key: 'h', head: { W: [1, Number.NaN, 0], b: 0 } });
  assert.ok(nan instanceof HeadError);
  assert.equal(nan.code, 'not-finite');
  // The checks refuse only wrong heads.
  assert.equal((await channel.call({ type: 'set-head', key: 'h', head: { W: [1, -1, 0.5], b: 0 } })).type, 'head-set');
});

test('an abort arrives as an AbortError, a plain Error with its name and message', async () => {
  // A bundle whose manifest the server holds back until told: the load-extractors waiting for it
  // keeps the worker's TF queue busy, so the abort of the request queued behind it arrives before
  // that request's turn: it never starts, and the worker's own signal throws its DOMException.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let asked!: () => void;
  const requested = new Promise<void>((resolve) => (asked = resolve));
  const server = createServer((_req, res) => {
    asked();
    void held.then(() => res.writeHead(404).end('not here'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/extractors.json`;
    const blocker = channel.call({ type: 'load-extractors', key: 'x', source: { kind: 'url', url } });
    const controller = new AbortController();
    const queued = channel.call({ type: 'memory' }, controller.signal);
    controller.abort();
    // The worker has taken the load (the server was asked) and the abort message, sent before any
    // reply could come, is delivered ahead of the server's answer.
    await requested;
    release();
    const [first, second] = await Promise.allSettled([blocker, queued]);
    // The blocker itself fails with a BundleError of its own, from a real HTTP 404.
    const missing = first.status === 'rejected' ? (first.reason as Error) : undefined;
    assert.ok(missing instanceof BundleError, String(missing));
    assert.equal(missing.code, 'network');
    assert.match(missing.message, /answered HTTP 404 Not Found instead of its JSON manifest$/);
    assert.equal(second.status, 'rejected');
    const aborted = (second as PromiseRejectedResult).reason as Error;
    assert.ok(aborted instanceof DOMException, `${aborted.name}: ${aborted.message}`);
    assert.equal(aborted.name, 'AbortError');
    assert.equal(aborted.message, 'This operation was aborted');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }

  const plain = await refusal({ type: 'read', slideId: 999, level: 0, x: 0, y: 0, width: 1, height: 1 });
  assert.equal(Object.getPrototypeOf(plain), Error.prototype);
  assert.equal(plain.name, 'Error');
  assert.equal(plain.message, 'slide 999 is not open in this worker');
});
