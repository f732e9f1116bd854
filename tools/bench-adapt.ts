/**
 * Time of a 5-shot adaptation, the new implementation ('kernels': MSD-engine features into float32
 * rows, WebAssembly SIMD passes, lean: no Hessian for rejected Newton trials, Dice passes over the
 * unsaturated rows) against the one before it ('previous': the same engine with `lean: false`, every
 * pass over every row) and optionally the first ('tfjs': every step on the TF.js backend), in
 * one run, split by phase: feature extraction, standardisation (statistics and the design
 * matrix), logistic regression (Newton), BFGS on soft Dice. For each extractor setting (the first
 * 2 extractors of the bundle, as the evaluation gives each target 2 of 3; and all 3), the engines
 * run interleaved (old, new, old, new, … after one warm-up each), so a change of load on this
 * shared machine hits both; medians (wall clock per phase, and the process's CPU time per run:
 * on a loaded machine the CPU time is the steadier figure), the ratio of the total times, and how far the heads differ
 * (‖W_new − W_old‖/‖W_old‖ on the same support set).
 * Support: 5 patches of 256×256 of the sample data's plasma cells (zoomed to the extractors'
 * 0.25 µm/px), as in test/core/adaptation/adapt.node.test.ts.
 *
 *   npm run bench:adapt                                     # wasm, 2 and 3 extractors, 3 timed runs
 *   npx tsx tools/bench-adapt.ts --backend cpu --runs 5 --shots 10 --class 1 --extractors 3
 *   npx tsx tools/bench-adapt.ts --engines kernels           # the new implementation only
 *   npx tsx tools/bench-adapt.ts --engines tfjs,previous,kernels
 */
import fs from 'node:fs';
import { adapt, type AdaptOptions, type AdaptReport, type AdaptResult } from '../core/adaptation/adapt.js';
import { decodeBundle } from '../core/msd/bundle.js';
import { BACKEND_ORDER, initBackend } from '../core/msd/tf-backend.js';
import {
  choiceOption,
  existingFile,
  existingFolder,
  integerOption,
  listOption,
  numberOption,
  startCli,
} from './cli.js';
import { readLabelledDataset } from './dataset.js';
import { integerZoom, sampleSupportSet } from './support-set.js';

const args = startCli({
  name: 'bench:adapt',
  command: 'npm run bench:adapt',
  synopsis: '[options]',
  description: `
Times a few-shot adaptation with the extractor bundle, split by phase (features, standardise,
logistic regression, BFGS): medians over timed runs after one warm-up, per TF.js backend.`,
  options: {
    backend: { type: 'string', value: 'NAME', default: 'wasm', description: `of ${BACKEND_ORDER.join(', ')}` },
    runs: { type: 'string', value: 'N', default: '3', description: 'timed runs per engine and setting' },
    shots: { type: 'string', value: 'N', default: '5', description: 'support patches' },
    class: { type: 'string', value: 'ID', default: '4', description: 'label id of the class adapted to' },
    extractors: {
      type: 'string',
      value: 'LIST',
      default: '2,3',
      description: "how many of the bundle's extractors, per setting",
    },
    engines: {
      type: 'string',
      value: 'LIST',
      default: 'previous,kernels',
      description: 'kernels (new), previous (kernels, lean: false), tfjs (the first)',
    },
    data: { type: 'string', value: 'DIR', default: '.cache/sample/patches', description: 'labelled dataset folder' },
    'data-mpp': { type: 'string', value: 'X', default: '0.5', description: 'microns per pixel of the dataset' },
    bundle: {
      type: 'string',
      value: 'PATH',
      default: 'models/default/extractors',
      description: 'extractor bundle, without .json/.bin',
    },
  },
  examples: [
    'npm run bench:adapt -- --runs 5 --shots 10 --class 1',
    'npm run bench:adapt -- --engines kernels',
    'npm run bench:adapt -- --engines tfjs,previous,kernels',
  ],
});
const runs = integerOption('runs', args.runs, 1);
const shots = integerOption('shots', args.shots, 1);
const classId = integerOption('class', args.class, 0, 255);
const dataMpp = numberOption('data-mpp', args['data-mpp'], 0, true);
const backendName = choiceOption('backend', args.backend, BACKEND_ORDER);
const engines = listOption('engines', args.engines, (e) =>
  choiceOption('engines', e, ['tfjs', 'previous', 'kernels'] as const),
);
type Variant = (typeof engines)[number];
const OPTIONS: Record<Variant, Partial<AdaptOptions>> = {
  tfjs: { engine: 'tfjs' },
  previous: { engine: 'kernels', lean: false },
  kernels: { engine: 'kernels', lean: true },
};
const settings = listOption('extractors', args.extractors, (n) => integerOption('extractors', n, 1));
existingFolder('data', args.data, 'a labelled dataset folder; `npm run sample` makes the default', ['manifest.csv']);
existingFile('bundle', `${args.bundle}.json`, 'an extractor bundle manifest');
existingFile('bundle', `${args.bundle}.bin`, 'its weights');
const bundle = decodeBundle(
  fs.readFileSync(`${args.bundle}.json`, 'utf8'),
  new Uint8Array(fs.readFileSync(`${args.bundle}.bin`)).buffer,
);
const zoom = integerZoom(dataMpp, bundle.mpp);
const support = sampleSupportSet(readLabelledDataset(args.data, 'train'), [classId], {
  size: 256,
  zoom,
  shots,
  seed: 1,
  minPositive: 200,
});
const backend = await initBackend(backendName);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const relativeDifference = (a: readonly number[], b: readonly number[]) =>
  Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / b.reduce((s, v) => s + v * v, 0));

console.log(
  `${shots}-shot adaptation, ${support.length} × 256×256 patches (class ${args.class}), backend ${backend}; ` +
    `${runs} timed runs per engine after 1 warm-up, interleaved; medians in seconds`,
);
const header = [
  'extractors',
  'engine',
  'features',
  'standardise',
  'logistic',
  'Newton steps',
  'BFGS',
  'BFGS steps',
  'BFGS stop',
  'total',
  'CPU',
  'before/new',
];
const rows: string[][] = [];
const agreement: string[] = [];
for (const count of settings) {
  const classes = bundle.classes.slice(0, count);
  const label = `${classes.map((c) => `${c.name} ${c.weights.layers.length}`).join(' + ')}`;
  const reports = new Map<Variant, AdaptReport[]>(engines.map((e) => [e, []]));
  const cpu = new Map<Variant, number[]>(engines.map((e) => [e, []]));
  const heads = new Map<Variant, AdaptResult>();
  for (let r = 0; r <= runs; r++) {
    for (const engine of engines) {
      const usage = process.cpuUsage();
      const result = await adapt(support, classes, OPTIONS[engine]);
      const used = process.cpuUsage(usage);
      const { report } = result;
      const t = report.timings;
      const b = report.bfgs!;
      console.log(
        `${label}, ${engine} run ${r}${r === 0 ? ' (warm-up)' : ''}: ` +
          `features ${seconds(t.features)} s (${report.engine.features}), standardise ${seconds(t.standardise)} s, ` +
          `logistic ${seconds(t.logistic)} s (${report.logistic.iterations} steps), ` +
          `BFGS ${seconds(t.bfgs)} s (${b.iterations} steps, ${b.passes} passes, ${b.stop}, ` +
          `‖∇‖ ${b.gradientNorm.toExponential(1)}` +
          (b.activeRows
            ? `, ${(100 * b.activeRows.share).toFixed(1)} % of the rows per pass, ${b.activeRows.rebuilds} row choices`
            : '') +
          `); passes on ${report.engine.kernels}; ` +
          `total ${seconds(t.total)} s, CPU ${seconds((used.user + used.system) / 1000)} s`,
      );
      if (r > 0) {
        reports.get(engine)!.push(report);
        cpu.get(engine)!.push((used.user + used.system) / 1000);
      }
      heads.set(engine, result);
    }
  }
  const totals = new Map(engines.map((e) => [e, median(reports.get(e)!.map((r) => r.timings.total))]));
  for (const engine of engines) {
    const list = reports.get(engine)!;
    const m = (pick: (r: AdaptReport) => number) => median(list.map(pick));
    // Against the one before it: previous for kernels, tfjs for previous.
    const before = engine === 'kernels' ? 'previous' : engine === 'previous' ? 'tfjs' : undefined;
    const ratio = before && totals.has(before) ? `${(totals.get(before)! / totals.get(engine)!).toFixed(2)}×` : '';
    rows.push([
      `${count} (C' ${list[0].features})`,
      engine,
      seconds(m((r) => r.timings.features)),
      seconds(m((r) => r.timings.standardise)),
      seconds(m((r) => r.timings.logistic)),
      String(m((r) => r.logistic.iterations)),
      seconds(m((r) => r.timings.bfgs)),
      String(m((r) => r.bfgs!.iterations)),
      [...new Set(list.map((r) => r.bfgs!.stop))].join('/'),
      seconds(totals.get(engine)!),
      seconds(median(cpu.get(engine)!)),
      ratio,
    ]);
  }
  const fresh = heads.get('kernels');
  for (const name of ['previous', 'tfjs'] as const) {
    const old = heads.get(name);
    if (!old || !fresh) continue;
    agreement.push(
      `${label}: kernels against ${name}: ‖W_new − W_old‖/‖W_old‖ = ` +
        `${relativeDifference(fresh.head.W, old.head.W).toExponential(2)} ` +
        `(logistic head ${relativeDifference(fresh.logisticHead.W, old.logisticHead.W).toExponential(2)}); ` +
        `b ${fresh.head.b.toFixed(5)} vs ${old.head.b.toFixed(5)}`,
    );
  }
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padStart(widths[i])).join(' | ')} |`;
console.log(
  ['', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), '', ...agreement].join(
    '\n',
  ),
);
