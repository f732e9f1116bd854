import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { progressLine, usageLine, type ProgressStream } from '../../tools/cli.js';
import { runTool, type ToolRun as Run } from './run-tool.js';

// The command lines as a user runs them: the real tools in a child process
// (`node --import tsx tools/<tool>.ts …`), their exit codes and what they print.
const TOOLS = [
  ['train', 'npm run train'],
  ['evaluate', 'npm run evaluate'],
  ['make-sample-slide', 'npm run sample'],
  ['bench-adapt', 'npm run bench:adapt'],
  ['bench-contours', 'npm run bench:contours'],
  ['bench-engine', 'npm run bench:engine'],
  ['bench-msd', 'npm run bench:msd'],
  ['bench-patch-model', 'npm run bench:patch'],
  ['bench-train', 'npm run bench:train'],
  ['bench-view', 'npm run bench:view'],
  ['trace-long-tasks', 'npm run trace:long-tasks'],
  ['bench-draw', 'npm run bench:draw'],
  ['bench-batch', 'npm run bench:batch'],
  ['screenshot', 'npm run screenshot'],
  ['fuzz', 'npm run fuzz'],
  ['seal-bundle', 'npm run seal-bundle'],
  ['compare-tilings', 'npm run compare-tilings'],
  ['evaluate-instances', 'npm run evaluate-instances'],
] as const;

const run = runTool;

/** Runs the jobs two at a time: the machine's cores are shared. */
async function inPairs<T, R>(items: readonly T[], job: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await job(items[k]);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

/** A usage error as the rules say: exit 2, one line naming the problem, the usage, no stack. */
function assertUsageError(r: Run, tool: string, command: string, problem: RegExp): void {
  assert.equal(r.code, 2, `${tool}: exit code ${r.code}; stderr ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0], problem, `${tool}: the first line names the problem`);
  assert.ok(lines[0].startsWith(`${command.replace('npm run ', '')}: `) || lines[0].startsWith(`${tool}: `));
  assert.match(lines[1], new RegExp(`^Usage: ${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), tool);
  assert.ok(!r.stderr.includes('    at '), `${tool}: a stack trace:\n${r.stderr}`);
  assert.ok(lines.length <= 3, `${tool}: ${lines.length} lines of error output`);
}

test('every command answers --help (and -h) with its usage and options, exit 0', { timeout: 180_000 }, async () => {
  const runs = await inPairs(TOOLS, ([tool]) => run(tool, ['--help']));
  TOOLS.forEach(([tool, command], k) => {
    const r = runs[k];
    assert.equal(r.code, 0, `${tool}: exit ${r.code}, stderr ${r.stderr}`);
    assert.ok(r.stdout.startsWith(`Usage: ${command}`), `${tool}: ${r.stdout.slice(0, 200)}`);
    assert.match(r.stdout, /\nOptions:\n/);
    assert.match(r.stdout, /-h, --help/);
    assert.equal(r.stderr, '', `${tool} wrote to stderr: ${r.stderr}`);
  });
  // Help wins over a bad option next to it, and -h is the same.
  const [bad, short] = await Promise.all([run('train', ['--bogus', '--help']), run('train', ['-h'])]);
  assert.equal(bad.code, 0);
  assert.equal(short.stdout, runs[0].stdout);
  assert.match(runs[0].stdout, /--data DIR\s+labelled dataset folder/);
  assert.match(runs[0].stdout, /--depth N\s+MSD layers \(default 25\)/);
});

test(
  'an unknown option exits 2 with one line naming it and the usage, no stack trace',
  { timeout: 180_000 },
  async () => {
    const runs = await inPairs(TOOLS, ([tool]) => run(tool, ['--bogus-option', '1']));
    TOOLS.forEach(([tool, command], k) => assertUsageError(runs[k], tool, command, /unknown option '--bogus-option'/));
  },
);

test('bad inputs are refused up front with exit 2, naming the problem', { timeout: 180_000 }, async () => {
  const cases: [string, string, string[], RegExp][] = [
    [
      'train',
      'npm run train',
      ['--data', '/nonexistent', '--class', 'a=1'],
      /^train: --data \/nonexistent: no such folder/,
    ],
    ['train', 'npm run train', ['--data', '.'], /--data \. has no manifest\.csv, images, labels/],
    ['train', 'npm run train', ['--data'], /option '--data <value>' argument missing/],
    ['evaluate', 'npm run evaluate', ['--train', 'a,b'], /^evaluate: --train needs --test/],
    ['evaluate', 'npm run evaluate', ['--window', '130'], /^evaluate: --window: a multiple of 4/],
    ['evaluate', 'npm run evaluate', ['--data', '/nonexistent'], /^evaluate: --data \/nonexistent: no such folder/],
    [
      'evaluate',
      'npm run evaluate',
      ['--tiling', 'tiles'],
      /^evaluate: --tiling must be one of whole, patches, got "tiles"/,
    ],
    ['bench-adapt', 'npm run bench:adapt', ['--data', '/nonexistent'], /--data \/nonexistent: no such folder/],
    ['bench-adapt', 'npm run bench:adapt', ['--runs', 'three'], /--runs must be an integer ≥ 1, got "three"/],
    ['make-sample-slide', 'npm run sample', ['--compression', 'png'], /--compression must be one of deflate, jpeg/],
    [
      'bench-engine',
      'npm run bench:engine',
      ['--slide', '/nonexistent.tif'],
      /--slide \/nonexistent\.tif: no such file/,
    ],
    ['bench-train', 'npm run bench:train', ['--skip', 'fast'], /--skip must be one of naive, custom, got "fast"/],
    [
      'bench-view',
      'npm run bench:view',
      ['--drawer', 'gl'],
      /^bench:view: --drawer must be one of canvas, webgl, got "gl"/,
    ],
    [
      'bench-view',
      'npm run bench:view',
      ['--slides', 'sample,cmu2'],
      /^bench:view: --slides must be one of sample, cmu, got "cmu2"/,
    ],
    ['bench-view', 'npm run bench:view', ['--pans', 'many'], /^bench:view: --pans must be an integer ≥ 0, got "many"/],
  ];
  if (fs.existsSync('.cache/sample/patches/manifest.csv'))
    cases.push([
      'train',
      'npm run train',
      ['--data', '.cache/sample/patches', '--class', 'lymphocyte=two'],
      /--class: a class is name=id/,
    ]);
  const runs = await inPairs(cases, ([tool, , args]) => run(tool, args));
  cases.forEach(([tool, command, , problem], k) => assertUsageError(runs[k], tool, command, problem));
});

test('an unexpected failure is one line and exit 1; DEBUG=1 adds the stack', { timeout: 120_000 }, async () => {
  // A dataset folder that looks right up front but whose manifest names an image that is not there.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
  try {
    fs.mkdirSync(path.join(dir, 'images'));
    fs.mkdirSync(path.join(dir, 'labels'));
    fs.writeFileSync(path.join(dir, 'manifest.csv'), 'name\ntrain_1\n');
    const args = ['--data', dir, '--class', 'a=1', '--out', path.join(dir, 'out')];
    const [plain, debug] = await Promise.all([run('train', args), run('train', args, { DEBUG: '1' })]);
    assert.equal(plain.code, 1, plain.stderr);
    assert.equal(plain.stderr.trimEnd().split('\n').length, 1, plain.stderr);
    assert.match(
      plain.stderr,
      /^train: ENOENT: no such file or directory, open '.*train_1\.png' \(DEBUG=1 shows where\)/,
    );
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /^train: Error: ENOENT/);
    assert.ok(debug.stderr.includes('    at '), 'DEBUG=1 shows the stack');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A stream that keeps what is written: a terminal (isTTY, columns) or a pipe. */
function sink(tty: boolean): ProgressStream & { text: string } {
  return {
    text: '',
    isTTY: tty,
    columns: 100,
    write(t: string) {
      this.text += t;
      return true;
    },
  };
}

test('progress: one line redrawn in place on a terminal, log lines above it; plain lines elsewhere', async () => {
  const tty = sink(true);
  const bar = progressLine({ label: 'rows', total: 200, stream: tty });
  bar.update(50);
  bar.log('a line that stays');
  await new Promise((r) => setTimeout(r, 120));
  bar.update(100, { eta: 65 });
  bar.finish();
  const frames = tty.text.split('\r\x1b[2K').filter((f) => f !== '');
  assert.match(frames[0], /^rows \[█{6}░{18}\] {2}25% 50\/200 ETA /);
  assert.equal(frames[1], 'a line that stays\n', 'the log line replaces the bar, which comes back under it');
  assert.match(frames[2], /^rows \[█{6}░{18}\] {2}25% 50\/200/);
  assert.match(frames[3], /^rows \[█{12}░{12}\] {2}50% 100\/200 ETA 1:0[45]$/, 'the ETA given, as m:ss');
  assert.match(frames[4], /^rows \[█{24}\] 100% 200\/200 done in 0:00\n$/);
  assert.ok(
    frames.every((f) => f.replace('\n', '').length <= 99),
    'within the terminal width',
  );

  // Not a terminal: no escape codes, no bar, at most one line per interval (a log line counts).
  const pipe = sink(false);
  const plain = progressLine({ label: 'rows', total: 4, stream: pipe, intervalMs: 60_000 });
  plain.update(1);
  plain.update(2);
  plain.log('epoch 2 done');
  plain.update(3);
  plain.finish();
  const lines = pipe.text.split('\n');
  assert.equal(lines.length, 4, `three lines: ${JSON.stringify(pipe.text)}`);
  const [first, logged, last] = lines;
  assert.equal(logged, 'epoch 2 done');
  assert.match(first, /^rows 25% 1\/4 ETA \d+:\d\d$/);
  assert.match(last, /^rows 100% 4\/4 done in 0:00$/);
  assert.ok(!pipe.text.includes('\x1b') && !pipe.text.includes('\r'));
});

test('progress: stopped early, the bar stays where it was', () => {
  const pipe = sink(false);
  const bar = progressLine({ label: 'tiles', total: 12, stream: pipe, intervalMs: 60_000 });
  bar.update(2);
  bar.stop('stopped');
  bar.update(5);
  assert.match(pipe.text.trimEnd().split('\n').at(-1)!, /^tiles 17% 2\/12 ETA \d+:\d\d stopped$/);
});

test('evaluate-instances skips with exit 0 and a message when the data folder is absent', async () => {
  const r = await run('evaluate-instances', ['--data', path.join(os.tmpdir(), 'no-such-consep'), '--shots', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^evaluate-instances: skipped, .*instances_approx is not there/);
});

test("a package's bin (direct) has no npm ` -- ` in its usage line; an npm script has", () => {
  const spec = { name: 'x', command: 'npx x run', synopsis: '--in FILE', description: '', options: {} };
  assert.equal(usageLine(spec), 'Usage: npx x run -- --in FILE');
  assert.equal(usageLine({ ...spec, direct: true }), 'Usage: npx x run --in FILE');
});
