// The paper's evaluation protocol on a labelled dataset folder (docs/ARCHITECTURE.md#published-figures);
// `npm run evaluate -- --help` lists the options.
// For each target class: extractors trained on the *other* targets (one instance per seed,
// trained here with the training command's machinery and cached), support sets of K windows
// (256×256, stride 64) drawn from training images holding the class, a head fitted by logistic
// regression and refined by BFGS, Dice of both on the test images (pooled over all test pixels),
// and the target's own extractor as the upper bound. Prints the table, writes <out>.json and
// <out>.svg (<out>-patches.* with --tiling patches). Interrupt with Ctrl-C and rerun the same
// command to resume; raising --draws or --instances later only does the new work.
// --tiling is the product's (docs/ARCHITECTURE.md#prediction): 'whole' (default) predicts each
// test image with one forward over all of it; 'patches', the paper's protocol, averages the
// probabilities of the 256×256, stride-64 patches covering each pixel, each patch a forward of
// its own (mirror padding at its borders). Both tilings share the extractors and heads of one
// cache; a second tiling only scores.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adapt } from '../core/adaptation/adapt.js';
import { readBundle, writeBundle, type ExtractorBundle, type ExtractorClass } from '../core/msd/bundle.js';
import { STAIN_METHODS, type StainStats } from '../core/stain/stain-stats.js';
import { serializeHead, type HeadJson } from '../core/adaptation/head.js';
import { createMsd, type MsdNetwork } from '../core/msd/tf-network.js';
import { BACKEND_ORDER, initBackend } from '../core/msd/tf-backend.js';
import { patchesCovering } from '../core/inference/patch-grid.js';
import { cropRgb } from '../core/inference/predict-tile.js';
import { TILINGS } from '../core/inference/tiling.js';
import {
  choiceOption,
  existingFolder,
  integerOption,
  listOption,
  numberOption,
  progressLine,
  startCli,
  usageError,
  type Progress,
  type ProgressOptions,
} from './cli.js';
import { parseClassSelection, readLabelledDataset, type ClassSelection, type LabelledImage } from './dataset.js';
import { dicePlot } from './dice-plot.js';
import { normaliseImages, parseZoom, datasetStainOf } from './evaluation-images.js';
import { scaleImage } from './scaled-image.js';
import {
  adaptationKey,
  countsKey,
  loadState,
  lockState,
  saveState,
  type Adaptation,
  type EvaluationState,
  type HeadCounts,
  type Protocol,
} from './evaluation-state.js';
import {
  dice,
  perImageMeanDice,
  quartiles,
  resultTable,
  type ClassResult,
  type DiceCounts,
} from './evaluation-summary.js';
import { PatchAverageCounter } from './patch-counts.js';
import { classWindows, drawSupportSet } from './support-set.js';
import { clock, trainExtractor } from './train-extractor.js';

const CONSEP_TARGETS = ['inflammatory=2', 'epithelial=3,4', 'spindle=5,6,7'];

const args = startCli({
  name: 'evaluate',
  command: 'npm run evaluate',
  synopsis: '[--data DIR] [--target NAME=ID[,ID…] --target …] [options]',
  description: `
The paper's evaluation protocol on a labelled dataset folder: per target class, extractors of the
other targets (one instance per seed, trained and cached), support sets of K windows (256×256,
stride 64) drawn from training images holding the class, a head by logistic regression refined by
BFGS, Dice on the test images, the target's own extractor as the upper bound. Prints the table,
writes <out>.json and <out>.svg (<out>-patches.* with --tiling patches). Ctrl-C and rerun the
same command to resume; raising --draws or --instances later only does the new work.`,
  options: {
    data: { type: 'string', value: 'DIR', default: '../shared/data/consep', description: 'labelled dataset folder' },
    target: {
      type: 'string',
      multiple: true,
      value: 'NAME=ID[,ID…]',
      description: "a target class, ids merged; two or more (on consep, default CoNSeP's three)",
    },
    shots: { type: 'string', value: 'LIST', default: '1,5,10', description: 'support-set sizes' },
    draws: { type: 'string', value: 'N', default: '10', description: 'support sets drawn per size' },
    instances: { type: 'string', value: 'N', default: '5', description: 'extractor instances (seeds)' },
    depth: { type: 'string', value: 'N', default: '25', description: 'extractor depth (MSD layers)' },
    'min-positive': { type: 'string', value: 'N', default: '200', description: 'class pixels a window needs' },
    // 256 at 0.25 µm/px; 128 with --min-positive 50 gives 0.5 µm/px extractors the same tissue per shot.
    window: { type: 'string', value: 'N', default: '256', description: 'support window side (stride a quarter of it)' },
    'max-epochs': { type: 'string', value: 'N', description: 'cap on extractor training epochs' },
    out: { type: 'string', value: 'PATH', description: 'results, without .json/.svg (default evaluation/<dataset>)' },
    cache: {
      type: 'string',
      value: 'DIR',
      description: 'state and extractors (default .cache/evaluate/<dataset>-d<depth>)',
    },
    backend: {
      type: 'string',
      value: 'NAME',
      default: 'wasm',
      description: `TF.js backend: ${BACKEND_ORDER.join(', ')}`,
    },
    threads: {
      type: 'string',
      value: 'N',
      default: String(os.availableParallelism()),
      description: 'training threads',
    },
    // The dataset's scale, recorded in the extractor bundles written beside the state.
    mpp: { type: 'string', value: 'X', default: '0.25', description: 'microns per pixel of the dataset' },
    tiling: {
      type: 'string',
      value: TILINGS.join('|'),
      default: 'whole',
      description: "test images predicted whole, or in the paper's 256² stride-64 patches",
    },
    extractors: {
      type: 'string',
      value: 'BUNDLE',
      description: "a bundle's extractors (folder or manifest) as every target's, instead of training (one instance)",
    },
    stain: {
      type: 'string',
      value: STAIN_METHODS.join('|'),
      default: 'none',
      description: "images brought to the extractors' training stain first, each by its own statistics",
    },
    test: { type: 'string', value: 'LIST', description: 'test image names, for a folder without a train/test split' },
    train: { type: 'string', value: 'LIST', description: 'with --test: the support images (default: all others)' },
    zoom: {
      type: 'string',
      multiple: true,
      value: 'NAME[,NAME…]=F',
      description: "images scaled F times to the extractors' scale (e.g. 20× images =2 for 0.25 µm/px; * all)",
    },
  },
  examples: [
    'npm run evaluate -- --data ../shared/data/consep --draws 10 --instances 5',
    'npm run evaluate -- --data ../shared/data/consep --tiling patches',
    'npm run evaluate -- --data .cache/sample/patches --target epithelial=1 --target lymphocyte=2 --target plasma=4',
    'npm run evaluate -- --data ../shared/data/miccai2015-nuclei --target nuclei=1 --extractors models/default ' +
      '--stain reinhard --test image05,image06,image07,image12,image13,image14,image15 ' +
      '--zoom image01,image02,image03,image04,image05,image06,image07=2',
  ],
});

// Every input checked before any work, so a typo costs a line, not a run.
const shotList = listOption('shots', args.shots, (s) => integerOption('shots', s, 1));
const draws = integerOption('draws', args.draws, 1);
// A given bundle is one instance: nothing here is trained.
const instances = args.extractors === undefined ? integerOption('instances', args.instances, 1) : 1;
const threads = integerOption('threads', args.threads, 1);
const maxEpochs = args['max-epochs'] === undefined ? undefined : integerOption('max-epochs', args['max-epochs'], 1);
const depth = integerOption('depth', args.depth, 1);
const minPositive = integerOption('min-positive', args['min-positive'], 1);
const WINDOW = integerOption('window', args.window, 4);
if (WINDOW % 4 !== 0) usageError(`--window: a multiple of 4 (the stride is a quarter of it), got ${WINDOW}`);
const backend = choiceOption('backend', args.backend, BACKEND_ORDER);
const mpp = numberOption('mpp', args.mpp, 0, true);
const tiling = choiceOption('tiling', args.tiling, TILINGS);
const stain = choiceOption('stain', args.stain, STAIN_METHODS);
const zooms = (args.zoom ?? []).map((text) => {
  try {
    return parseZoom(text);
  } catch (err) {
    return usageError(`--zoom: ${(err as Error).message}`);
  }
});
const testNames = args.test === undefined ? undefined : listOption('test', args.test, (s) => s);
const trainNames = args.train === undefined ? undefined : listOption('train', args.train, (s) => s);
if (trainNames && !testNames) usageError('--train needs --test (the other images are the support images)');
/** --extractors: the bundle's manifest file, its weights beside it. */
const bundleManifest =
  args.extractors === undefined
    ? undefined
    : fs.existsSync(args.extractors) && fs.statSync(args.extractors).isDirectory()
      ? path.join(args.extractors, 'extractors.json')
      : args.extractors;
if (bundleManifest !== undefined && !fs.existsSync(bundleManifest))
  usageError(`--extractors ${args.extractors}: no bundle manifest there`);
const data = path.resolve(
  existingFolder('data', args.data, 'a labelled dataset folder; `npm run sample` makes .cache/sample/patches', [
    'manifest.csv',
    'images',
    'labels',
  ]),
);
const datasetName = path.basename(data);
const targetTexts = args.target ?? (datasetName === 'consep' ? CONSEP_TARGETS : undefined);
if (!targetTexts || targetTexts.length < (bundleManifest ? 1 : 2))
  usageError(
    bundleManifest
      ? 'give at least one --target name=id[,id…]'
      : 'give at least two --target name=id[,id…] (each target is evaluated with the extractors of the others)',
  );
const targets: ClassSelection[] = targetTexts.map((text) => {
  try {
    return parseClassSelection(text);
  } catch (err) {
    return usageError(`--target: ${(err as Error).message}`);
  }
});
// Whole keeps the plain name (its results are the ones the README has always shown).
const bundleName = bundleManifest && path.basename(path.dirname(path.resolve(bundleManifest)));
const variant = (bundleName ? `-${bundleName}` : '') + (stain === 'none' ? '' : `-stain-${stain}`);
const out = (args.out ?? path.join('evaluation', datasetName + variant)) + (tiling === 'whole' ? '' : `-${tiling}`);
const cache =
  args.cache ?? path.join('.cache/evaluate', `${datasetName}${bundleName ? variant : `-d${args.depth}${variant}`}`);
const THRESHOLD = 0.5;
const protocol: Protocol = {
  dataset: datasetName,
  targets: targets.map((t) => ({ name: t.name, ids: [...t.ids] })),
  depth,
  window: WINDOW,
  stride: WINDOW / 4,
  minPositive,
  threshold: THRESHOLD,
  lambda: 1e-4,
  // Only when set, so that states made before these options existed still load.
  ...(bundleManifest ? { extractors: bundleManifest } : {}),
  ...(stain === 'none' ? {} : { stain }),
  ...(testNames ? { test: testNames } : {}),
  ...(trainNames ? { train: trainNames } : {}),
  ...(zooms.length ? { zoom: zooms } : {}),
};
const stateFile = path.join(cache, 'state.json');
lockState(stateFile);
const state: EvaluationState = loadState(stateFile, protocol);

const controller = new AbortController();
process.once('SIGINT', () => {
  console.log('\ninterrupted: finishing the current step; rerun the same command to resume');
  controller.abort(new Error('interrupted'));
});
const started = performance.now();
const elapsed = () => clock((performance.now() - started) / 1000);

const given: ExtractorBundle | undefined = bundleManifest ? await readBundleFile(bundleManifest) : undefined;
const zoomOf = (name: string) => zooms.find((z) => z.names.includes(name) || z.names.includes('*'))?.zoom ?? 1;
const prepared = await Promise.all(
  (testNames
    ? readLabelledDataset(data).filter(
        (im) => !trainNames || trainNames.includes(im.name) || testNames.includes(im.name),
      )
    : readLabelledDataset(data, 'train').concat(readLabelledDataset(data, 'test'))
  ).map((im) => scaleImage(im, zoomOf(im.name))),
);
const isTest = (im: LabelledImage) => (testNames ? testNames.includes(im.name) : im.split === 'test');
for (const [option, names] of [
  ['test', testNames],
  ['train', trainNames],
] as const) {
  const unknown = names?.filter((n) => !prepared.some((im) => im.name === n)) ?? [];
  if (unknown.length) usageError(`--${option}: ${args.data} has no image ${unknown.join(', ')}`);
}
let train = prepared.filter((im) => !isTest(im));
let test = prepared.filter(isTest);
if (test.length === 0)
  usageError(`--data ${args.data} has no test images (names test_* or a split column in manifest.csv, or give --test)`);
if (stain !== 'none') {
  // The stain the extractors were trained on: the bundle's, or (trained here) the training images'.
  const target: StainStats | undefined = given ? given.stain : datasetStainOf(train);
  if (!target) usageError(`--stain ${stain}: ${given ? `${bundleManifest} has no stain statistics` : 'no tissue'}`);
  const a = normaliseImages(train, stain, target);
  const b = normaliseImages(test, stain, target);
  train = a.images;
  test = b.images;
  const unchanged = [...a.unchanged, ...b.unchanged];
  if (unchanged.length) console.log(`--stain ${stain}: too little tissue to normalise ${unchanged.join(', ')}`);
}
console.log(
  `${datasetName}: ${train.length} training and ${test.length} test images; ` +
    `targets ${targets.map((t) => `${t.name} (${t.ids.join('+')})`).join(', ')}; ${shotList.join('/')} shots ` +
    `× ${draws} draws × ${instances} extractor instances; test images scored with tiling '${tiling}'`,
);
await initBackend(backend);
console.log(`TF.js backend ${tf.getBackend()}; state in ${stateFile}`);

async function readBundleFile(file: string): Promise<ExtractorBundle> {
  const manifest = fs.readFileSync(file, 'utf8');
  const name = (JSON.parse(manifest) as { weightsFile: string }).weightsFile;
  const bytes = fs.readFileSync(path.join(path.dirname(file), name));
  return readBundle(manifest, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

/** The extractors a target's head is fitted on: the other targets', or the given bundle's but its own. */
const featureNamesOf = (t: ClassSelection): string[] =>
  given
    ? given.classes.map((c) => c.name).filter((n) => n !== t.name)
    : targets.filter((o) => o !== t).map((o) => o.name);
/** The target's own extractor, the upper bound: trained here, or the given bundle's class of that name. */
const ownOf = (t: ClassSelection): string | undefined =>
  !given || given.classes.some((c) => c.name === t.name) ? t.name : undefined;

/** Instance i of a class's extractor: seed i, its own checkpoint folder (trained once, then read back). */
async function extractor(target: ClassSelection, instance: number): Promise<ExtractorClass> {
  const dir = path.join(cache, 'extractors', `${target.name}-${instance}`);
  const result = await trainExtractor(train, target, {
    depth: protocol.depth,
    seed: instance,
    threads,
    checkpoints: dir,
    signal: controller.signal,
    ...(maxEpochs ? { maxEpochs } : {}),
    log: (line) => console.log(`[${elapsed()}] extractor ${instance}: ${line}`),
  });
  state.extractors[`${target.name}/${instance}`] = {
    bestValDice: result.bestValDice,
    bestEpoch: result.bestEpoch,
    epochs: result.epochs,
    trainingSeconds: Math.round(result.history.reduce((t, r) => t + r.seconds, 0)),
  };
  return { name: target.name, weights: result.weights };
}

/** Seeds differ per target, shots, draw and instance, and stay fixed when the counts grow. */
const drawSeed = (t: number, shots: number, draw: number, instance: number) =>
  1 + t * 1_000_003 + shots * 10_007 + draw * 101 + instance;

const windowsOf = targets.map((t) =>
  classWindows(train, t.ids, { edge: WINDOW, stride: protocol.stride, minPositive: protocol.minPositive }),
);
targets.forEach((t, i) =>
  console.log(
    `${t.name}: ${windowsOf[i].length} windows of ${WINDOW}² (stride ${protocol.stride}) ` +
      `hold ≥ ${protocol.minPositive} class pixels`,
  ),
);

/**
 * A progress line on stdout for one loop, the loop's lines logged above it. Should the loop stop
 * early (Ctrl-C, a failure), the bar is left where it stopped, on a line of its own, and drawn no
 * more, so what is printed next does not land on it.
 */
async function withProgress(
  options: Omit<ProgressOptions, 'stream'>,
  loop: (progress: Progress) => Promise<void>,
): Promise<void> {
  const stdout = process.stdout;
  let open = true;
  const progress = progressLine({
    ...options,
    stream: {
      write: (text: string) => open && stdout.write(text),
      isTTY: stdout.isTTY,
      get columns() {
        return stdout.columns;
      },
    },
  });
  try {
    await loop(progress);
  } catch (err) {
    if (stdout.isTTY) stdout.write('\n');
    open = false;
    throw err;
  }
  progress.finish();
}

async function runAdaptations(instance: number, extractors: Map<string, ExtractorClass>): Promise<void> {
  const todo: { t: number; shots: number; draw: number }[] = [];
  for (let draw = 0; draw < draws; draw++) {
    for (let t = 0; t < targets.length; t++) {
      for (const shots of shotList) {
        if (!state.adaptations[adaptationKey({ target: targets[t].name, instance, shots, draw })])
          todo.push({ t, shots, draw });
      }
    }
  }
  if (todo.length === 0) return;
  const seconds: Record<number, number[]> = {};
  await withProgress({ label: `instance ${instance} adaptations`, total: todo.length }, async (progress) => {
    for (const [i, { t, shots, draw }] of todo.entries()) {
      const target = targets[t];
      const others = featureNamesOf(target).map((name) => extractors.get(name)!);
      const { patches, windows } = drawSupportSet(train, windowsOf[t], target.ids, {
        shots,
        seed: drawSeed(t, shots, draw, instance),
        edge: WINDOW,
        zoom: 1,
      });
      const result = await adapt(
        patches,
        others,
        { lambda: protocol.lambda, threshold: THRESHOLD, metadata: { className: target.name, shots } },
        { signal: controller.signal },
      );
      const r = result.report;
      const record: Adaptation = {
        target: target.name,
        instance,
        shots,
        draw,
        windows: windows.map((w) => ({ image: train[w.image].name, x: w.x, y: w.y, count: w.count })),
        logistic: serializeHead(result.logisticHead),
        bfgs: serializeHead(result.head),
        report: {
          timings: r.timings,
          newtonSteps: r.logistic.iterations,
          bfgsSteps: r.bfgs!.iterations,
          bfgsStop: r.bfgs!.stop,
          supportDice: { logistic: 1 - r.logistic.diceLoss, bfgs: 1 - r.bfgs!.diceLoss },
        },
      };
      state.adaptations[adaptationKey(record)] = record;
      saveState(stateFile, state);
      (seconds[shots] ??= []).push(r.timings.total / 1000);
      const mean = (k: number) =>
        seconds[k] ? seconds[k].reduce((a, b) => a + b, 0) / seconds[k].length : r.timings.total / 1000;
      const eta = todo.slice(i + 1).reduce((s, job) => s + mean(job.shots), 0);
      progress.log(
        `[${elapsed()}] instance ${instance} ${target.name} ${shots}-shot draw ${draw}: ` +
          `${(r.timings.total / 1000).toFixed(1)} s (${r.logistic.iterations} Newton, ` +
          `${r.bfgs!.iterations} BFGS ${r.bfgs!.stop}); ` +
          `soft support Dice ${(1 - r.logistic.diceLoss).toFixed(3)} → ${(1 - r.bfgs!.diceLoss).toFixed(3)}; ` +
          `${i + 1}/${todo.length}, ETA ${clock(eta)}`,
      );
      progress.update(i + 1, { eta });
    }
  });
}

/** Rows per matrix product: bounds temporary memory to ~rows × heads × 4 bytes × a few. */
const CHUNK = 65536;

/** [overlap, predicted] for each head's thresholded prediction against `truth`, pooled over all pixels. */
async function headCounts(
  features: tf.Tensor2D,
  truth: tf.Tensor2D,
  heads: readonly HeadJson[],
): Promise<[number, number][]> {
  const W = tf
    .tensor2d(
      heads.flatMap((h) => [...h.W]),
      [heads.length, features.shape[1]],
    )
    .transpose() as tf.Tensor2D;
  const b = tf.tensor1d(heads.map((h) => h.b));
  const thresholds = tf.tensor1d(heads.map((h) => h.threshold));
  const sums = heads.map(() => [0, 0] as [number, number]);
  try {
    for (let row = 0; row < features.shape[0]; row += CHUNK) {
      const n = Math.min(CHUNK, features.shape[0] - row);
      const [overlap, predicted] = tf.tidy(() => {
        const p = tf.cast(
          tf.greater(tf.sigmoid(tf.add(tf.matMul(tf.slice(features, [row, 0], [n, -1]), W), b)), thresholds),
          'float32',
        );
        return [tf.matMul(tf.slice(truth, [0, row], [1, n]), p).reshape([-1]), tf.sum(p, 0)];
      });
      const [o, q] = await Promise.all([overlap.data(), predicted.data()]);
      overlap.dispose();
      predicted.dispose();
      for (let h = 0; h < heads.length; h++) {
        sums[h][0] += o[h];
        sums[h][1] += q[h];
      }
    }
  } finally {
    W.dispose();
    b.dispose();
    thresholds.dispose();
  }
  return sums;
}

/** What one test image gives for one tiling: each target's upper bound and each missing adaptation's counts. */
interface ImageScores {
  readonly upper: Record<string, readonly [number, number]>;
  readonly heads: Record<string, HeadCounts>;
}

/** 'whole': one forward of each extractor over the whole image; every head and bound read from it. */
async function wholeImageScores(
  image: LabelledImage,
  networks: Map<string, MsdNetwork>,
  masks: readonly Uint8Array[],
  missing: readonly Adaptation[][],
): Promise<ImageScores> {
  const pixels = image.width * image.height;
  const x = tf.tensor4d(image.rgb, [1, image.height, image.width, 3], 'int32');
  const features = new Map<string, tf.Tensor2D>();
  const upper: Record<string, readonly [number, number]> = {};
  const heads: Record<string, HeadCounts> = {};
  try {
    for (const [name, network] of networks) {
      const { features: f, probability } = network.forward(x);
      features.set(name, tf.reshape(f, [pixels, -1]));
      f.dispose();
      const ti = targets.findIndex((t) => ownOf(t) === name);
      if (ti < 0) {
        probability.dispose();
        continue;
      }
      const counts = tf.tidy(() => {
        const predicted = tf.cast(tf.greater(tf.reshape(probability, [pixels]), THRESHOLD), 'float32');
        return tf.stack([tf.sum(tf.mul(predicted, tf.tensor1d(Float32Array.from(masks[ti])))), tf.sum(predicted)]);
      });
      probability.dispose();
      const [o, q] = await counts.data();
      counts.dispose();
      upper[targets[ti].name] = [o, q];
    }
    for (const [ti, t] of targets.entries()) {
      if (missing[ti].length === 0) continue;
      const joined = tf.concat(
        featureNamesOf(t).map((name) => features.get(name)!),
        1,
      ) as tf.Tensor2D;
      const labels = tf.tensor2d(Float32Array.from(masks[ti]), [1, pixels]);
      try {
        const both = await headCounts(
          joined,
          labels,
          missing[ti].flatMap((a) => [a.logistic, a.bfgs]),
        );
        missing[ti].forEach((a, j) => (heads[adaptationKey(a)] = { logistic: both[2 * j], bfgs: both[2 * j + 1] }));
      } finally {
        joined.dispose();
        labels.dispose();
      }
    }
  } finally {
    x.dispose();
    features.forEach((f) => f.dispose());
  }
  return { upper, heads };
}

/**
 * 'patches', the paper's protocol and the product's `tiling: 'patches'`: each head's (and each
 * target's own extractor's) probabilities averaged over the 256², stride-64 patches of
 * core/inference/patch-grid.ts that cover the pixel, each patch a forward of its own, so mirror
 * padding happens at every patch border. A patch's features are computed once per extractor
 * and serve every head of every target, as the whole image's do in 'whole'; the averages are
 * counted row band by row band (patch-counts.ts) rather than kept per head for the whole image.
 */
async function patchImageScores(
  image: LabelledImage,
  networks: Map<string, MsdNetwork>,
  masks: readonly Uint8Array[],
  missing: readonly Adaptation[][],
): Promise<ImageScores> {
  const patches = patchesCovering({ x: 0, y: 0, width: image.width, height: image.height }, image);
  const tensors: tf.Tensor[] = [];
  try {
    const jobs = targets.map((t, ti) => {
      const heads = missing[ti].flatMap((a) => [a.logistic, a.bfgs]);
      const others = featureNamesOf(t);
      // W split per extractor ([depth, heads] each, in the heads' feature order): the logits are
      // a sum of one product per extractor, so the features are never concatenated (a row loop on wasm).
      let offset = 0;
      const slices = others.map((o) => {
        const depth = networks.get(o)!.depth;
        const from = offset;
        offset += depth;
        const slice = tf.tensor2d(
          heads.flatMap((h) => [...h.W].slice(from, from + depth)),
          [heads.length, depth],
        );
        const transposed = tf.transpose(slice);
        slice.dispose();
        tensors.push(transposed);
        return transposed;
      });
      const b = tf.tensor1d(heads.map((h) => h.b));
      tensors.push(b);
      const patchHeight = Math.max(...patches.map((p) => p.height));
      return {
        target: t,
        others,
        heads,
        slices,
        b,
        headCounter: new PatchAverageCounter(
          image,
          masks[ti],
          heads.map((h) => h.threshold),
          patchHeight,
        ),
        upperCounter: new PatchAverageCounter(image, masks[ti], [THRESHOLD], patchHeight),
      };
    });
    let row = -1;
    for (const patch of patches) {
      controller.signal.throwIfAborted();
      if (patch.y !== row) {
        // Raster order: no later patch reaches above this row, so the rows above are final.
        for (const j of jobs) {
          j.headCounter.finishRowsBefore(patch.y);
          j.upperCounter.finishRowsBefore(patch.y);
        }
        row = patch.y;
      }
      const n = patch.width * patch.height;
      const outputs = tf.tidy(() => {
        const rgb = cropRgb(image.rgb, image.width, patch.x, patch.y, patch.width, patch.height);
        const x = tf.tensor4d(rgb, [1, patch.height, patch.width, 3], 'int32');
        const features = new Map<string, tf.Tensor2D>();
        const own = new Map<string, tf.Tensor>();
        for (const [name, network] of networks) {
          const result = network.forward(x);
          features.set(name, tf.reshape(result.features, [n, -1]));
          own.set(name, tf.reshape(result.probability, [n]));
        }
        return jobs.map((j) => ({
          upper: own.get(ownOf(j.target) ?? ''),
          heads:
            j.heads.length === 0
              ? undefined
              : tf.sigmoid(
                  j.others.reduce<tf.Tensor>(
                    (logit, o, k) => tf.add(logit, tf.matMul(features.get(o)!, j.slices[k])),
                    j.b,
                  ),
                ),
        }));
      });
      try {
        for (const [k, j] of jobs.entries()) {
          const { upper, heads } = outputs[k];
          if (upper) j.upperCounter.add(patch, await upper.data());
          if (heads) j.headCounter.add(patch, await heads.data());
        }
      } finally {
        outputs.forEach((o) => tf.dispose([...(o.upper ? [o.upper] : []), ...(o.heads ? [o.heads] : [])]));
      }
    }
    const upper: Record<string, readonly [number, number]> = {};
    const heads: Record<string, HeadCounts> = {};
    for (const [ti, j] of jobs.entries()) {
      if (ownOf(j.target)) upper[j.target.name] = j.upperCounter.counts()[0];
      const both = j.headCounter.counts();
      missing[ti].forEach((a, k) => (heads[adaptationKey(a)] = { logistic: both[2 * k], bfgs: both[2 * k + 1] }));
    }
    return { upper, heads };
  } finally {
    tf.dispose(tensors);
  }
}

/** Every adaptation of this instance, and the upper bound, on every test image not counted yet with this tiling. */
async function runTests(instance: number, networks: Map<string, MsdNetwork>): Promise<void> {
  const keysOf = (t: ClassSelection) =>
    Object.values(state.adaptations).filter((a) => a.target === t.name && a.instance === instance);
  const score = tiling === 'whole' ? wholeImageScores : patchImageScores;
  const todo = test.flatMap((image, i) => {
    const key = countsKey(tiling, instance, image.name);
    const prior = state.counts[key];
    const missing = targets.map((t) => keysOf(t).filter((a) => !prior?.heads[adaptationKey(a)]));
    return prior && missing.every((m) => m.length === 0) ? [] : [{ i, image, key, prior, missing }];
  });
  if (todo.length === 0) return;
  await withProgress(
    { label: `instance ${instance} test images (${tiling})`, total: todo.length },
    async (progress) => {
      for (const [done, { i, image, key, prior, missing }] of todo.entries()) {
        controller.signal.throwIfAborted();
        const t0 = performance.now();
        const masks = targets.map((t) => {
          const isClass = new Uint8Array(256);
          for (const id of t.ids) isClass[id] = 1;
          return Uint8Array.from(image.labels, (l) => isClass[l]);
        });
        const truth: Record<string, number> = {};
        targets.forEach((t, ti) => (truth[t.name] = masks[ti].reduce((a, b) => a + b, 0)));
        const { upper, heads } = await score(image, networks, masks, missing);
        state.counts[key] = { truth, upper, heads: { ...prior?.heads, ...heads } };
        saveState(stateFile, state);
        progress.log(
          `[${elapsed()}] instance ${instance} test image ${image.name} (${i + 1}/${test.length}): ` +
            `${missing.reduce((s, m) => s + m.length, 0)} adaptations scored in ` +
            `${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
        progress.update(done + 1);
      }
    },
  );
}

/** Pooled Dice (of the counts summed over the test images) or the mean of each image's Dice. */
type Metric = 'pooled' | 'per-image mean';
const scoreOf = (metric: Metric, per: readonly DiceCounts[]): number =>
  metric === 'pooled'
    ? dice({
        overlap: per.reduce((s, c) => s + c.overlap, 0),
        predicted: per.reduce((s, c) => s + c.predicted, 0),
        truth: per.reduce((s, c) => s + c.truth, 0),
      })
    : perImageMeanDice(per);

function summarise(metric: Metric = 'pooled'): ClassResult[] {
  return targets.map((t) => {
    const shots: Record<string, { logistic: ReturnType<typeof quartiles>; bfgs: ReturnType<typeof quartiles> }> = {};
    for (const k of shotList) {
      const values = { logistic: [] as number[], bfgs: [] as number[] };
      for (let instance = 1; instance <= instances; instance++) {
        for (let draw = 0; draw < draws; draw++) {
          const key = adaptationKey({ target: t.name, instance, shots: k, draw });
          const per = test.map((im) => state.counts[countsKey(tiling, instance, im.name)]);
          if (!state.adaptations[key] || per.some((c) => !c?.heads[key])) continue;
          for (const kind of ['logistic', 'bfgs'] as const) {
            values[kind].push(
              scoreOf(
                metric,
                per.map((c) => ({
                  overlap: c!.heads[key][kind][0],
                  predicted: c!.heads[key][kind][1],
                  truth: c!.truth[t.name],
                })),
              ),
            );
          }
        }
      }
      shots[k] = { logistic: quartiles(values.logistic), bfgs: quartiles(values.bfgs) };
    }
    const upper: number[] = [];
    for (let instance = 1; instance <= instances; instance++) {
      const per = test.map((im) => state.counts[countsKey(tiling, instance, im.name)]);
      if (per.some((c) => !c?.upper[t.name])) continue;
      upper.push(
        scoreOf(
          metric,
          per.map((c) => ({ overlap: c!.upper[t.name][0], predicted: c!.upper[t.name][1], truth: c!.truth[t.name] })),
        ),
      );
    }
    return { name: t.name, shots, upperBound: quartiles(upper) };
  });
}

function timingSummary() {
  const out: Record<string, Record<string, number>> = {};
  for (const k of shotList) {
    const rs = Object.values(state.adaptations).filter((a) => a.shots === k);
    const med = (pick: (a: Adaptation) => number) => Number(quartiles(rs.map(pick)).median.toFixed(3));
    out[k] = {
      adaptations: rs.length,
      featuresSeconds: med((a) => a.report.timings.features / 1000),
      logisticSeconds: med((a) => a.report.timings.logistic / 1000),
      bfgsSeconds: med((a) => a.report.timings.bfgs / 1000),
      totalSeconds: med((a) => a.report.timings.total / 1000),
      newtonSteps: med((a) => a.report.newtonSteps),
      bfgsSteps: med((a) => a.report.bfgsSteps),
    };
  }
  return out;
}

function report(): void {
  const classes = summarise();
  const table = resultTable(classes, shotList);
  const perImage = summarise('per-image mean');
  const perImageTable = resultTable(perImage, shotList);
  console.log(
    `\nDice (%) on ${test.length} test images (tiling '${tiling}'), pooled over their pixels; ` +
      `median [quartiles] over draws × instances:\n${table}\n` +
      `\nThe mean of each test image's Dice (images holding the class), same heads:\n${perImageTable}`,
  );
  const n = Math.max(...classes.flatMap((c) => Object.values(c.shots).map((r) => r.bfgs.n)));
  const title =
    `${datasetName}${tiling === 'whole' ? '' : ` (${tiling})`}: Dice vs shots ` +
    `(median and quartiles of ${n} support draws × extractor instances per point)`;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.svg`, dicePlot(classes, shotList, title));
  fs.writeFileSync(
    `${out}.json`,
    JSON.stringify(
      {
        protocol: {
          ...protocol,
          shots: shotList,
          draws,
          instances,
          tiling,
          prediction:
            tiling === 'whole'
              ? 'one forward over each whole test image'
              : `each pixel the mean probability of the ${WINDOW}² patches (stride ${protocol.stride}) covering it, ` +
                'each patch a forward of its own',
          dice: 'pooled over all pixels of the test images',
          perImageMeanDice: "the mean of each test image's Dice, over the test images that hold the class",
          backend: tf.getBackend(),
        },
        testImages: test.map((im) => im.name),
        results: classes,
        table,
        resultsPerImageMean: perImage,
        tablePerImageMean: perImageTable,
        extractors: state.extractors,
        adaptationTiming: timingSummary(),
        finished: new Date().toISOString(),
      },
      null,
      1,
    ) + '\n',
  );
  console.log(`wrote ${out}.json and ${out}.svg`);
}

/** Instance i's extractors as a bundle beside the state: reusable in the viewer, and a reference for tests. */
async function writeInstanceBundle(instance: number, classes: Map<string, ExtractorClass>): Promise<void> {
  const { manifest, weights } = await writeBundle(
    {
      classes: [...classes.values()],
      mpp,
      metadata: { evaluation: protocol, instance, extractors: state.extractors },
    },
    { weightsFile: `instance-${instance}.bin` },
  );
  fs.writeFileSync(path.join(cache, 'extractors', manifest.weightsFile), new Uint8Array(weights));
  fs.writeFileSync(path.join(cache, 'extractors', `instance-${instance}.json`), JSON.stringify(manifest) + '\n');
}

try {
  for (let instance = 1; instance <= instances; instance++) {
    const classes = new Map<string, ExtractorClass>();
    if (given) for (const c of given.classes) classes.set(c.name, c);
    else for (const t of targets) classes.set(t.name, await extractor(t, instance));
    saveState(stateFile, state);
    // The instance's extractors as a bundle: reusable in the viewer, and a reference for tests.
    if (!given) await writeInstanceBundle(instance, classes);
    await runAdaptations(instance, classes);
    const networks = new Map([...classes].map(([name, c]) => [name, createMsd(c.weights)]));
    try {
      await runTests(instance, networks);
    } finally {
      networks.forEach((n) => n.dispose());
    }
    report();
  }
  console.log(`done in ${elapsed()}`);
} catch (err) {
  if (!controller.signal.aborted) throw err;
  saveState(stateFile, state);
  console.log(`stopped after ${elapsed()}; everything finished is in ${stateFile}`);
  process.exit(130);
}
