// Trains MSD feature extractors, one per class, on a labelled dataset folder. Usage:
//   npx tsx tools/train.ts --data DIR --class inflammatory=2 [--class epithelial=3,4 …]
//     [--depth 25] [--out models/consep] [--checkpoints .cache/train/consep] [--patience 10]
//     [--max-epochs 200] [--max-minutes M] [--crop 128] [--batch 8] [--crops-per-epoch 512]
//     [--seed 1] [--lr 0.001] [--positive-fraction 0.8] [--no-augment] [--threads N] [--mpp 0.25]
// Writes <out>/extractors.json + extractors.bin (an extractor bundle, models/FORMAT.md) after each
// class, holding the classes finished so far. Rerunning the same command resumes every class
// from its last finished epoch; a class that has already stopped costs only its data loading.
import path from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { maskClass, parseClassSelection, readLabelledDataset } from './dataset.js';
import fs from 'node:fs';
import { encodeBundle, type ExtractorClass } from '../core/msd/bundle.js';
import { clock, trainExtractor } from './train-extractor.js';
import { TRAIN_DEFAULTS } from '../core/training/trainer.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    class: { type: 'string', multiple: true },
    depth: { type: 'string', default: String(TRAIN_DEFAULTS.depth) },
    out: { type: 'string', default: 'models/trained' },
    checkpoints: { type: 'string' },
    patience: { type: 'string', default: String(TRAIN_DEFAULTS.patience) },
    'max-epochs': { type: 'string', default: String(TRAIN_DEFAULTS.maxEpochs) },
    'max-minutes': { type: 'string' },
    crop: { type: 'string', default: String(TRAIN_DEFAULTS.crop) },
    batch: { type: 'string', default: String(TRAIN_DEFAULTS.batch) },
    'crops-per-epoch': { type: 'string', default: String(TRAIN_DEFAULTS.cropsPerEpoch) },
    seed: { type: 'string', default: String(TRAIN_DEFAULTS.seed) },
    lr: { type: 'string', default: String(TRAIN_DEFAULTS.learningRate) },
    'positive-fraction': { type: 'string', default: String(TRAIN_DEFAULTS.positiveFraction) },
    'no-augment': { type: 'boolean', default: false },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    // CoNSeP's scale; the bundle tells readers to feed inputs at this resolution.
    mpp: { type: 'string', default: '0.25' },
  },
});

/**
 * What the bundle records as the dataset: the folder's path relative to the working directory
 * when it lies within its parent (`../shared/data/consep`, `.cache/sample/patches`), else its
 * name. Never an absolute path: the bundle ships, and a path of the training machine means
 * nothing elsewhere (and tells what it should not).
 */
function datasetName(folder: string): string {
  const relative = path.relative(process.cwd(), path.resolve(folder)).split(path.sep).join('/');
  return relative && !relative.startsWith('../..') && !path.isAbsolute(relative)
    ? relative
    : path.basename(path.resolve(folder));
}

function number(name: string, text: string | undefined, min: number, integer = true): number {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${text}`);
  return n;
}

if (!values.data) throw new Error('--data DIR is required (a folder with images/, labels/, manifest.csv)');
if (!values.class?.length)
  throw new Error('at least one --class name=id[,id…] is required, e.g. --class inflammatory=2');
const classes = values.class.map(parseClassSelection);
const depth = number('depth', values.depth, 1);
const checkpoints = values.checkpoints ?? path.join('.cache/train', path.basename(path.resolve(values.out)));
const maxMinutes =
  values['max-minutes'] === undefined ? Infinity : number('max-minutes', values['max-minutes'], 0, false);
const threads = number('threads', values.threads, 1);
const mpp = number('mpp', values.mpp, 0, false);

const controller = new AbortController();
process.once('SIGINT', () => {
  console.log('\ninterrupted: stopping after this step; rerun the same command to resume from the last finished epoch');
  controller.abort(new Error('interrupted'));
});

const t0 = performance.now();
const all = readLabelledDataset(values.data, 'train');
console.log(
  `${all.length} training images from ${values.data} in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
    `${threads} thread(s)`,
);

const trained: ExtractorClass[] = [];
const training: Record<string, unknown> = {};

for (const selection of classes) {
  const images = maskClass(all, selection);
  const share =
    images.reduce((s, im) => s + im.mask.reduce((a, b) => a + b, 0), 0) /
    images.reduce((s, im) => s + im.mask.length, 0);
  console.log(
    `\n${selection.name} (labels ${selection.ids.join('+')}): ${(100 * share).toFixed(2)}% of pixels; ` +
      `depth ${depth}, crops ${values.crop}², batch ${values.batch}, ${values['crops-per-epoch']} crops per epoch`,
  );
  const started = performance.now();
  const result = await trainExtractor(all, selection, {
    depth,
    crop: number('crop', values.crop, 8),
    batch: number('batch', values.batch, 1),
    cropsPerEpoch: number('crops-per-epoch', values['crops-per-epoch'], 1),
    patience: number('patience', values.patience, 1),
    maxEpochs: number('max-epochs', values['max-epochs'], 0),
    maxSeconds: maxMinutes * 60,
    seed: number('seed', values.seed, 0),
    learningRate: number('lr', values.lr, 0, false),
    positiveFraction: number('positive-fraction', values['positive-fraction'], 0, false),
    augment: !values['no-augment'],
    threads,
    checkpoints: path.join(checkpoints, selection.name),
    signal: controller.signal,
  }).catch((e: unknown) => {
    if (!controller.signal.aborted) throw e;
    console.log(`${selection.name}: stopped; checkpoints are in ${path.join(checkpoints, selection.name)}`);
    process.exit(130);
  });
  const h0 = result.history[0];
  console.log(
    `${selection.name}: ${result.stopReason} after ${result.epochs} epochs; ` +
      `best val Dice ${result.bestValDice.toFixed(4)} at epoch ${result.bestEpoch} ` +
      `(untrained ${h0.valDice.toFixed(4)}); ` +
      `this run ${clock((performance.now() - started) / 1000)}; ` +
      `validation images ${result.split.validation.join(', ')}`,
  );
  trained.push({ name: selection.name, weights: result.weights });
  training[selection.name] = {
    labels: selection.ids,
    dataset: datasetName(values.data),
    depth,
    crop: Number(values.crop),
    batch: Number(values.batch),
    cropsPerEpoch: Number(values['crops-per-epoch']),
    seed: Number(values.seed),
    bestEpoch: result.bestEpoch,
    bestValDice: result.bestValDice,
    epochs: result.epochs,
    stopReason: result.stopReason,
    trainingSeconds: Math.round(result.history.reduce((t, r) => t + r.seconds, 0)),
    split: result.split,
    valDiceByEpoch: result.history.map((r) => Number(r.valDice.toFixed(4))),
  };
  const { manifest, weights } = encodeBundle({ classes: trained, mpp, metadata: { classes: training } });
  fs.mkdirSync(values.out, { recursive: true });
  fs.writeFileSync(path.join(values.out, manifest.weightsFile), new Uint8Array(weights));
  fs.writeFileSync(path.join(values.out, 'extractors.json'), JSON.stringify(manifest, null, 1) + '\n');
  console.log(
    `wrote ${path.join(values.out, 'extractors.json')} and ${manifest.weightsFile} ` +
      `(${trained.map((c) => c.name).join(', ')}; ${mpp} µm/px)`,
  );
}
