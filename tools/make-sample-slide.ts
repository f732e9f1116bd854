// Builds the demo's synthetic sample slide. Usage:
//   npx tsx tools/make-sample-slide.ts [--out DIR] [--seed N] [--size N]
//     [--compression deflate|jpeg] [--patches N] [--workers N] [--force]
import { parseArgs } from 'node:util';
import { makeSampleSlide } from './sample/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: '.cache/sample' },
    seed: { type: 'string', default: '1' },
    size: { type: 'string', default: '8192' },
    compression: { type: 'string', default: 'deflate' },
    patches: { type: 'string', default: '24' },
    workers: { type: 'string' },
    force: { type: 'boolean', default: false },
  },
});

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${text}`);
  return n;
}

const compression = values.compression;
if (compression !== 'deflate' && compression !== 'jpeg')
  throw new Error(`--compression must be deflate or jpeg, got ${compression}`);

await makeSampleSlide({
  out: values.out,
  seed: integer('seed', values.seed, 0),
  size: integer('size', values.size, 1),
  compression,
  patches: integer('patches', values.patches, 0),
  workers: integer('workers', values.workers, 0),
  force: values.force,
});
