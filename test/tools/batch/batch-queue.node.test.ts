import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBatch } from '../../../tools/batch/run-batch.js';
import { SAMPLE, SOURCE_BIN, writeLymphocyteHead, writeSmallSlide } from './batch-fixtures.js';
import { startRedis, type RedisServer } from './redis-server.js';

// The batch over BullMQ on a real Redis, against the same batch on threads: a head adapted to the
// sample's lymphocytes, two small slides (six output tiles each, one tile a job) over two worker
// processes; one worker is killed in the middle of a job, and the coordinator with it; a new
// coordinator resumes. The outputs must be the same bytes as the single-machine run's, and the job
// the dead worker held must be done by the other.

let redis: RedisServer;
let tmp: string;
let head: string;
const slides: string[] = [];
const OUTPUTS = ['a.geojson.gz', 'a.probability.tif', 'b.geojson.gz', 'b.probability.tif', 'cohort.csv'];

/** A command line of the bin from source, in a process group of its own (to kill it with its children). */
class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  /** Lines before this one are behind `next`. */
  private cursor = 0;
  private readonly watchers: { pattern: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [...SOURCE_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let partial = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        this.lines.push(line);
        const w = this.watchers[0];
        if (w?.pattern.test(line)) {
          this.watchers.shift();
          this.cursor = this.lines.length;
          w.resolve(line);
        }
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        for (const w of this.watchers.splice(0)) w.reject(new Error(`${args[0]} exited (${code}): ${this.stderr}`));
        resolve(code);
      }),
    );
  }

  /** The first line after the last one `next` returned that matches (from the output so far, or to come). */
  next(pattern: RegExp): Promise<string> {
    const seen = this.lines.slice(this.cursor).findIndex((line) => pattern.test(line));
    if (seen >= 0) {
      this.cursor += seen + 1;
      return Promise.resolve(this.lines[this.cursor - 1]);
    }
    return new Promise((resolve, reject) => this.watchers.push({ pattern, resolve, reject }));
  }

  /** SIGKILL to the process and every child of it: a machine gone. */
  killGroup(): void {
    process.kill(-this.child.pid!, 'SIGKILL');
  }
}

before(async () => {
  assert.ok(fs.existsSync(SAMPLE), 'the sample slide is missing: run `npm run sample`');
  redis = await startRedis();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fewshot-queue-'));
  head = path.join(tmp, 'lymphocytes.head.json');
  await writeLymphocyteHead(head);
  for (const [name, x, y] of [
    ['a', 2048, 2048],
    ['b', 4096, 1024],
  ] as const) {
    const file = path.join(tmp, `${name}.tif`);
    // 768×512 at 0.5 µm/px: an inference grid of 1536×1024, 3×2 output tiles.
    await writeSmallSlide(file, x, y, 768, 512);
    slides.push(file);
  }
});

after(async () => {
  await redis?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test(
  'two slides over two workers, one killed mid-job with the coordinator: the bytes of the local run',
  { timeout: 900_000 },
  async (t) => {
    const local = path.join(tmp, 'local');
    await runBatch({
      head,
      slides: slides.map((s) => ({ source: s, name: path.basename(s, '.tif') })),
      region: 'slide',
      out: local,
      threads: 2,
    });

    const rows = fs.readFileSync(path.join(local, 'cohort.csv'), 'utf8').trimEnd().split('\n').slice(1);
    const cells = rows.map((row) => Number(row.split(',')[1]));
    assert.ok(cells.length === 2 && cells.every((n) => n > 20), `cells in both slides, across their seams: ${cells}`);

    const out = path.join(tmp, 'queued');
    const queue = ['--queue', redis.url];
    const worker = () => new Proc(['worker', ...queue, '--concurrency', '1', '--lock-seconds', '5']);
    const coordinatorArgs = ['batch', '--head', head, ...slides.flatMap((s) => ['--slide', s]), '--region', 'slide'];
    const coordinate = () => new Proc([...coordinatorArgs, '--out', out, ...queue, '--tiles-per-job', '1']);
    const [a, b] = [worker(), worker()];
    const first = coordinate();
    // Killed as its second job starts: it holds that job, half done.
    // The coordinator failing ends the test with its message, not a wait for a line that never comes.
    const failed = first.exited.then((c) => {
      throw new Error(`the coordinator exited (${c}) before worker A's second job: ${first.stderr}`);
    });
    await Promise.race([a.next(/^completed tiles job /), failed]);
    const held = (await Promise.race([a.next(/^started tiles job /), failed])).replace(/^started tiles job /, '');
    a.killGroup();
    first.killGroup();
    await Promise.all([a.exited, first.exited]);
    t.diagnostic(`killed worker A while it ran ${held}, and the coordinator`);

    const second = coordinate();
    const code = await second.exited;
    assert.equal(code, 0, `the restarted coordinator: ${second.stderr}`);
    assert.match(second.lines.join('\n'), /queued by an earlier run, waiting for it/);
    assert.ok(
      b.lines.includes(`completed tiles job ${held}`),
      `worker B did the job the dead worker held (${held}):\n${b.lines.join('\n')}`,
    );
    for (const name of OUTPUTS) {
      const expected = fs.readFileSync(path.join(local, name));
      assert.ok(
        expected.length > 0 && fs.readFileSync(path.join(out, name)).equals(expected),
        `${name}: the same bytes`,
      );
    }
    for (const line of [...a.lines.map((l) => `A: ${l}`), ...b.lines.map((l) => `B: ${l}`), ...second.lines])
      t.diagnostic(line);
    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.stderr);
  },
);
