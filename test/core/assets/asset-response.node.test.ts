import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fetchAsset, probeAsset, wrongAsset, type AssetAnswer } from '../../../core/assets/asset-response.js';

const URL_ = 'https://cdn.example/dist/tfjs-backend-wasm-simd.wasm';
const bytes = (text: string) => new TextEncoder().encode(text);
const answer = (status: number, contentType: string | null, head: Uint8Array, statusText = ''): AssetAnswer => ({
  status,
  statusText,
  contentType,
  head,
});
const realWasm = async () =>
  new Uint8Array(await readFile(createRequire(import.meta.url).resolve('@cornerstonejs/codec-openjpeg/decodewasm')));

test('an index.html answering for a missing file is named as HTML, with the URL and its content type', () => {
  const page = bytes('<!DOCTYPE html>\n<html><head>');
  assert.equal(
    wrongAsset(URL_, answer(200, 'text/html; charset=utf-8', page), 'wasm'),
    `${URL_} answered HTML (text/html) instead of WebAssembly: the file is not there ` +
      '(a server that answers every path with its index.html)',
  );
  // Recognised by its first bytes too, whatever the server calls it.
  assert.match(wrongAsset(URL_, answer(200, 'application/octet-stream', page), 'binary') ?? '', /answered HTML/);
  assert.match(wrongAsset(URL_, answer(200, null, bytes('  <html>')), 'json') ?? '', /answered HTML instead of JSON/);
});

test('HTTP errors say the status; a body that is not WebAssembly says so; right files pass', async () => {
  assert.equal(
    wrongAsset(URL_, answer(404, 'text/plain', bytes('nope'), 'Not Found'), 'wasm'),
    `${URL_} answered HTTP 404 Not Found instead of WebAssembly`,
  );
  assert.match(
    wrongAsset(URL_, answer(200, 'application/wasm', bytes('{"a":1}')), 'wasm') ?? '',
    /answered a file that is not WebAssembly \(application\/wasm\): it lacks the \\0asm header/,
  );
  assert.equal(
    wrongAsset(URL_, answer(200, 'application/wasm', (await realWasm()).subarray(0, 64)), 'wasm'),
    undefined,
  );
  // float32 weights may well begin with the byte '<' (0x3c): not HTML for that alone.
  assert.equal(
    wrongAsset(URL_, answer(200, 'application/octet-stream', new Uint8Array([0x3c, 0, 0, 0])), 'binary'),
    undefined,
  );
  assert.equal(wrongAsset(URL_, answer(200, 'application/json', bytes('{"format":1}')), 'json'), undefined);
});

test('fetchAsset returns the bytes or throws the reason; probeAsset returns the reason', async () => {
  const wasm = await realWasm();
  const good = `data:application/wasm;base64,${Buffer.from(wasm).toString('base64')}`;
  assert.deepEqual(new Uint8Array(await fetchAsset(good, 'wasm')), wasm);
  assert.equal(await probeAsset(good, 'wasm'), undefined);
  const html = 'data:text/html,<!doctype html><title>app</title>';
  await assert.rejects(fetchAsset(html, 'wasm'), /answered HTML \(text\/html\) instead of WebAssembly/);
  assert.match((await probeAsset(html, 'wasm')) ?? '', /answered HTML/);
  await assert.rejects(
    fetchAsset('http://127.0.0.1:9/none.wasm', 'wasm'),
    /could not fetch http:\/\/127\.0\.0\.1:9\/none\.wasm/,
  );
});
