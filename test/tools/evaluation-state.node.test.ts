import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadState, lockState, saveState, type Protocol } from '../../tools/evaluation-state.js';

const protocol: Protocol = {
  dataset: 'd',
  targets: [{ name: 'a', ids: [1] }],
  depth: 3,
  window: 256,
  stride: 64,
  minPositive: 200,
  threshold: 0.5,
  lambda: 1e-4,
};

test("a version-1 state (one tiling, a whole forward per image) resumes as version 2's 'whole' counts", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evaluation-state-'));
  const file = path.join(dir, 'state.json');
  const counts = { truth: { a: 5 }, upper: { a: [3, 4] }, heads: {} };
  fs.writeFileSync(
    file,
    JSON.stringify({ version: 1, protocol, extractors: {}, adaptations: {}, counts: { '1/t': counts } }),
  );
  const state = loadState(file, protocol);
  assert.equal(state.version, 2);
  assert.deepEqual(state.counts, { 'whole/1/t': counts });
  saveState(file, state);
  assert.deepEqual(loadState(file, protocol), state);
  assert.throws(() => loadState(file, { ...protocol, stride: 32 }), /was made with other settings/);
});

test('a state is used by one evaluation at a time; a dead process’s lock is taken over', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evaluation-state-'));
  const file = path.join(dir, 'state.json');
  // The parent (the test runner) is alive for as long as this test runs.
  fs.writeFileSync(`${file}.lock`, `${process.ppid}\n`);
  assert.throws(() => lockState(file), new RegExp(`in use by another evaluation \\(process ${process.ppid}\\)`));
  const exited = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  fs.writeFileSync(`${file}.lock`, exited.stdout);
  lockState(file);
  assert.equal(fs.readFileSync(`${file}.lock`, 'utf8').trim(), String(process.pid));
});
