import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * What every command line here shares, so each behaves like a command line: `--help` (or `-h`)
 * prints the usage and options and exits 0; an unknown or malformed option, or an input that is
 * wrong before any work starts (a missing folder, a number that is not one), prints one line
 * `<tool>: <problem>` and the usage to stderr and exits 2; an unexpected failure prints one line
 * `<tool>: <message>` and exits 1, with the stack only when DEBUG=1. Nobody should have to read
 * a stack trace from node:util to learn that an option is spelled differently.
 */

export interface CliOption {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  readonly default?: string | boolean;
  /** How the value is shown in the usage: DIR, N, NAME=ID[,ID…]. */
  readonly value?: string;
  readonly description: string;
}

export interface CliSpec<O extends Readonly<Record<string, CliOption>>> {
  /** What the error lines start with: `train: …`. */
  readonly name: string;
  /** How it is run, without its options: `npm run train`. */
  readonly command: string;
  /** The options part of the usage line: `--data DIR --class NAME=ID[,ID…] [options]`. */
  readonly synopsis: string;
  /** What it does, a few lines (wrapped as written). */
  readonly description: string;
  readonly options: O;
  /** `--no-<flag>` sets a boolean false (node:util's allowNegative). */
  readonly allowNegative?: boolean;
  readonly examples?: readonly string[];
  /** Run as itself (a package's `bin`), not through npm: no ` -- ` before its options. */
  readonly direct?: boolean;
}

type ValueOf<T extends CliOption> = T['type'] extends 'boolean'
  ? T['multiple'] extends true
    ? boolean[]
    : boolean
  : T['multiple'] extends true
    ? string[]
    : string;

/** The parsed options: those with a default are always there. */
export type CliValues<O extends Readonly<Record<string, CliOption>>> = {
  -readonly [K in keyof O]: O[K] extends { readonly default: string | boolean }
    ? ValueOf<O[K]>
    : ValueOf<O[K]> | undefined;
};

/** A problem with how the command was called: reported with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Throws a UsageError: for checks of the arguments before the work starts. */
export function usageError(message: string): never {
  throw new UsageError(message);
}

const HELP: CliOption = { type: 'boolean', short: 'h', description: 'show this help and exit' };

function optionLabel(name: string, o: CliOption): string {
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}`;
  return o.type === 'string' ? `${flag} ${o.value ?? 'VALUE'}` : flag;
}

/** What goes between the command and its options: npm's ` -- `, or a space for a `bin`. */
const optionsGap = (spec: { readonly direct?: boolean }) => (spec.direct ? ' ' : ' -- ');

/** The usage line(s): what the error output shows. */
export function usageLine(spec: CliSpec<Readonly<Record<string, CliOption>>>): string {
  return `Usage: ${spec.command}${spec.synopsis ? `${optionsGap(spec)}${spec.synopsis}` : ''}`;
}

/** The full help: usage, description, options with their defaults, examples. */
export function helpText(spec: CliSpec<Readonly<Record<string, CliOption>>>): string {
  const entries = Object.entries({ ...spec.options, help: HELP });
  const labels = entries.map(([name, o]) => optionLabel(name, o));
  const width = Math.min(34, Math.max(...labels.map((l) => l.length)) + 2);
  const lines = [usageLine(spec), '', spec.description.trim(), '', 'Options:'];
  entries.forEach(([, o], k) => {
    const label = `  ${labels[k]}`;
    const extra =
      o.default !== undefined && o.default !== false && o.default !== ''
        ? ` (default ${o.default})`
        : o.multiple
          ? ' (repeatable)'
          : '';
    const text = `${o.description}${extra}`;
    lines.push(
      label.length + 2 > width + 2 ? `${label}\n${' '.repeat(width + 2)}${text}` : label.padEnd(width + 2) + text,
    );
  });
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** node:util's message without its advice, e.g. "unknown option '--bogus'". */
function parseProblem(err: Error): string {
  const first = err.message.split(/\.\s/)[0].replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** The options of `argv` by the spec; throws a UsageError for what node:util refuses. */
export function parseCli<const O extends Readonly<Record<string, CliOption>>>(
  spec: CliSpec<O>,
  argv: readonly string[] = process.argv.slice(2),
): CliValues<O> {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean }
  > = {};
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = {
      type: o.type,
      ...(o.multiple ? { multiple: true } : {}),
      ...(o.short ? { short: o.short } : {}),
      ...(o.default !== undefined ? { default: o.default } : {}),
    };
  }
  try {
    const { values } = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: false,
      ...(spec.allowNegative ? { allowNegative: true } : {}),
    } as Parameters<typeof parseArgs>[0]);
    return values as CliValues<O>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(parseProblem(err as Error));
    throw err;
  }
}

/** Whether the arguments ask for help (before any `--`, whatever else they hold). */
function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

function debug(): boolean {
  return process.env.DEBUG === '1' || process.env.DEBUG === 'true';
}

/** One line for an unexpected failure; the stack (and causes) only with DEBUG=1. */
function failure(name: string, err: unknown): string {
  if (debug() && err instanceof Error) return `${name}: ${err.stack ?? err.message}\n`;
  const message = err instanceof Error ? err.message : String(err);
  const hint = debug() ? '' : ' (DEBUG=1 shows where)';
  return `${name}: ${message.split('\n')[0]}${hint}\n`;
}

/** Exits as the rules above say: 2 with the usage for a UsageError, else 1 with one line. */
function exitFor(spec: CliSpec<Readonly<Record<string, CliOption>>>, err: unknown): never {
  if (err instanceof UsageError) {
    const help = `${spec.command}${optionsGap(spec)}--help`;
    process.stderr.write(`${spec.name}: ${err.message}\n${usageLine(spec)}\nTry '${help}' for the options.\n`);
    process.exit(2);
  }
  process.stderr.write(failure(spec.name, err));
  process.exit(1);
}

/**
 * Starts a command line: `--help` prints the help and exits 0; otherwise the arguments parsed
 * by `spec` (a usage error exits 2). From here on, whatever escapes the command — a UsageError
 * from a later check (exit 2), any other error, at the top level, in a callback or a rejected
 * promise (exit 1) — ends it with one line instead of a stack trace.
 */
export function startCli<const O extends Readonly<Record<string, CliOption>>>(
  spec: CliSpec<O>,
  argv: readonly string[] = process.argv.slice(2),
): CliValues<O> {
  if (wantsHelp(argv)) {
    process.stdout.write(helpText(spec));
    process.exit(0);
  }
  const fail = (err: unknown) => exitFor(spec, err);
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  try {
    return parseCli(spec, argv);
  } catch (err) {
    return exitFor(spec, err);
  }
}

/** startCli, then `main` with the parsed options; its errors end the command as startCli says. */
export async function runCli<const O extends Readonly<Record<string, CliOption>>>(
  spec: CliSpec<O>,
  main: (args: CliValues<O>) => void | Promise<void>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const args = startCli(spec, argv);
  try {
    await main(args);
  } catch (err) {
    exitFor(spec, err);
  }
}

// Checks of option values, each a UsageError naming the option and what it got.

/** An integer ≥ min (and ≤ max). */
export function integerOption(name: string, text: string | undefined, min: number, max = Infinity): number {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    usageError(
      `--${name} must be an integer ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}, got ${show(text)}`,
    );
  return n;
}

/** A finite number ≥ min (or > min when `exclusive`). */
export function numberOption(name: string, text: string | undefined, min: number, exclusive = false): number {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(n) || n < min || (exclusive && n === min))
    usageError(`--${name} must be a number ${exclusive ? '>' : '≥'} ${min}, got ${show(text)}`);
  return n;
}

/** A comma-separated list, each item checked by `item` (which throws a UsageError). */
export function listOption<T>(name: string, text: string, item: (part: string) => T): T[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === ''))
    usageError(`--${name} is a comma-separated list without empty items, got ${show(text)}`);
  return parts.map(item);
}

/** One of the choices. */
export function choiceOption<const C extends string>(name: string, text: string | undefined, choices: readonly C[]): C {
  if (text === undefined || !(choices as readonly string[]).includes(text))
    usageError(`--${name} must be one of ${choices.join(', ')}, got ${show(text)}`);
  return text as C;
}

/** A folder that exists (and holds `contains`, when given); `what` says what it should be. */
export function existingFolder(
  name: string,
  dir: string | undefined,
  what: string,
  contains: readonly string[] = [],
): string {
  if (dir === undefined) usageError(`--${name} ${what} is required`);
  if (!fs.existsSync(dir)) usageError(`--${name} ${dir}: no such folder (${what})`);
  if (!fs.statSync(dir).isDirectory()) usageError(`--${name} ${dir} is a file, not a folder (${what})`);
  const missing = contains.filter((c) => !fs.existsSync(path.join(dir, c)));
  if (missing.length) usageError(`--${name} ${dir} has no ${missing.join(', ')} (${what})`);
  return dir;
}

/** A file that exists; `hint` says how to make it. */
export function existingFile(name: string, file: string, hint: string): string {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) usageError(`--${name} ${file}: no such file (${hint})`);
  return file;
}

const show = (text: string | undefined) => (text === undefined ? 'nothing' : JSON.stringify(text));

/** Seconds as m:ss or h:mm:ss; ∞ for what has no end in sight. */
export function clock(s: number): string {
  if (!Number.isFinite(s)) return '∞';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Where a progress line goes: a stream, with the TTY fields Node gives a terminal's. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Shown first: what is in progress. */
  readonly label: string;
  /** Units of work; 1 to give fractions. */
  readonly total: number;
  /** Show "done/total" (off for fractions). Default true. */
  readonly count?: boolean;
  /** Default process.stdout: with the log lines it goes between. */
  readonly stream?: ProgressStream;
  /** Plain lines (not a TTY) come at most this often; default 5000 ms. A log line counts as one. */
  readonly intervalMs?: number;
}

export interface Progress {
  /** Work done so far; `eta` (seconds) when the caller knows better than the rate so far. */
  update(done: number, extra?: { readonly eta?: number; readonly note?: string }): void;
  /** A line that stays (above the bar on a terminal). */
  log(line: string): void;
  /** All done: the bar full, its line ended. */
  finish(note?: string): void;
  /** Stopped before the end (Ctrl-C, a failure): the bar left where it is, its line ended. */
  stop(note: string): void;
}

const BAR = 24;

/**
 * A progress line with a bar and an ETA. On a terminal, one line rewritten in place (at most
 * ten times a second), log lines printed above it; elsewhere (a pipe, a CI log) plain lines, at
 * most one every `intervalMs`, so a log stays readable. ETA from the rate so far unless given.
 */
export function progressLine(options: ProgressOptions): Progress {
  const { label, total, count = true, stream = process.stdout, intervalMs = 5000 } = options;
  const tty = stream.isTTY === true;
  const started = performance.now();
  let done = 0;
  let eta: number | undefined;
  let etaAt = started;
  let note = '';
  // On a terminal the line is redrawn each second between updates, so the ETA counts down
  // through a long step (an epoch) instead of standing still; unref'd, it never holds the exit.
  let ticker: ReturnType<typeof setInterval> | undefined;
  let lastDraw = -Infinity;
  let drawn = false;
  let finished = false;

  const text = (bar: boolean) => {
    const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
    const elapsed = (performance.now() - started) / 1000;
    const seconds =
      eta !== undefined
        ? Math.max(0, eta - (performance.now() - etaAt) / 1000)
        : done > 0
          ? (elapsed * (total - done)) / done
          : Infinity;
    const filled = Math.round(fraction * BAR);
    const parts = [
      label,
      bar ? `[${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}]` : '',
      `${(100 * fraction).toFixed(0).padStart(bar ? 3 : 0)}%`,
      count ? `${done}/${total}` : '',
      fraction >= 1 ? `done in ${clock(elapsed)}` : `ETA ${clock(seconds)}`,
      note,
    ];
    return parts.filter((p) => p !== '').join(' ');
  };
  const draw = () => {
    const line = text(true);
    const width = Math.max(20, (stream.columns || 80) - 1);
    stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    drawn = true;
    lastDraw = performance.now();
  };

  const end = (at: number, last: string | undefined) => {
    if (finished) return;
    if (last !== undefined) note = last;
    done = at;
    finished = true;
    if (ticker) clearInterval(ticker);
    if (tty) {
      draw();
      stream.write('\n');
    } else stream.write(`${text(false)}\n`);
  };

  return {
    update(next, extra = {}) {
      if (finished) return;
      done = next;
      eta = extra.eta;
      etaAt = performance.now();
      if (extra.note !== undefined) note = extra.note;
      const now = performance.now();
      if (tty) {
        if (now - lastDraw >= 100) draw();
        if (!ticker) {
          ticker = setInterval(() => !finished && draw(), 1000);
          ticker.unref?.();
        }
      } else if (now - lastDraw >= intervalMs) {
        stream.write(`${text(false)}\n`);
        lastDraw = now;
      }
    },
    log(line) {
      if (tty) {
        stream.write(`${drawn ? '\r\x1b[2K' : ''}${line}\n`);
        if (drawn && !finished) draw();
      } else {
        stream.write(`${line}\n`);
        lastDraw = performance.now();
      }
    },
    finish(last) {
      end(total, last);
    },
    stop(last) {
      end(done, last);
    },
  };
}
