/**
 * Time of a 5-shot adaptation with the default extractors, split by phase: feature extraction,
 * standardisation (statistics and the design matrix), logistic regression (Newton), BFGS on
 * soft Dice. Medians over timed runs after one warm-up, on every TF.js backend Node offers.
 * Support: 5 patches of 256×256 of the sample data's plasma cells (zoomed to the extractors'
 * 0.25 µm/px), as in test/core/adaptation/adapt.node.test.ts.
 *
 *   npx tsx tools/bench-adapt.ts                       # wasm and cpu, 3 timed runs each
 *   npx tsx tools/bench-adapt.ts --backends wasm --runs 5 --shots 10 --class 1
 */
import fs from 'node:fs';
import { adapt, type AdaptReport } from '../core/adaptation/adapt.js';
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
    backends: { type: 'string', value: 'LIST', default: 'wasm,cpu', description: `of ${BACKEND_ORDER.join(', ')}` },
    runs: { type: 'string', value: 'N', default: '3', description: 'timed runs per backend' },
    shots: { type: 'string', value: 'N', default: '5', description: 'support patches' },
    class: { type: 'string', value: 'ID', default: '4', description: 'label id of the class adapted to' },
    data: { type: 'string', value: 'DIR', default: '.cache/sample/patches', description: 'labelled dataset folder' },
    'data-mpp': { type: 'string', value: 'X', default: '0.5', description: 'microns per pixel of the dataset' },
    bundle: {
      type: 'string',
      value: 'PATH',
      default: 'models/default/extractors',
      description: 'extractor bundle, without .json/.bin',
    },
  },
  examples: ['npm run bench:adapt -- --backends wasm --runs 5 --shots 10 --class 1'],
});
const runs = integerOption('runs', args.runs, 1);
const shots = integerOption('shots', args.shots, 1);
const classId = integerOption('class', args.class, 0, 255);
const dataMpp = numberOption('data-mpp', args['data-mpp'], 0, true);
const backends = listOption('backends', args.backends, (b) => choiceOption('backends', b, BACKEND_ORDER));
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
const features = bundle.classes.reduce((s, c) => s + c.weights.layers.length, 0);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (ms: number) => (ms / 1000).toFixed(2);

console.log(
  `${shots}-shot adaptation, ${support.length} × 256×256 patches, ` +
    `extractors ${bundle.classes.map((c) => `${c.name} (${c.weights.layers.length})`).join(', ')}: C' = ${features}; ` +
    `${runs} timed runs after 1 warm-up; medians in seconds`,
);
const header = [
  'backend',
  'features',
  'standardise',
  'logistic',
  'Newton steps',
  'BFGS',
  'BFGS steps',
  'BFGS stop',
  'total',
];
const rows: string[][] = [];
for (const backend of backends) {
  try {
    await initBackend(backend);
  } catch (err) {
    console.log(`${backend}: ${(err as Error).message}`);
    continue;
  }
  const reports: AdaptReport[] = [];
  for (let r = 0; r <= runs; r++) {
    const { report } = await adapt(support, bundle);
    const t = report.timings;
    console.log(
      `${backend} run ${r}${r === 0 ? ' (warm-up)' : ''}: features ${seconds(t.features)} s, ` +
        `standardise ${seconds(t.standardise)} s, logistic ${seconds(t.logistic)} s ` +
        `(${report.logistic.iterations} steps), ` +
        `BFGS ${seconds(t.bfgs)} s (${report.bfgs!.iterations} steps, ${report.bfgs!.passes} passes, ` +
        `${report.bfgs!.stop}, ‖∇‖ ${report.bfgs!.gradientNorm.toExponential(1)})`,
    );
    if (r > 0) reports.push(report);
  }
  const m = (pick: (r: AdaptReport) => number) => median(reports.map(pick));
  const stops = [...new Set(reports.map((r) => r.bfgs!.stop))].join('/');
  rows.push([
    backend,
    seconds(m((r) => r.timings.features)),
    seconds(m((r) => r.timings.standardise)),
    seconds(m((r) => r.timings.logistic)),
    String(m((r) => r.logistic.iterations)),
    seconds(m((r) => r.timings.bfgs)),
    String(m((r) => r.bfgs!.iterations)),
    stops,
    seconds(m((r) => r.timings.total)),
  ]);
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padStart(widths[i])).join(' | ')} |`;
console.log(['', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
