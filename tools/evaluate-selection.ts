// The next patch to annotate, measured by simulation (issue 14, item 4); `npm run
// evaluate:selection -- --help` lists the options. Per target class and draw: one random window
// that shows the class, then up to K windows chosen 'random' (the evaluation's draws) or
// 'active' (the product's proposal, core/active/rank-windows.ts), each pre-filled by the head
// so far and corrected by the simulated user to the ground truth (core/active/selection-simulation.ts);
// every round's head scored on the test images. The extractors are a given bundle's (default
// models/default, trained on CoNSeP's training split), less the target's own: nothing is trained,
// and their features of each image are computed once and reused by every round and draw.
import fs from 'node:fs';
import path from 'node:path';
import { buildCandidatePool, type PoolImage } from '../core/active/candidate-pool.js';
import { headCountsOnImages } from '../core/active/head-counts.js';
import { SELECTIONS, simulateSelection, type SimulationRound } from '../core/active/selection-simulation.js';
import { readBundle, type ExtractorClass } from '../core/msd/bundle.js';
import { initBackend } from '../core/msd/tf-backend.js';
import {
  choiceOption,
  clock,
  existingFolder,
  integerOption,
  listOption,
  numberOption,
  progressLine,
  startCli,
  usageError,
} from './cli.js';
import { parseClassSelection, readLabelledDataset, type ClassSelection, type LabelledImage } from './dataset.js';
import { dicePlot } from './dice-plot.js';
import { dice } from './evaluation-summary.js';
import {
  effortSummary,
  effortTable,
  selectionResults,
  roundSeconds,
  selectionTable,
  type RoundRecord,
  type SelectionRun,
} from './selection-summary.js';

const args = startCli({
  name: 'evaluate:selection',
  command: 'npm run evaluate:selection',
  synopsis: '[--data DIR] [--target NAME=ID[,ID…] …] [--selection random,active] [options]',
  description: `
Which window to annotate next, by simulation: per target class and draw, one random window that
shows the class, then up to K windows picked at random or by the product's ranking (uncertainty
where the class is likely × diversity in feature space), each pre-filled by the head so far and
corrected to the ground truth; Dice of every round's head on the test images, and the pixels the
simulated user changes against painting from scratch. Uses a given bundle's extractors (less the
target's own); writes <out>.json and <out>.svg.`,
  options: {
    data: { type: 'string', value: 'DIR', default: '../shared/data/consep', description: 'labelled dataset folder' },
    target: {
      type: 'string',
      multiple: true,
      value: 'NAME=ID[,ID…]',
      description: 'a target class, ids merged (on consep, default inflammatory=2)',
    },
    extractors: {
      type: 'string',
      value: 'DIR',
      default: 'models/default',
      description: 'bundle folder (extractors.json, extractors.bin); the target’s own extractor is left out',
    },
    selection: { type: 'string', value: 'LIST', default: 'random,active', description: 'random, active or both' },
    shots: { type: 'string', value: 'K', default: '10', description: 'windows at the end of each run' },
    draws: { type: 'string', value: 'N', default: '3', description: 'runs (first windows) per target' },
    'min-positive': { type: 'string', value: 'N', default: '200', description: 'class pixels a window needs' },
    stride: { type: 'string', value: 'N', default: '64', description: 'candidate window stride' },
    step: { type: 'string', value: 'N', default: '4', description: 'feature sampling step for the ranking' },
    mpp: { type: 'string', value: 'X', default: '0.25', description: 'microns per pixel of the dataset' },
    out: {
      type: 'string',
      value: 'PATH',
      description: 'results, without .json/.svg (default evaluation/<dataset>-selection)',
    },
  },
  examples: [
    'npm run evaluate:selection -- --data ../shared/data/consep --target inflammatory=2 --draws 3',
    'npm run evaluate:selection -- --data .cache/sample/patches --target lymphocyte=2 --shots 3 --draws 1',
  ],
});

const WINDOW = 256;
const THRESHOLD = 0.5;
const LAMBDA = 1e-4;
const shots = integerOption('shots', args.shots, 1);
const draws = integerOption('draws', args.draws, 1);
const minPositive = integerOption('min-positive', args['min-positive'], 1);
const stride = integerOption('stride', args.stride, 1);
const step = integerOption('step', args.step, 1);
const mpp = numberOption('mpp', args.mpp, 0, true);
const selections = listOption('selection', args.selection, (s) => choiceOption('selection', s, SELECTIONS));
const data = path.resolve(
  existingFolder('data', args.data, 'a labelled dataset folder (skipped: none here)', ['manifest.csv', 'images']),
);
const bundleDir = existingFolder('extractors', args.extractors, 'an extractor bundle folder', [
  'extractors.json',
  'extractors.bin',
]);
const datasetName = path.basename(data);
const targetTexts = args.target ?? (datasetName === 'consep' ? ['inflammatory=2'] : undefined);
if (!targetTexts) usageError('give --target name=id[,id…]');
const targets: ClassSelection[] = targetTexts.map((text) => {
  try {
    return parseClassSelection(text);
  } catch (err) {
    return usageError(`--target: ${(err as Error).message}`);
  }
});
const out = args.out ?? path.join('evaluation', `${datasetName}-selection`);

const bundle = await readBundle(
  fs.readFileSync(path.join(bundleDir, 'extractors.json'), 'utf8'),
  new Uint8Array(fs.readFileSync(path.join(bundleDir, 'extractors.bin'))).buffer,
);
if (Math.abs(bundle.mpp - mpp) > 1e-6)
  usageError(`the extractors are at ${bundle.mpp} µm/px and the data at ${mpp}: give data at the extractors' scale`);
// adapt()'s support features run on the MSD engine under the wasm or cpu backend.
await initBackend('wasm');

const started = performance.now();
const elapsed = () => clock((performance.now() - started) / 1000);
const pool = (images: readonly LabelledImage[], t: ClassSelection): PoolImage[] => {
  const isClass = new Uint8Array(256);
  for (const id of t.ids) isClass[id] = 1;
  return images.map((im) => ({ ...im, truth: Uint8Array.from(im.labels, (l) => isClass[l]) }));
};
const train = readLabelledDataset(data, 'train');
const test = readLabelledDataset(data, 'test');
if (test.length === 0) usageError(`--data ${args.data} has no test images`);
console.log(
  `${datasetName}: ${train.length} training and ${test.length} test images; targets ` +
    `${targets.map((t) => t.name).join(', ')}; ${selections.join(' and ')} selection up to K = ${shots}, ` +
    `${draws} draws; extractors from ${bundleDir} (${bundle.classes.map((c) => c.name).join(', ')})`,
);

/** The table, the plot and the record of every run so far (written after each target, so a long run leaves results). */
function report(done: readonly ClassSelection[]): void {
  const shotList = Array.from({ length: shots }, (_, k) => k + 1);
  const classes = selectionResults(
    runs,
    done.map((t) => t.name),
    shotList,
  );
  const table = selectionTable(classes, shotList);
  const effort = effortSummary(runs);
  const efforts = effortTable(effort);
  console.log(`\nDice (%) on ${test.length} test images, median [quartiles] over ${draws} draws:\n${table}`);
  console.log(`\nAnnotation effort over rounds 2…${shots}, median [quartiles] over draws:\n${efforts}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    `${out}.svg`,
    dicePlot(classes, shotList, `${datasetName}: Dice vs windows annotated (median and quartiles of ${draws} draws)`, [
      { key: 'random', label: 'random windows', color: '#1f77b4', dx: -3 },
      { key: 'active', label: 'proposed windows (active)', color: '#d62728', dx: 3 },
    ]),
  );
  fs.writeFileSync(
    `${out}.json`,
    JSON.stringify(
      {
        protocol: {
          dataset: datasetName,
          targets,
          extractors: { bundle: bundleDir, classes: bundle.classes.map((c) => c.name) },
          window: WINDOW,
          stride,
          step,
          minPositive,
          threshold: THRESHOLD,
          lambda: LAMBDA,
          shots,
          draws,
          selections,
          dice: 'BFGS head, pooled over all pixels of the test images',
          effort: 'rounds 2…K: pixels changed after the pre-fill vs class pixels painted from scratch',
        },
        table,
        effortTable: efforts,
        effort,
        timings,
        roundSeconds: roundSeconds(runs),
        runs,
        finished: new Date().toISOString(),
      },
      null,
      1,
    ) + '\n',
  );
  console.log(`wrote ${out}.json and ${out}.svg (${done.length} of ${targets.length} targets) at ${elapsed()}`);
}

const runs: SelectionRun[] = [];
const timings: Record<string, number> = {};
for (const [ti, target] of targets.entries()) {
  const extractors: ExtractorClass[] = bundle.classes.filter((c) => c.name !== target.name);
  if (extractors.length === bundle.classes.length)
    console.log(`${target.name}: the bundle has no extractor of that name; all ${extractors.length} are used`);
  const weights = extractors.map((e) => e.weights);
  const images = pool(train, target);
  const t0 = performance.now();
  const poolProgress = progressLine({ label: `${target.name}: features of the training images`, total: images.length });
  const candidates = buildCandidatePool(images, weights, {
    edge: WINDOW,
    stride,
    step,
    minPositive,
    onImage: (done) => poolProgress.update(done),
  });
  poolProgress.finish();
  timings[`${target.name} pool seconds`] = (performance.now() - t0) / 1000;
  console.log(
    `[${elapsed()}] ${target.name}: ${candidates.windows.length} candidate windows, ` +
      `${candidates.classWindows.length} show the class (≥ ${minPositive} pixels); features with ` +
      `${extractors.map((e) => e.name).join(' + ')} (${candidates.channels})`,
  );
  const heads: SimulationRound['head'][] = [];
  const pending: { run: number; round: number }[] = [];
  for (let draw = 0; draw < draws; draw++) {
    for (const selection of selections) {
      const seed = 1 + ti * 1_000_003 + draw * 101;
      const rounds = await simulateSelection({
        pool: candidates,
        images,
        extractors,
        selection,
        shots,
        seed,
        threshold: THRESHOLD,
        lambda: LAMBDA,
        onRound: (r) =>
          console.log(
            `[${elapsed()}] ${target.name} draw ${draw} ${selection} K=${r.shots}: ${train[r.window.group].name} ` +
              `(${r.window.x}, ${r.window.y}), ${r.classPixels} class pixels, ` +
              `${r.changedPixels ?? '–'} changed after pre-fill, ${r.skipped} skipped; ` +
              `select ${r.seconds.select.toFixed(1)} s, pre-fill ${r.seconds.prefill.toFixed(1)} s, ` +
              `adapt ${r.seconds.adapt.toFixed(1)} s`,
          ),
      });
      rounds.forEach((r, k) => {
        heads.push(r.head);
        pending.push({ run: runs.length, round: k });
      });
      runs.push({
        target: target.name,
        selection,
        draw,
        rounds: rounds.map((r) => ({
          shots: r.shots,
          window: { image: train[r.window.group].name, x: r.window.x, y: r.window.y },
          classPixels: r.classPixels,
          changedPixels: r.changedPixels ?? null,
          skipped: r.skipped,
          seconds: r.seconds,
          dice: null,
        })),
      });
    }
  }
  const t1 = performance.now();
  const testProgress = progressLine({
    label: `${target.name}: ${heads.length} heads on the test images`,
    total: test.length,
  });
  const counts = headCountsOnImages(pool(test, target), weights, heads, {
    onImage: (done) => testProgress.update(done),
  });
  testProgress.finish();
  timings[`${target.name} test seconds`] = (performance.now() - t1) / 1000;
  pending.forEach(({ run, round }, h) => {
    const rounds = runs[run].rounds as RoundRecord[];
    rounds[round] = { ...rounds[round], dice: dice(counts[h]) };
  });
  report(targets.slice(0, ti + 1));
}

console.log(`done in ${elapsed()}`);
