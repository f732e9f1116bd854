// Instance segmentation on CoNSeP's test tiles (`npm run evaluate-instances -- --help`): instance
// F1 at IoU 0.5 and AJI against the approximate instance labels (../shared/data/consep's
// instances_approx), connected components against the watershed split of core/cells/, from the
// ground-truth class masks (the split alone) and from 5-shot heads on the shipped extractors (the
// product's cells). Prints the table and writes evaluation/consep-instances.json.
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import { adapt } from '../core/adaptation/adapt.js';
import { serializeHead, type HeadJson } from '../core/adaptation/head.js';
import { decodeBundle, type ExtractorClass } from '../core/msd/bundle.js';
import { createMsd, type MsdNetwork } from '../core/msd/tf-network.js';
import { BACKEND_ORDER, initBackend } from '../core/msd/tf-backend.js';
import { cellInstances } from '../core/cells/cell-instances.js';
import { matchInstances } from '../core/cells/instance-metrics.js';
import { DEFAULT_SPLIT_DEPTH } from '../core/cells/watershed-split.js';
import { choiceOption, integerOption, listOption, numberOption, startCli } from './cli.js';
import { parseClassSelection, readLabelledDataset, type ClassSelection, type LabelledImage } from './dataset.js';
import { classWindows, drawSupportSet } from './support-set.js';

const args = startCli({
  name: 'evaluate-instances',
  command: 'npm run evaluate-instances',
  synopsis: '[--data DIR] [options]',
  description: `
Instance F1 (IoU 0.5) and AJI on a labelled dataset's test images against its instances_approx
labels: connected components against the watershed split (at each --depths), from the true class
masks and from --shots-shot heads fitted on the bundle's extractors other than the target's own.
Skips with a message when the data folder is absent.`,
  options: {
    data: { type: 'string', value: 'DIR', default: '../shared/data/consep', description: 'labelled dataset folder' },
    bundle: {
      type: 'string',
      value: 'PATH',
      default: 'models/default/extractors',
      description: 'extractor bundle, without .json/.bin',
    },
    depths: { type: 'string', value: 'LIST', default: '1,1.5,2,3,4', description: 'split depths (px) for the masks' },
    shots: { type: 'string', value: 'N', default: '5', description: 'support patches per head (0: masks only)' },
    draws: { type: 'string', value: 'N', default: '3', description: 'support sets drawn per target' },
    backend: { type: 'string', value: 'NAME', default: 'wasm', description: `of ${BACKEND_ORDER.join(', ')}` },
    out: { type: 'string', value: 'PATH', default: 'evaluation/consep-instances.json', description: 'results' },
  },
  examples: ['npm run evaluate-instances', 'nice -n 10 npm run evaluate-instances -- --draws 1'],
});

const TARGETS = ['inflammatory=2', 'epithelial=3,4', 'spindle=5,6,7'].map(parseClassSelection);
const ALL: ClassSelection = { name: 'all nuclei', ids: [1, 2, 3, 4, 5, 6, 7] };
const depths = listOption('depths', args.depths, (d) => numberOption('depths', d, 0));
const shots = integerOption('shots', args.shots, 0);
const draws = integerOption('draws', args.draws, 1);
const backend = choiceOption('backend', args.backend, BACKEND_ORDER);
const data = path.resolve(args.data);
if (!fs.existsSync(path.join(data, 'instances_approx'))) {
  console.log(`evaluate-instances: skipped, ${args.data}/instances_approx is not there (CoNSeP is read at run time)`);
  process.exit(0);
}

/** A pooled score: sums over images, so every nucleus counts once. */
interface Pooled {
  truths: number;
  predictions: number;
  matched: number;
  intersection: number;
  union: number;
}
const pooled = (): Pooled => ({ truths: 0, predictions: 0, matched: 0, intersection: 0, union: 0 });
const add = (p: Pooled, m: ReturnType<typeof matchInstances>) => {
  p.truths += m.truths;
  p.predictions += m.predictions;
  p.matched += m.matched;
  p.intersection += m.intersection;
  p.union += m.union;
};
const f1 = (p: Pooled) => (2 * p.matched) / (p.truths + p.predictions);
const aji = (p: Pooled) => p.intersection / p.union;

function readInstances(image: LabelledImage): Uint32Array {
  const png = PNG.sync.read(fs.readFileSync(path.join(data, 'instances_approx', `${image.name}.png`)), {
    skipRescale: true,
  });
  const values = png.data as unknown as ArrayLike<number>;
  return Uint32Array.from({ length: image.width * image.height }, (_, i) => values[4 * i]);
}

/** The true instances of a class: the approximate ids on the class's pixels (each id lies in one class). */
function truthOf(image: LabelledImage, instances: Uint32Array, target: ClassSelection): Uint32Array {
  const isClass = new Uint8Array(256);
  for (const id of target.ids) isClass[id] = 1;
  return instances.map((id, i) => (isClass[image.labels[i]] ? id : 0));
}

const splitOf = (map: Float32Array | Uint8Array, image: LabelledImage, depth: number | undefined, threshold = 0.5) =>
  cellInstances(map, image.width, image.height, {
    threshold,
    split: depth !== undefined,
    ...(depth !== undefined ? { depth } : {}),
    tolerance: 0,
  }).labels;

const started = performance.now();
const test = readLabelledDataset(data, 'test');
const variants = [undefined, ...depths];
const variantName = (d: number | undefined) => (d === undefined ? 'components' : `split, depth ${d}`);

// 1. From the true class masks: what the split itself does.
const maskScores = new Map<string, Pooled[]>();
for (const target of [...TARGETS, ALL]) maskScores.set(target.name, variants.map(pooled));
for (const image of test) {
  const instances = readInstances(image);
  for (const target of [...TARGETS, ALL]) {
    const truth = truthOf(image, instances, target);
    const mask = Uint8Array.from(truth, (id) => (id ? 1 : 0));
    variants.forEach((d, k) => add(maskScores.get(target.name)![k], matchInstances(truth, splitOf(mask, image, d))));
  }
}
console.log(`true masks scored in ${((performance.now() - started) / 1000).toFixed(1)} s`);

// 2. From few-shot heads: the extractors other than the target's own, as evaluate.ts's protocol.
const headScores = new Map<string, { components: number[][]; split: number[][] }>();
if (shots > 0) {
  await initBackend(backend);
  const bundle = decodeBundle(
    fs.readFileSync(`${args.bundle}.json`, 'utf8'),
    new Uint8Array(fs.readFileSync(`${args.bundle}.bin`)).buffer,
  );
  const train = readLabelledDataset(data, 'train');
  const heads = new Map<string, { head: HeadJson; others: ExtractorClass[] }[]>();
  for (const [t, target] of TARGETS.entries()) {
    const others = bundle.classes.filter((c) => c.name !== target.name);
    if (others.length === bundle.classes.length) throw new Error(`the bundle has no "${target.name}" extractor`);
    const windows = classWindows(train, target.ids, { edge: 256, stride: 64, minPositive: 200 });
    const list: { head: HeadJson; others: ExtractorClass[] }[] = [];
    for (let draw = 0; draw < draws; draw++) {
      // evaluate.ts's seeds for instance 1, so these are heads that evaluation also scored.
      const seed = 1 + t * 1_000_003 + shots * 10_007 + draw * 101 + 1;
      const { patches } = drawSupportSet(train, windows, target.ids, { shots, seed, edge: 256, zoom: 1 });
      const result = await adapt(patches, others, { lambda: 1e-4, threshold: 0.5 });
      list.push({ head: serializeHead(result.head), others });
      console.log(`${target.name} draw ${draw}: head fitted (${(result.report.timings.total / 1000).toFixed(1)} s)`);
    }
    heads.set(target.name, list);
    headScores.set(target.name, {
      components: Array.from({ length: draws }, () => [0, 0, 0, 0, 0]),
      split: Array.from({ length: draws }, () => [0, 0, 0, 0, 0]),
    });
  }
  const networks = new Map<string, MsdNetwork>(bundle.classes.map((c) => [c.name, createMsd(c.weights)]));
  const sums = new Map<string, { components: Pooled[]; split: Pooled[] }>(
    TARGETS.map((t) => [t.name, { components: [...Array(draws)].map(pooled), split: [...Array(draws)].map(pooled) }]),
  );
  for (const [n, image] of test.entries()) {
    const t0 = performance.now();
    const pixels = image.width * image.height;
    const features = new Map<string, tf.Tensor2D>();
    const x = tf.tensor4d(image.rgb, [1, image.height, image.width, 3], 'int32');
    for (const [name, network] of networks) {
      const { features: f, probability } = network.forward(x);
      features.set(name, tf.reshape(f, [pixels, -1]));
      tf.dispose([f, probability]);
    }
    x.dispose();
    const instances = readInstances(image);
    for (const target of TARGETS) {
      const truth = truthOf(image, instances, target);
      for (const [draw, { head, others }] of heads.get(target.name)!.entries()) {
        const p = tf.tidy(() => {
          const joined = tf.concat(
            others.map((o) => features.get(o.name)!),
            1,
          );
          const w = tf.tensor2d([...head.W], [head.W.length, 1]);
          return tf.sigmoid(tf.add(tf.matMul(joined, w), head.b)).reshape([pixels]);
        });
        const probabilities = (await p.data()) as Float32Array;
        p.dispose();
        const s = sums.get(target.name)!;
        add(s.components[draw], matchInstances(truth, splitOf(probabilities, image, undefined, head.threshold)));
        add(s.split[draw], matchInstances(truth, splitOf(probabilities, image, DEFAULT_SPLIT_DEPTH, head.threshold)));
      }
    }
    features.forEach((f) => f.dispose());
    console.log(
      `test image ${image.name} (${n + 1}/${test.length}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  networks.forEach((nw) => nw.dispose());
  for (const target of TARGETS) {
    const s = sums.get(target.name)!;
    headScores.set(target.name, {
      components: s.components.map((p) => [f1(p), aji(p), p.predictions, p.truths, p.matched]),
      split: s.split.map((p) => [f1(p), aji(p), p.predictions, p.truths, p.matched]),
    });
  }
}

const pct = (v: number) => (100 * v).toFixed(1);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
};
const lines: string[] = [];
lines.push(`From the true class masks (${test.length} test images, pooled): instance F1 at IoU 0.5 / AJI, %`);
lines.push(`| target | true nuclei | ${variants.map(variantName).join(' | ')} |`);
lines.push(`| --- | --- | ${variants.map(() => '---').join(' | ')} |`);
for (const [name, scores] of maskScores)
  lines.push(`| ${name} | ${scores[0].truths} | ${scores.map((p) => `${pct(f1(p))} / ${pct(aji(p))}`).join(' | ')} |`);
if (shots > 0) {
  lines.push('');
  lines.push(
    `From ${shots}-shot heads (the bundle's other extractors; median over ${draws} draws): F1 / AJI, %, ` +
      `and predicted instances`,
  );
  lines.push(`| target | components | split, depth ${DEFAULT_SPLIT_DEPTH} |`);
  lines.push('| --- | --- | --- |');
  for (const [name, s] of headScores) {
    const cell = (rows: number[][]) =>
      `${pct(median(rows.map((r) => r[0])))} / ${pct(median(rows.map((r) => r[1])))} ` +
      `(${median(rows.map((r) => r[2]))})`;
    lines.push(`| ${name} | ${cell(s.components)} | ${cell(s.split)} |`);
  }
}
const table = lines.join('\n');
console.log(`\n${table}\n`);
fs.mkdirSync(path.dirname(args.out), { recursive: true });
fs.writeFileSync(
  args.out,
  JSON.stringify(
    {
      protocol: {
        dataset: path.basename(data),
        truth: 'instances_approx (approximate: over-splits by about 4 %, see the data README)',
        testImages: test.map((im) => im.name),
        depths,
        headDepth: DEFAULT_SPLIT_DEPTH,
        shots,
        draws,
        f1: 'pairs with IoU > 0.5, pooled over the test images',
        aji: 'Kumar et al. 2017, intersections and unions pooled over the test images',
        backend: shots > 0 ? tf.getBackend() : undefined,
      },
      masks: Object.fromEntries(
        [...maskScores].map(([name, scores]) => [
          name,
          Object.fromEntries(scores.map((p, k) => [variantName(variants[k]), { f1: f1(p), aji: aji(p), ...p }])),
        ]),
      ),
      heads: Object.fromEntries(headScores),
      table,
      seconds: Math.round((performance.now() - started) / 1000),
      finished: new Date().toISOString(),
    },
    null,
    1,
  ) + '\n',
);
console.log(`wrote ${args.out}`);
