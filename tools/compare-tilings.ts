// Prints the paired comparison of the evaluation's two tilings (tiling-comparison.ts) from the
// state `npm run evaluate` left in its cache, once both `--tiling whole` and `--tiling patches`
// have scored the same adaptations.
import fs from 'node:fs';
import path from 'node:path';
import { existingFile, startCli } from './cli.js';
import { compareTilings, tilingTable } from './tiling-comparison.js';
import type { EvaluationState } from './evaluation-state.js';

const args = startCli({
  name: 'compare-tilings',
  command: 'npm run compare-tilings',
  synopsis: '[--cache DIR]',
  description: `
Dice of the same heads with test images predicted whole and in 256² stride-64 patches, and their
difference head by head (median [quartiles], Dice %), from an evaluation's state.`,
  options: {
    cache: {
      type: 'string',
      value: 'DIR',
      default: '.cache/evaluate/consep-d25',
      description: "the evaluation's state folder (its --cache)",
    },
  },
  examples: ['npm run compare-tilings', 'npm run compare-tilings -- --cache .cache/evaluate/consep-d25'],
});

const file = existingFile('cache', path.join(args.cache, 'state.json'), 'the state.json an evaluation leaves');
const state = JSON.parse(fs.readFileSync(file, 'utf8')) as EvaluationState;
const images = [
  ...new Set(
    Object.keys(state.counts)
      .filter((k) => k.startsWith('patches/'))
      .map((k) => k.split('/').slice(2).join('/')),
  ),
].sort();
const cells = compareTilings(state, images);
if (!cells.length) throw new Error(`no adaptation of ${file} is scored with both tilings on every test image`);
console.log(`${images.length} test images: ${images.join(', ')}\n`);
console.log(tilingTable(cells));
