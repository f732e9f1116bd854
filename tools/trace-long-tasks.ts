/**
 * What the page's main-thread tasks over 50 ms are, from a Chromium performance trace (e.g.
 * `npm run bench:view -- --trace DIR`): per task its length, the trace events directly inside it
 * (a worker message, an animation frame, the compositor's commit…) and the functions the V8 CPU
 * profile sampled in it (self time, and the innermost frame of our own bundles). The long tasks of
 * a trace are the same as the Long Tasks API's (`RunTask` events of the renderer's main thread).
 *
 *   npm run trace:long-tasks -- --trace traces/sample-whole-2w-fills.json
 */
import fs from 'node:fs';
import { integerOption, startCli, usageError } from './cli.js';

const args = startCli({
  name: 'trace:long-tasks',
  command: 'npm run trace:long-tasks',
  synopsis: '--trace FILE [options]',
  description: `
The main-thread tasks over --min ms in a Chromium performance trace (JSON, as bench:view --trace
writes it), each with the trace events inside it and the functions its CPU profile samples name;
then the sums over all long tasks by kind and by function.`,
  options: {
    trace: { type: 'string', value: 'FILE', description: 'a Chromium trace (JSON)' },
    min: { type: 'string', value: 'MS', default: '50', description: 'the task length that counts as long' },
    top: { type: 'string', value: 'N', default: '6', description: 'functions listed per task' },
  },
  examples: ['npm run trace:long-tasks -- --trace traces/sample-whole-2w-fills.json --min 30'],
});
if (!args.trace) usageError('--trace FILE is required');
if (!fs.existsSync(args.trace)) usageError(`no such file: ${args.trace}`);
const minMs = integerOption('min', args.min, 1);
const top = integerOption('top', args.top, 1);

interface TraceEvent {
  name: string;
  cat?: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  id?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- trace events carry any JSON
  args?: Record<string, any>;
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

const raw = JSON.parse(fs.readFileSync(args.trace, 'utf8'));
const events: TraceEvent[] = Array.isArray(raw) ? raw : raw.traceEvents;

// The page's main thread: the renderer main thread with the most timeline events.
const mainThreads = new Set<string>();
for (const e of events) {
  if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
    mainThreads.add(`${e.pid}:${e.tid}`);
}
const busy = new Map<string, number>();
for (const e of events) {
  const k = `${e.pid}:${e.tid}`;
  if (mainThreads.has(k) && e.ph === 'X') busy.set(k, (busy.get(k) ?? 0) + 1);
}
const main = [...busy].sort((a, b) => b[1] - a[1])[0]?.[0];
if (!main) usageError(`${args.trace}: no renderer main thread in the trace`);
const onMain = events
  .filter((e) => `${e.pid}:${e.tid}` === main && e.ph === 'X' && e.dur !== undefined)
  .sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
const t0 = onMain[0]?.ts ?? 0;

// CPU profile samples of the main thread: a `Profile` event names its thread, `ProfileChunk`s carry
// nodes, samples and time deltas (µs).
const profileThread = new Map<string, string>();
const profileStart = new Map<string, number>();
for (const e of events) {
  if (e.name === 'Profile' && e.id !== undefined) {
    profileThread.set(`${e.pid}:${e.id}`, `${e.pid}:${e.tid}`);
    profileStart.set(`${e.pid}:${e.id}`, e.args?.data?.startTime ?? e.ts);
  }
}
const nodes = new Map<string, { frame: CallFrame; parent?: number }>();
const samples: { ts: number; node: string }[] = [];
const clock = new Map<string, number>();
for (const e of events) {
  if (e.name !== 'ProfileChunk' || e.id === undefined) continue;
  const pk = `${e.pid}:${e.id}`;
  if (profileThread.get(pk) !== main) continue;
  const data = e.args?.data ?? {};
  for (const n of data.cpuProfile?.nodes ?? []) nodes.set(`${pk}:${n.id}`, { frame: n.callFrame, parent: n.parent });
  let ts = clock.get(pk) ?? profileStart.get(pk)!;
  const ids: number[] = data.cpuProfile?.samples ?? [];
  const deltas: number[] = data.timeDeltas ?? [];
  ids.forEach((id, k) => {
    ts += deltas[k] ?? 0;
    samples.push({ ts, node: `${pk}:${id}` });
  });
  clock.set(pk, ts);
}
samples.sort((a, b) => a.ts - b.ts);

const label = (f: CallFrame) => {
  const file = (f.url ?? '').replace(/^.*\//, '').replace(/\?.*$/, '');
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
};
/** Our bundles' frames (the demo's, the plugin's), not OpenSeadragon's part of the demo bundle nor V8's. */
const ours = (f: CallFrame) =>
  /\/(demo|index)\.js/.test(f.url ?? '') && !/^\$\.|^(OpenSeadragon|\$)$/.test(f.functionName);

/** A direct child's name, with the detail that says what it was. */
function kind(e: TraceEvent): string {
  const d = e.args?.data ?? {};
  if (e.name === 'FunctionCall') return `FunctionCall ${d.functionName || '(anonymous)'}`;
  if (e.name === 'EventDispatch') return `EventDispatch ${d.type}`;
  if (e.name === 'TimerFire') return 'TimerFire';
  return e.name;
}

/** Events that only wrap a task's work: their children are listed instead. */
const WRAPPERS = new Set(['RunTask', 'ThreadControllerImpl::RunTask', 'BlinkScheduler_PerformMicrotaskCheckpoint']);
/** The events directly inside `outer` (wrappers looked through). */
function childrenOf(outer: TraceEvent): TraceEvent[] {
  const end = outer.ts + outer.dur!;
  const out: TraceEvent[] = [];
  let reach = -1;
  for (const e of onMain) {
    if (e.ts < outer.ts || e.ts > end) continue;
    if (e === outer || WRAPPERS.has(e.name) || e.ts + e.dur! > end) continue;
    if (e.ts >= reach) {
      out.push(e);
      reach = e.ts + e.dur!;
    }
  }
  return out;
}
const byInner = new Map<string, number>();
const long = onMain.filter((e) => e.name === 'RunTask' && e.dur! >= minMs * 1000);
const byKind = new Map<string, number>();
const bySelf = new Map<string, number>();
const byOurs = new Map<string, number>();
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
const ms = (us: number) => (us / 1000).toFixed(0);
let total = 0;
console.log(`${args.trace}: ${long.length} main-thread tasks ≥ ${minMs} ms (times from the trace's first task)`);
for (const task of long) {
  const end = task.ts + task.dur!;
  total += task.dur!;
  // Direct children: the events inside the task not inside an earlier child.
  const children = childrenOf(task);
  const kinds = new Map<string, number>();
  for (const c of children) add(kinds, kind(c), c.dur!);
  // One level further into the longest: a frame's animation callbacks, paint, commit…
  const longest = children.reduce<TraceEvent | undefined>((a, c) => (a && a.dur! >= c.dur! ? a : c), undefined);
  const within = new Map<string, number>();
  for (const c of longest ? childrenOf(longest) : []) add(within, kind(c), c.dur!);
  for (const [k, v] of within) add(byInner, `${longest!.name} > ${k}`, v);
  const main = [...kinds].sort((a, b) => b[1] - a[1])[0];
  add(byKind, main?.[0] ?? '(nothing traced inside)', task.dur!);
  // Samples: self time by leaf function, and by the innermost frame of our code.
  const self = new Map<string, number>();
  const own = new Map<string, number>();
  const inTask = samples.filter((s) => s.ts >= task.ts && s.ts < end);
  inTask.forEach((s, k) => {
    const next = inTask[k + 1]?.ts ?? end;
    const dt = Math.min(next - s.ts, 5000);
    const leaf = nodes.get(s.node);
    if (!leaf || leaf.frame.functionName === '(idle)') return;
    add(self, label(leaf.frame), dt);
    const pk = s.node.slice(0, s.node.lastIndexOf(':'));
    for (
      let n: typeof leaf | undefined = leaf;
      n;
      n = n.parent === undefined ? undefined : nodes.get(`${pk}:${n.parent}`)
    ) {
      if (ours(n.frame)) {
        add(own, label(n.frame), dt);
        break;
      }
    }
  });
  for (const [k, v] of self) add(bySelf, k, v);
  for (const [k, v] of own) add(byOurs, k, v);
  const list = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${k} ${ms(v)}`)
      .join('; ');
  console.log(`\n${ms(task.ts - t0)} ms: ${ms(task.dur!)} ms — ${list(kinds)}`);
  if (within.size) console.log(`  in ${longest!.name}: ${list(within)}`);
  if (self.size) console.log(`  self: ${list(self)}`);
  if (own.size) console.log(`  our innermost frame: ${list(own)}`);
}
const sums = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}:`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 3 * top)) console.log(`  ${ms(v)} ms  ${k}`);
};
console.log(`\nall ${long.length} long tasks: ${ms(total)} ms`);
sums('by the longest event inside each task', byKind);
sums('inside the longest event', byInner);
sums('sampled self time', bySelf);
sums('sampled time by the innermost frame of our code', byOurs);
