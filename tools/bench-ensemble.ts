/**
 * What the head's ensemble (core/adaptation/head-ensemble.ts) costs, against what it is added to,
 * measured side by side in one run (medians):
 * - the fit: a 5-shot adaptation (the 'kernels' engine, as the workers run it) and the follow-up
 *   ensemble fit from the basis it left, for each member count asked;
 * - how far the members move from the head, by BFGS step cap (‖W_member − W‖/‖W‖, median over
 *   members), and how far they still are from the largest cap's members (‖W_m − W_m(max)‖/‖W‖),
 *   to show where more steps stop mattering;
 * - the tile: one whole 762² read (a 512² tile and its 125 px margin) through the SIMD patch model
 *   with the head alone and with E members and their uncertainty, alternated.
 * Support: the sample data's patches, as bench:adapt.
 *
 *   npm run bench:ensemble
 *   npx tsx tools/bench-ensemble.ts --members 4,8 --runs 5 --extractors 2
 */
import fs from 'node:fs';
import { adapt } from '../core/adaptation/adapt.js';
import { fitHeadEnsemble, type EnsembleBasis } from '../core/adaptation/head-ensemble.js';
import { createSimdHeadPatchModel } from '../core/inference/simd-patch-model.js';
import { decodeBundle } from '../core/msd/bundle.js';
import { initBackend } from '../core/msd/tf-backend.js';
import { existingFile, existingFolder, integerOption, listOption, numberOption, startCli } from './cli.js';
import { readLabelledDataset } from './dataset.js';
import { integerZoom, sampleSupportSet } from './support-set.js';

const args = startCli({
  name: 'bench:ensemble',
  command: 'npm run bench:ensemble',
  synopsis: '[options]',
  description: `
Times the head's ensemble: its fit after a 5-shot adaptation, against the adaptation, and the
members' share of a whole tile's forward; medians of timed runs after one warm-up.`,
  options: {
    runs: { type: 'string', value: 'N', default: '3', description: 'timed runs' },
    shots: { type: 'string', value: 'N', default: '5', description: 'support patches' },
    class: { type: 'string', value: 'ID', default: '4', description: 'label id of the class adapted to' },
    extractors: { type: 'string', value: 'N', default: '3', description: "how many of the bundle's extractors" },
    members: { type: 'string', value: 'LIST', default: '6', description: 'ensemble sizes to time' },
    steps: { type: 'string', value: 'LIST', default: '10,20,30,40,80', description: 'BFGS step caps to compare' },
    data: { type: 'string', value: 'DIR', default: '.cache/sample/patches', description: 'labelled dataset folder' },
    'data-mpp': { type: 'string', value: 'X', default: '0.5', description: 'microns per pixel of the dataset' },
    bundle: { type: 'string', value: 'PATH', default: 'models/default/extractors', description: 'extractor bundle' },
  },
  examples: ['npm run bench:ensemble -- --members 4,6,8 --runs 5'],
});
const runs = integerOption('runs', args.runs, 1);
const shots = integerOption('shots', args.shots, 1);
const classId = integerOption('class', args.class, 0, 255);
const count = integerOption('extractors', args.extractors, 1);
const memberCounts = listOption('members', args.members, (n) => integerOption('members', n, 1, 32));
const stepCaps = listOption('steps', args.steps, (n) => integerOption('steps', n, 0));
const dataMpp = numberOption('data-mpp', args['data-mpp'], 0, true);
existingFolder('data', args.data, 'a labelled dataset folder; `npm run sample` makes the default', ['manifest.csv']);
existingFile('bundle', `${args.bundle}.json`, 'an extractor bundle manifest');
existingFile('bundle', `${args.bundle}.bin`, 'its weights');
const bundle = decodeBundle(
  fs.readFileSync(`${args.bundle}.json`, 'utf8'),
  new Uint8Array(fs.readFileSync(`${args.bundle}.bin`)).buffer,
);
const classes = bundle.classes.slice(0, count);
const support = sampleSupportSet(readLabelledDataset(args.data, 'train'), [classId], {
  size: 256,
  zoom: integerZoom(dataMpp, bundle.mpp),
  shots,
  seed: 1,
  minPositive: 200,
});
await initBackend('wasm');

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const s = (ms: number) => (ms / 1000).toFixed(2);
const norm = (v: readonly number[]) => Math.sqrt(v.reduce((t, x) => t + x * x, 0));
const moved = (m: readonly number[], w: readonly number[]) => norm(m.map((x, j) => x - w[j])) / norm(w);

console.log(
  `${shots} shots (class ${classId}), ${classes.map((c) => `${c.name} ${c.weights.layers.length}`).join(' + ')}, ` +
    `wasm; ${runs} timed runs after 1 warm-up; medians`,
);
const adaptMs: number[] = [];
const fitMs = new Map<number, number[]>(memberCounts.map((e) => [e, []]));
let last: { basis: EnsembleBasis; W: readonly number[] } | undefined;
for (let r = 0; r <= runs; r++) {
  let basis: EnsembleBasis | undefined;
  const t0 = performance.now();
  const result = await adapt(support, classes, {}, { onEnsembleBasis: (b) => (basis = b) });
  const t1 = performance.now();
  if (!basis) throw new Error('the adaptation left no ensemble basis');
  const line = [`run ${r}${r === 0 ? ' (warm-up)' : ''}: adapt ${s(t1 - t0)} s (basis of ${basis.rows.rows} rows)`];
  for (const e of memberCounts) {
    const t2 = performance.now();
    await fitHeadEnsemble(basis, { members: e });
    const ms = performance.now() - t2;
    line.push(`ensemble of ${e} ${s(ms)} s`);
    if (r > 0) fitMs.get(e)!.push(ms);
  }
  if (r > 0) adaptMs.push(t1 - t0);
  console.log(line.join(', '));
  last = { basis, W: result.head.W };
}
const a = median(adaptMs);
console.log(`\n| fit | s | of adapt |\n| --- | --- | --- |\n| adapt (head) | ${s(a)} | 1 |`);
for (const e of memberCounts) {
  const m = median(fitMs.get(e)!);
  console.log(`| ensemble, E = ${e} | ${s(m)} | ${(m / a).toFixed(2)} |`);
}

// Against the largest cap (the same resamples: the same seed), how far each cap's members are from
// where more steps take them: where this stops shrinking, more steps stop mattering.
const byCap = new Map<number, { members: readonly { W: readonly number[] }[]; ms: number }>();
for (const steps of stepCaps) {
  const t = performance.now();
  const ensemble = await fitHeadEnsemble(last!.basis, { members: 6, maxIterations: steps });
  byCap.set(steps, { members: ensemble.members, ms: performance.now() - t });
}
const final = byCap.get(Math.max(...stepCaps))!.members;
console.log(
  `\n| BFGS steps per member | median ‖W_m − W‖/‖W‖ | median ‖W_m − W_m(${Math.max(...stepCaps)})‖/‖W‖ ` +
    '| s (E = 6) |\n| --- | --- | --- | --- |',
);
for (const steps of stepCaps) {
  const { members, ms } = byCap.get(steps)!;
  const drift = median(members.map((m) => moved(m.W, last!.W))).toExponential(2);
  const rest = median(members.map((m, i) => norm(m.W.map((x, j) => x - final[i].W[j])) / norm(last!.W)));
  console.log(`| ${steps} | ${drift} | ${rest.toExponential(2)} | ${s(ms)} |`);
}

// A whole tile: 512² and a 125 px margin on every side.
const side = 762;
const rgb = Uint8Array.from({ length: side * side * 3 }, (_, i) => (i * 2654435761) >>> 24);
const weights = classes.map((c) => c.weights);
const W = [...last!.W];
const ensemble = await fitHeadEnsemble(last!.basis, { members: Math.max(...memberCounts) });
const plain = createSimdHeadPatchModel({ W, b: 0 }, weights);
const withMembers = createSimdHeadPatchModel({ W, b: 0, members: ensemble.members }, weights);
const plainMs: number[] = [];
const membersMs: number[] = [];
for (let r = 0; r <= runs; r++) {
  const t0 = performance.now();
  await plain.model(rgb, side, side);
  const t1 = performance.now();
  await withMembers.uncertain!(rgb, side, side);
  const t2 = performance.now();
  if (r > 0) {
    plainMs.push(t1 - t0);
    membersMs.push(t2 - t1);
  }
}
const p = median(plainMs);
const u = median(membersMs);
console.log(
  `\n| whole tile (${side}² read, SIMD ${plain.usesSimd}) | s |\n| --- | --- |\n| head alone | ${s(p)} |\n` +
    `| head + ${ensemble.members.length} members + uncertainty | ${s(u)} (${((u / p - 1) * 100).toFixed(1)} % more) |`,
);
