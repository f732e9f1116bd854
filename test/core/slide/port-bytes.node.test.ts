import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { buildPyramid, encodeTiff, renderRegion } from '../../../tools/sample/index.js';
import { HttpBlocks } from '../../../core/slide/http-blocks.js';
import { portByteSource, serveBytes } from '../../../core/slide/port-bytes.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import { isAbortError, SlideError, type SlideErrorCode } from '../../../core/slide/slide-error.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { GatedFileServer } from '../../gated-file-server.js';

// The page's one reader of a URL slide (http-blocks.ts) serving readers on other threads through
// MessagePorts (port-bytes.ts): the same pixels as a direct read, each byte fetched once, aborts
// and errors through the port. Node has MessageChannel; the ports here are the browser's kind.
const SPEC = { seed: 5, width: 1300, height: 900, mpp: 0.5 };
const dir = mkdtempSync(join(tmpdir(), 'port-bytes-'));
let bytes: Uint8Array;
let server: GatedFileServer;
const ports: MessagePort[] = [];
const closers: { close(): void }[] = [];

before(async () => {
  const { rgb } = renderRegion(SPEC, 0, 0, SPEC.width, SPEC.height);
  const levels = buildPyramid({ width: SPEC.width, height: SPEC.height, channels: 3, data: rgb });
  bytes = encodeTiff(
    levels.map((level, i) => ({
      options: {
        width: level.width,
        height: level.height,
        samplesPerPixel: 3,
        compression: 'deflate',
        reduced: i > 0,
        mpp: SPEC.mpp * (SPEC.width / level.width),
      },
      pixels: level.data,
    })),
  );
  writeFileSync(join(dir, 'slide.tif'), bytes);
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function fresh(): Promise<GatedFileServer> {
  server = await GatedFileServer.serve(join(dir, 'slide.tif'));
  return server;
}

afterEach(async () => {
  closers.splice(0).forEach((c) => c.close());
  ports.splice(0).forEach((p) => p.close());
  await server?.close();
});

/** A reader on the far side of a new port of `blocks`: what a worker gets. */
function link(blocks: HttpBlocks) {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const served = serveBytes(port1, blocks);
  closers.push(served);
  return { served, port: port2, source: portByteSource(port2, blocks.size, blocks.name) };
}

const direct = (): Promise<PixelSource> =>
  openTiff({ kind: 'blob', blob: new Blob([bytes as Uint8Array<ArrayBuffer>]), name: 'slide.tif' });

async function rejectsWith(promise: Promise<unknown>, code: SlideErrorCode, text?: RegExp): Promise<void> {
  const err = await promise.then(
    () => assert.fail(`expected a '${code}' error`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SlideError, `a SlideError, got ${err}`);
  assert.equal(err.code, code, err.message);
  if (text) assert.match(err.message, text);
}

describe('a slide read through ports of one HttpBlocks', () => {
  test('two readers get the pixels of a direct read, and the server sends each byte once', async () => {
    await fresh();
    const blocks = await HttpBlocks.open(server.url, 'slide.tif');
    const expected = await direct();
    const readers = await Promise.all(
      [link(blocks), link(blocks)].map(({ port }) =>
        openTiff({ kind: 'bytes', name: 'slide.tif', size: blocks.size, port }),
      ),
    );
    assert.deepEqual(readers[0].levels, expected.levels);
    assert.deepEqual(readers[1].mpp, expected.mpp);
    // Both read every level whole, at the same time, and a window across tile corners.
    const regions = expected.levels.map((l, level) => ({ level, x: 0, y: 0, width: l.width, height: l.height }));
    regions.push({ level: 0, x: 250, y: 500, width: 300, height: 77 });
    for (const region of regions) {
      const want = await expected.readRegion(region);
      const got = await Promise.all(readers.map((r) => r.readRegion(region)));
      for (const g of got) assert.ok(Buffer.from(g).equals(Buffer.from(want)), `level ${region.level} differs`);
    }
    const totals = server.totals();
    assert.equal(totals.bytes, totals.distinct, 'no byte was asked for twice');
    assert.ok(totals.bytes <= bytes.byteLength, `${totals.bytes} bytes fetched for a ${bytes.byteLength}-byte file`);
    assert.deepEqual(blocks.stats.requests, totals.requests);
    assert.deepEqual(blocks.stats.bytes, totals.bytes);
  });

  // The waits are on the server's events; the timeout only names a hang.
  const WAITS = { timeout: 60_000 };

  test(
    'reads in flight are shared; an abort rejects at once and stops a request no one else wants',
    WAITS,
    async () => {
      await fresh();
      const blocks = await HttpBlocks.open(server.url, 'slide.tif', { blockSize: 4096 });
      const a = link(blocks).source;
      const b = link(blocks).source;
      const slice = { offset: 40_000, length: 10_000 };
      const want = bytes.slice(slice.offset, slice.offset + slice.length);

      server.hold();
      const arrived = once(server, 'request');
      const stopA = new AbortController();
      const readA = a.fetch([slice], stopA.signal);
      const readB = b.fetch([slice]);
      await arrived;
      stopA.abort();
      await assert.rejects(readA, (e: unknown) => isAbortError(e) && e instanceof SlideError && e.code === 'aborted');
      server.release();
      const [gotB] = await readB;
      assert.ok(Buffer.from(gotB).equals(Buffer.from(want)), 'the other reader still gets its bytes');
      assert.equal(server.log.length, 2, 'the first block, then one request for both readers');
      assert.equal(server.log[1].outcome, 'served');

      // Alone on its request, an aborted read stops the transfer; a later read asks again.
      server.hold();
      const other = { offset: 200_000, length: 5000 };
      const stop = new AbortController();
      const requested = once(server, 'request');
      const lone = a.fetch([other], stop.signal);
      await requested;
      const aborted = once(server, 'aborted');
      stop.abort();
      await assert.rejects(lone, isAbortError);
      await aborted;
      server.release();
      const [again] = await b.fetch([other]);
      assert.ok(Buffer.from(again).equals(Buffer.from(bytes.subarray(other.offset, other.offset + other.length))));
      assert.deepEqual(
        server.log.map((r) => r.outcome),
        ['served', 'served', 'aborted', 'served'],
      );
    },
  );

  test('errors keep their SlideError code through the port', WAITS, async () => {
    await fresh();
    const blocks = await HttpBlocks.open(server.url, 'slide.tif', { blockSize: 4096 });
    const { source, served } = link(blocks);
    // Past the end: the file is shorter than its tables say.
    await rejectsWith(source.fetch([{ offset: bytes.byteLength + 10, length: 100 }]), 'truncated', /past its end/);
    // A slice running over the end is cut there, as a server cuts a Range.
    const [tail] = await source.fetch([{ offset: bytes.byteLength - 100, length: 1024 }]);
    assert.equal(tail.byteLength, 100);
    server.fail = 503;
    await rejectsWith(source.fetch([{ offset: 100_000, length: 100 }]), 'network', /HTTP 503/);
    server.fail = 'short';
    await rejectsWith(source.fetch([{ offset: 150_000, length: 100 }]), 'truncated', /sent \d+ bytes/);
    server.fail = undefined;
    // A failed block is asked for again.
    const [ok] = await source.fetch([{ offset: 150_000, length: 100 }]);
    assert.ok(Buffer.from(ok).equals(Buffer.from(bytes.subarray(150_000, 150_100))));

    // The page closing the source fails the reads waiting and every later one, instead of hanging.
    server.hold();
    const requested = once(server, 'request');
    const waiting = source.fetch([{ offset: 300_000, length: 100 }]);
    await requested;
    served.close();
    await rejectsWith(waiting, 'network', /closed/);
    await rejectsWith(source.fetch([{ offset: 0, length: 16 }]), 'network', /closed/);
    await once(server, 'aborted');
  });

  test('opening says what is wrong with the server', async () => {
    await fresh();
    server.fail = 404;
    await rejectsWith(HttpBlocks.open(server.url, 'slide.tif'), 'network', /HTTP 404/);
    server.fail = 'whole';
    await rejectsWith(HttpBlocks.open(server.url, 'slide.tif'), 'no-range-support', /Range/);
    server.fail = undefined;
    await rejectsWith(HttpBlocks.open('http://127.0.0.1:9/slide.tif', 'slide.tif'), 'network');
    const stop = new AbortController();
    stop.abort();
    await rejectsWith(HttpBlocks.open(server.url, 'slide.tif', { signal: stop.signal }), 'aborted');
  });
});
