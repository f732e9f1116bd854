import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonTextDepth, jsonValueDepth, readBoundedJson } from '../../../core/json/bounded-json.js';
import { briefMessage, briefValue } from '../../../core/json/brief-value.js';

/** Depth by the definition, recursively (the test's inputs are shallow enough for it). */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

test('the depth of JSON text, counted without parsing, is the depth of the parsed value', () => {
  const cases = [
    '0',
    '"[[["',
    '[]',
    '{"a":[1,{"b":"]]]\\"[["}]}',
    '[[[[]]],[[]]]',
    '{"x":{"y":{"z":{}}}}',
    '["\\\\",[1]]',
  ];
  for (const text of cases) {
    const value: unknown = JSON.parse(text);
    assert.equal(jsonTextDepth(text), depthOf(value), text);
    assert.equal(jsonValueDepth(value), depthOf(value), text);
  }
});

test('nesting beyond the bound is a problem to report, not a stack overflow', () => {
  const deep = '['.repeat(20_000) + ']'.repeat(20_000);
  assert.deepEqual(readBoundedJson(deep).problem?.kind, 'too-deep');
  assert.equal(readBoundedJson('['.repeat(64) + ']'.repeat(64)).problem, undefined);
  assert.equal(readBoundedJson('['.repeat(65) + ']'.repeat(65)).problem?.kind, 'too-deep');
  let value: unknown = 0;
  for (let i = 0; i < 20_000; i++) value = [value];
  assert.equal(readBoundedJson(value).problem?.kind, 'too-deep');
  const bad = readBoundedJson('{"a": ' + 'x'.repeat(100_000));
  assert.equal(bad.problem?.kind, 'not-json');
  assert.ok(bad.problem!.message.length <= 120);
});

test('a bad value is described briefly whatever it is', () => {
  assert.equal(briefValue(undefined), 'missing');
  assert.equal(briefValue(1e308), '1e+308');
  assert.equal(briefValue('abc'), '"abc"');
  assert.equal(briefValue([1, 'a']), '[1,"a"]');
  assert.equal(briefValue({ name: 'x', depth: 'y' }), '{"name":"x","depth":"y"}');
  assert.match(briefValue('x'.repeat(3_000_000)), /^"x{40}…" \(3000000 characters\)$/);
  assert.match(briefValue(Array(1_000_000).fill(1e308)), /^an array of 1000000 \(\[1e\+308,/);
  let deep: unknown = 0;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.ok(briefValue(deep).length < 80);
  for (const v of ['x'.repeat(1e6), Array(1e5).fill('y'.repeat(100)), { ['k'.repeat(1e5)]: 1 }])
    assert.ok(briefValue(v).length <= 100, briefValue(v));
  assert.equal(briefMessage('m'.repeat(1000)).length, 400);
});
