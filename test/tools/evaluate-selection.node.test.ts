import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { SelectionRun } from '../../tools/selection-summary.js';

// The selection simulation's command line end to end on the generated sample patches (made by
// `npm run sample`, as `npm test` does) with the shipped extractors: a few rounds, one draw, so
// that it runs in tens of seconds. The sample is at 0.5 µm/px; `--mpp 0.25` has the tool read it
// at the extractors' scale, which changes the figures, not the machinery under test.
const SAMPLE = '.cache/sample/patches';
const run = promisify(execFile);
const tsx = path.resolve('node_modules/.bin/tsx');

test(
  'npm run evaluate:selection: random and active runs, Dice per round, effort, table and plot',
  { timeout: 600_000 },
  async () => {
    assert.ok(fs.existsSync(`${SAMPLE}/manifest.csv`), `${SAMPLE} is missing: run \`npm run sample\` first`);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'selection-')), 'sample-selection');
    const { stdout } = await run(
      tsx,
      [
        'tools/evaluate-selection.ts',
        ...['--data', SAMPLE, '--target', 'lymphocyte=2', '--mpp', '0.25', '--shots', '3', '--draws', '1'],
        ...['--stride', '128', '--step', '8', '--out', out],
      ],
      { maxBuffer: 1 << 24 },
    );
    assert.match(stdout, /\| lymphocyte \| random +\|/);
    assert.match(stdout, /\| lymphocyte \| active +\|/);
    const result = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8')) as {
      runs: SelectionRun[];
      effort: { selection: string; changed: { median: number }; fromScratch: { median: number } }[];
    };
    assert.deepEqual(
      result.runs.map((r) => r.selection),
      ['random', 'active'],
    );
    const [random, active] = result.runs;
    assert.deepEqual(random.rounds[0].window, active.rounds[0].window, 'paired: the same first window');
    for (const r of result.runs) {
      assert.deepEqual(
        r.rounds.map((x) => x.shots),
        [1, 2, 3],
      );
      assert.equal(r.rounds[0].changedPixels, null);
      for (const x of r.rounds) {
        assert.ok(x.dice !== null && x.dice >= 0 && x.dice <= 1, `Dice ${x.dice}`);
        assert.ok(x.classPixels >= 200);
      }
      // One draw: the medians are the sums over rounds 2 and 3.
      const effort = result.effort.find((e) => e.selection === r.selection)!;
      assert.equal(effort.changed.median, r.rounds[1].changedPixels! + r.rounds[2].changedPixels!);
      assert.equal(effort.fromScratch.median, r.rounds[1].classPixels + r.rounds[2].classPixels);
    }
    const svg = fs.readFileSync(`${out}.svg`, 'utf8');
    assert.match(svg, /proposed windows \(active\)/);
    assert.equal((svg.match(/<polyline/g) ?? []).length, 2, 'a line per selection');
  },
);
