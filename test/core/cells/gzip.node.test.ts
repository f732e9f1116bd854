import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { gunzip, gzip, isGzip, textOfFile } from '../../../core/cells/gzip.js';

// The browser's Compression Streams against Node's zlib, the reference implementation of gzip:
// what one writes the other reads, both ways.
const TEXT = JSON.stringify({ type: 'FeatureCollection', features: [], note: 'µm² — ünïcödé '.repeat(500) });

test('gzip writes what zlib reads back; zlib writes what gunzip and textOfFile read back', async () => {
  const packed = await gzip(TEXT);
  assert.ok(isGzip(packed));
  assert.ok(packed.length < TEXT.length / 10, `${packed.length} bytes for ${TEXT.length} characters`);
  assert.equal(gunzipSync(packed).toString('utf8'), TEXT);
  const fromZlib = new Uint8Array(gzipSync(TEXT));
  assert.equal(new TextDecoder().decode(await gunzip(fromZlib)), TEXT);
  assert.equal(await textOfFile(fromZlib), TEXT);
  assert.equal(await textOfFile(new TextEncoder().encode(TEXT)), TEXT, 'plain text passes through');
  assert.equal(isGzip(new TextEncoder().encode(TEXT)), false);
});

test('gunzip refuses a corrupt file and stops a small file that inflates past its limit', async () => {
  const packed = new Uint8Array(gzipSync(TEXT));
  await assert.rejects(gunzip(packed.slice(0, packed.length - 12)));
  const damaged = packed.slice();
  damaged[20] ^= 0xff;
  await assert.rejects(gunzip(damaged));
  const bomb = new Uint8Array(gzipSync(new Uint8Array(8 << 20)));
  assert.ok(bomb.length < 10_000);
  await assert.rejects(gunzip(bomb, 1 << 20), /inflates to more than 1048576 bytes/);
  assert.equal((await gunzip(bomb)).length, 8 << 20);
});
