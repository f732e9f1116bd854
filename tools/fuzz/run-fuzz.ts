import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../../core/math/seeded-random.js';
import { loadKind } from './load-kind.js';

/** What the runner sends a child: one mutant, and when to fire its AbortSignal. */
export interface ChildJob {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly abortAfterMs: number;
}

/** What a child answers; a crash or a hang is what the runner sees when no answer comes. */
export type ChildReply =
  | { readonly ready: true }
  | { readonly id: number; readonly outcome: 'opened' | 'late-abort' }
  | { readonly id: number; readonly outcome: 'typed'; readonly code: string; readonly message: string }
  | { readonly id: number; readonly outcome: 'untyped'; readonly message: string };

/**
 * opened: accepted and read; typed: rejected with one of the product's typed errors; untyped:
 * rejected with anything else; late-abort: still running 1 s after its signal fired; hang: no
 * answer at all (the child's event loop is stuck); crash: the child process died.
 */
export type FuzzOutcome = 'opened' | 'typed' | 'untyped' | 'late-abort' | 'hang' | 'crash';

export interface FuzzResult {
  /** Mutant number: with the run's seed it regenerates the same bytes. */
  readonly index: number;
  readonly seedIndex: number;
  readonly outcome: FuzzOutcome;
  readonly code?: string;
  readonly message?: string;
  /** Shorter than its seed: a cut file, so a 'truncated' code is expected there. */
  readonly shortened: boolean;
  readonly bytes: Uint8Array;
}

export interface FuzzOptions {
  /** A registered kind (tools/fuzz/fuzz-kinds.ts) or the path of a module exporting `kind`. */
  readonly kind: string;
  readonly n: number;
  readonly seed: number;
  /** Child processes checking mutants side by side. */
  readonly workers: number;
  /**
   * A check's signal fires after this long if nothing fired it earlier; every fifth mutant
   * gets it within 0–30 ms instead, to abort in the middle of opening.
   */
  readonly limitMs?: number;
  /** Time past the abort limit before a silent child counts as hung and is killed. */
  readonly hangMs?: number;
  readonly onResult?: (result: FuzzResult, done: number) => void;
}

export interface FuzzReport {
  readonly kind: string;
  readonly n: number;
  readonly seeds: number;
  readonly counts: Readonly<Record<FuzzOutcome, number>>;
  /** Typed errors by code. */
  readonly codes: Readonly<Record<string, number>>;
  /** 'truncated' errors on mutants as long as their seed. */
  readonly truncatedFullLength: number;
  /** Every mutant that was not opened or typed, in index order. */
  readonly failures: readonly FuzzResult[];
}

const CHILD = fileURLToPath(new URL('./fuzz-child.ts', import.meta.url));
const ABORT_LIMIT_MS = 1000;

/** The random stream of mutant `index` of a run: independent of the order mutants are checked in. */
export function mutantRandom(seed: number, index: number): SeededRandom {
  const random = new SeededRandom((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0);
  random.next();
  return random;
}

/** Mutant `index` of a run, with its seed and when its signal fires. */
export function makeMutant(
  seeds: readonly Uint8Array[],
  mutate: (seed: Uint8Array, random: () => number) => Uint8Array,
  seed: number,
  index: number,
  limitMs: number,
): { seedIndex: number; bytes: Uint8Array; abortAfterMs: number } {
  const random = mutantRandom(seed, index);
  const seedIndex = random.int(seeds.length);
  const abortAfterMs = random.next() < 0.2 ? random.int(30) : limitMs;
  const bytes = mutate(seeds[seedIndex], () => random.next());
  return { seedIndex, bytes, abortAfterMs };
}

/** Runs `n` mutants of the kind's seeds through the product's reader in child processes. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { n, seed, workers } = options;
  const limitMs = options.limitMs ?? 10_000;
  const hangMs = options.hangMs ?? 10_000;
  const kind = await loadKind(options.kind);
  const seeds = await kind.seeds();
  const results: FuzzResult[] = [];
  let next = 0;

  const slot = async (): Promise<void> => {
    let child: Child | undefined;
    try {
      while (next < n) {
        const index = next++;
        const { seedIndex, bytes, abortAfterMs } = makeMutant(seeds, kind.mutate, seed, index, limitMs);
        child ??= await startChild(options.kind);
        const answer = await child.check({ id: index, bytes, abortAfterMs }, abortAfterMs + ABORT_LIMIT_MS + hangMs);
        // A child that crashed, hung or left work running after its abort is not reused.
        if (answer.outcome === 'crash' || answer.outcome === 'hang' || answer.outcome === 'late-abort') {
          child.kill();
          child = undefined;
        }
        const result: FuzzResult = {
          index,
          seedIndex,
          shortened: bytes.length < seeds[seedIndex].length,
          bytes,
          ...answer,
        };
        results.push(result);
        options.onResult?.(result, results.length);
      }
    } finally {
      child?.kill();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, n)) }, slot));

  results.sort((a, b) => a.index - b.index);
  const counts: Record<FuzzOutcome, number> = { opened: 0, typed: 0, untyped: 0, 'late-abort': 0, hang: 0, crash: 0 };
  const codes: Record<string, number> = {};
  let truncatedFullLength = 0;
  for (const r of results) {
    counts[r.outcome]++;
    if (r.outcome === 'typed') codes[r.code!] = (codes[r.code!] ?? 0) + 1;
    if (r.code === 'truncated' && !r.shortened) truncatedFullLength++;
  }
  return {
    kind: kind.name,
    n,
    seeds: seeds.length,
    counts,
    codes,
    truncatedFullLength,
    failures: results.filter((r) => r.outcome !== 'opened' && r.outcome !== 'typed'),
  };
}

type Answer = { outcome: FuzzOutcome; code?: string; message?: string };

interface Child {
  check(job: ChildJob, hangAfterMs: number): Promise<Answer>;
  kill(): void;
}

function startChild(kind: string): Promise<Child> {
  const process: ChildProcess = fork(CHILD, [kind], {
    execArgv: ['--import', 'tsx', '--max-old-space-size=2048'],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  process.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let pending: ((answer: Answer) => void) | undefined;
  let exited = false;
  return new Promise((resolve, reject) => {
    process.on('message', (reply: ChildReply) => {
      if ('ready' in reply) {
        resolve({
          check(job, hangAfterMs) {
            return new Promise<Answer>((answer) => {
              const timer = setTimeout(() => {
                pending = undefined;
                answer({ outcome: 'hang', message: `no answer ${hangAfterMs} ms after the check started` });
              }, hangAfterMs);
              pending = (a) => {
                clearTimeout(timer);
                pending = undefined;
                answer(a);
              };
              if (exited) pending({ outcome: 'crash', message: 'the child had exited' });
              else process.send(job);
            });
          },
          kill() {
            if (!exited) process.kill('SIGKILL');
          },
        });
      } else {
        const { outcome } = reply;
        pending?.({
          outcome,
          code: 'code' in reply ? reply.code : undefined,
          message: 'message' in reply ? reply.message : undefined,
        });
      }
    });
    process.on('exit', (code, signal) => {
      exited = true;
      const why = `the child exited (${signal ?? `code ${code}`}): ${lastLines(stderr)}`;
      if (pending) pending({ outcome: 'crash', message: why });
      else reject(new Error(why));
    });
  });
}

function lastLines(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim());
  const assertion = lines.find((l) => /Assertion|FATAL|heap out of memory/.test(l));
  return [assertion, ...lines.slice(-3)].filter(Boolean).join(' | ').slice(0, 600);
}
