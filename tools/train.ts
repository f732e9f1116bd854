// Trains MSD feature extractors, one per class, on a labelled dataset folder; `npm run train -- --help`
// lists the options. Writes <out>/extractors.json + extractors.bin (an extractor bundle,
// models/FORMAT.md) after each class, holding the classes finished so far. Rerunning the same
// command resumes every class from its last finished epoch; a class that has already stopped
// costs only its data loading.
import path from 'node:path';
import os from 'node:os';
import { maskClass, parseClassSelection, readLabelledDataset } from './dataset.js';
import fs from 'node:fs';
import { writeBundle, type ExtractorClass } from '../core/msd/bundle.js';
import { clock, trainExtractor } from './train-extractor.js';
import { scaleImage } from './scaled-image.js';
import { TRAIN_DEFAULTS } from '../core/training/trainer.js';
import { existingFolder, integerOption, numberOption, progressLine, runCli, usageError } from './cli.js';

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

const d = (v: number) => String(v);

await runCli(
  {
    name: 'train',
    command: 'npm run train',
    synopsis: '--data DIR --class NAME=ID[,ID…] [--class …] [options]',
    description: `
Trains MSD feature extractors, one per class, on a labelled dataset folder (images/*.png,
labels/*.png with class ids, manifest.csv; e.g. ../shared/data/consep or .cache/sample/patches).
Writes <out>/extractors.json + extractors.bin after each class. Interrupt and rerun the same
command to resume every class from its last finished epoch.`,
    options: {
      data: { type: 'string', value: 'DIR', description: 'labelled dataset folder (required)' },
      class: {
        type: 'string',
        multiple: true,
        value: 'NAME=ID[,ID…]',
        description: 'a class to train an extractor for, its label ids merged; at least one',
      },
      depth: { type: 'string', value: 'N', default: d(TRAIN_DEFAULTS.depth), description: 'MSD layers' },
      out: { type: 'string', value: 'DIR', default: 'models/trained', description: 'where the bundle goes' },
      checkpoints: {
        type: 'string',
        value: 'DIR',
        description: 'checkpoint folder (default .cache/train/<basename of --out>)',
      },
      patience: {
        type: 'string',
        value: 'N',
        default: d(TRAIN_DEFAULTS.patience),
        description: 'early stop after this many epochs without a better validation Dice',
      },
      'max-epochs': { type: 'string', value: 'N', default: d(TRAIN_DEFAULTS.maxEpochs), description: 'epoch cap' },
      'max-minutes': { type: 'string', value: 'M', description: 'time cap for this run, per class' },
      crop: { type: 'string', value: 'N', default: d(TRAIN_DEFAULTS.crop), description: 'training crop side' },
      batch: { type: 'string', value: 'N', default: d(TRAIN_DEFAULTS.batch), description: 'crops per step' },
      'crops-per-epoch': {
        type: 'string',
        value: 'N',
        default: d(TRAIN_DEFAULTS.cropsPerEpoch),
        description: 'crops per epoch',
      },
      seed: { type: 'string', value: 'N', default: d(TRAIN_DEFAULTS.seed), description: 'random seed' },
      lr: { type: 'string', value: 'X', default: d(TRAIN_DEFAULTS.learningRate), description: 'Adam learning rate' },
      'positive-fraction': {
        type: 'string',
        value: 'X',
        default: d(TRAIN_DEFAULTS.positiveFraction),
        description: 'share of crops placed on a pixel of the class',
      },
      'no-augment': { type: 'boolean', default: false, description: 'no flips and rotations' },
      'hed-jitter': {
        type: 'string',
        value: 'SIGMA',
        default: d(TRAIN_DEFAULTS.hedJitter),
        description: 'HED stain jitter of each crop: α∈[1−σ,1+σ], β∈[−σ,σ] (0.05 light, 0.2 strong; 0 off)',
      },
      threads: { type: 'string', value: 'N', default: d(os.availableParallelism()), description: 'worker threads' },
      // CoNSeP's scale; the bundle tells readers to feed inputs at this resolution.
      mpp: { type: 'string', value: 'X', default: '0.25', description: 'microns per pixel of the dataset' },
      downsample: {
        type: 'string',
        value: 'F',
        default: '1',
        description: 'train at F × the dataset mpp: images area-averaged, labels by majority (2: 0.5 µm/px from 40×)',
      },
    },
    examples: [
      'npm run train -- --data ../shared/data/consep --class inflammatory=2 --class epithelial=3,4 --out models/mine',
      'npm run train -- --data .cache/sample/patches --class lymphocyte=2 --depth 10 --max-epochs 5',
    ],
  },
  async (values) => {
    // Every input checked before any work, so a typo costs a line, not a run.
    const data = existingFolder('data', values.data, 'a labelled dataset folder', ['manifest.csv', 'images', 'labels']);
    if (!values.class?.length)
      usageError('at least one --class NAME=ID[,ID…] is required, e.g. --class inflammatory=2');
    const classes = values.class.map((text) => {
      try {
        return parseClassSelection(text);
      } catch (err) {
        return usageError(`--class: ${(err as Error).message}`);
      }
    });
    const depth = integerOption('depth', values.depth, 1);
    const checkpoints = values.checkpoints ?? path.join('.cache/train', path.basename(path.resolve(values.out)));
    const maxMinutes =
      values['max-minutes'] === undefined ? Infinity : numberOption('max-minutes', values['max-minutes'], 0);
    const threads = integerOption('threads', values.threads, 1);
    const downsample = numberOption('downsample', values.downsample, 1);
    // The bundle's scale is the one its networks saw: the dataset's, reduced `downsample` times.
    const mpp = numberOption('mpp', values.mpp, 0, true) * downsample;
    const settings = {
      depth,
      crop: integerOption('crop', values.crop, 8),
      batch: integerOption('batch', values.batch, 1),
      cropsPerEpoch: integerOption('crops-per-epoch', values['crops-per-epoch'], 1),
      patience: integerOption('patience', values.patience, 1),
      maxEpochs: integerOption('max-epochs', values['max-epochs'], 0),
      maxSeconds: maxMinutes * 60,
      seed: integerOption('seed', values.seed, 0),
      learningRate: numberOption('lr', values.lr, 0, true),
      positiveFraction: numberOption('positive-fraction', values['positive-fraction'], 0),
      augment: !values['no-augment'],
      hedJitter: numberOption('hed-jitter', values['hed-jitter'], 0),
      threads,
    };
    if (settings.positiveFraction > 1)
      usageError(`--positive-fraction is a share 0…1, got ${settings.positiveFraction}`);

    const controller = new AbortController();
    process.once('SIGINT', () => {
      console.log(
        '\ninterrupted: stopping after this step; rerun the same command to resume from the last finished epoch',
      );
      controller.abort(new Error('interrupted'));
    });

    const t0 = performance.now();
    const all = await Promise.all(readLabelledDataset(data, 'train').map((im) => scaleImage(im, 1 / downsample)));
    console.log(
      `${all.length} training images from ${data} in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        (downsample === 1 ? '' : `reduced ${downsample}× to ${all[0]?.width}×${all[0]?.height} (${mpp} µm/px); `) +
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
          `depth ${depth}, crops ${settings.crop}², batch ${settings.batch}, ` +
          `${settings.cropsPerEpoch} crops per epoch` +
          (settings.hedJitter > 0 ? `, HED jitter σ ${settings.hedJitter}` : ''),
      );
      const started = performance.now();
      // Epoch lines stay; under them, on a terminal, a bar to the earliest stop and its ETA.
      const progress = progressLine({ label: selection.name, total: 1, count: false });
      const result = await trainExtractor(all, selection, {
        ...settings,
        checkpoints: path.join(checkpoints, selection.name),
        signal: controller.signal,
        log: progress.log,
        onEpoch: (p) =>
          progress.update(p.elapsed / (p.elapsed + p.eta), {
            eta: p.eta,
            note: `epoch ${p.epoch}, best val Dice ${p.bestValDice.toFixed(3)} @${p.bestEpoch}`,
          }),
      }).catch((e: unknown) => {
        if (!controller.signal.aborted) throw e;
        progress.log(`${selection.name}: stopped; checkpoints are in ${path.join(checkpoints, selection.name)}`);
        process.exit(130);
      });
      progress.finish();
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
        dataset: datasetName(data),
        depth,
        crop: settings.crop,
        batch: settings.batch,
        cropsPerEpoch: settings.cropsPerEpoch,
        seed: settings.seed,
        ...(downsample === 1 ? {} : { downsample }),
        ...(settings.hedJitter > 0 ? { hedJitter: settings.hedJitter } : {}),
        bestEpoch: result.bestEpoch,
        bestValDice: result.bestValDice,
        epochs: result.epochs,
        stopReason: result.stopReason,
        trainingSeconds: Math.round(result.history.reduce((t, r) => t + r.seconds, 0)),
        split: result.split,
        valDiceByEpoch: result.history.map((r) => Number(r.valDice.toFixed(4))),
      };
      const { manifest, weights } = await writeBundle({ classes: trained, mpp, metadata: { classes: training } });
      fs.mkdirSync(values.out, { recursive: true });
      fs.writeFileSync(path.join(values.out, manifest.weightsFile), new Uint8Array(weights));
      fs.writeFileSync(path.join(values.out, 'extractors.json'), JSON.stringify(manifest, null, 1) + '\n');
      console.log(
        `wrote ${path.join(values.out, 'extractors.json')} and ${manifest.weightsFile} ` +
          `(${trained.map((c) => c.name).join(', ')}; ${mpp} µm/px)`,
      );
    }
  },
);
