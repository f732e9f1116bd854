import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HEAD_FORMAT, HEAD_VERSION, type HeadJson } from '../../../core/adaptation/head.js';
import type { InferenceGrid } from '../../../core/inference/inference-grid.js';
import type { PoolSlide } from '../../../core/session/compute.js';
import { createSession, type Session } from '../../../core/session/session.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { createSupportSet, LABEL_CLASS } from '../../../core/support-set/support-set.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';

/** What the batch tests share: the sample slide, a small TIFF cut from it, running the command line. */

export const SAMPLE = '.cache/sample/sample-slide.tif';
export const SAMPLE_LABELS = '.cache/sample/sample-slide-labels.tif';

/**
 * A 384×256 TIFF cut from the sample slide at (x, y), 0.5 µm/px as the sample: an inference grid
 * of 768×512, two output tiles (512 and 256 wide); or `width` × `height`. Tiled 256², Deflate.
 */
export async function writeSmallSlide(file: string, x: number, y: number, width = 384, height = 256): Promise<void> {
  const sample = await openTiff({ kind: 'blob', blob: new Blob([fs.readFileSync(SAMPLE)]), name: 'sample' });
  const pixels = await sample.readRegion({ level: 0, x, y, width, height });
  const options = {
    width,
    height,
    samplesPerPixel: 3,
    compression: 'deflate',
    tileSize: 256,
    mpp: 0.5,
  } as const;
  fs.writeFileSync(file, encodeTiff([{ options, pixels }]));
}

const LYMPHOCYTE = 2;
const PATCH = 256;
const SIDE = PATCH / 2;

export interface AdaptOptions {
  readonly pool: WorkerPool;
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  readonly loaded: { readonly extractors: Session['extractors']; readonly mpp: number };
}

/**
 * A session on the sample slide adapted to its lymphocytes: one 256² patch (at the inference
 * grid's scale; the 128² level-0 square of the sample with most lymphocyte pixels), its mask from
 * the sample's labels. A real head, with cells that are cells, for the batch tests.
 */
export async function adaptLymphocytes(
  options: AdaptOptions,
): Promise<{ session: Session; patch: { x: number; y: number } }> {
  const { pool, slide, grid, loaded } = options;
  const labels = await openTiff({ kind: 'blob', blob: new Blob([fs.readFileSync(SAMPLE_LABELS)]), name: 'labels' });
  const lymphocytes = async (x: number, y: number) => {
    const rgb = await labels.readRegion({ level: 0, x, y, width: SIDE, height: SIDE });
    return Uint8Array.from({ length: SIDE * SIDE }, (_, i) => (rgb[3 * i] === LYMPHOCYTE ? 1 : 0));
  };
  let best = { x: 0, y: 0, n: -1 };
  for (let y = 1024; y < 7168; y += 512) {
    for (let x = 1024; x < 7168; x += 512) {
      const n = (await lymphocytes(x, y)).reduce((s, v) => s + v, 0);
      if (n > best.n) best = { x, y, n };
    }
  }
  const ids = await lymphocytes(best.x, best.y);
  const mask = Uint8Array.from({ length: PATCH * PATCH }, (_, i) =>
    ids[((i / PATCH) >> 1) * SIDE + ((i % PATCH) >> 1)] ? LABEL_CLASS : 0,
  );
  const level0 = slide.info.levels[0];
  const support = createSupportSet({
    slide: { name: slide.info.name, width: level0.width, height: level0.height, mpp: slide.info.mpp!.x },
    extractorMpp: loaded.mpp,
    scale: grid.scaleX,
  });
  support.replacePatches([{ id: 'lymphocytes', x: best.x, y: best.y, scale: grid.scaleX, mask }]);
  const session = createSession({
    compute: pool,
    slide,
    grid,
    extractors: loaded.extractors,
    support,
    className: 'Lymphocyte',
    color: '#3cb44b',
  });
  await session.adapt();
  return { session, patch: best };
}

/** adaptLymphocytes on a pool of its own (two in-thread workers), its head saved to `file`. */
export async function writeLymphocyteHead(file: string): Promise<void> {
  const pool = await WorkerPool.create({ workers: 2, createWorker: () => createInThreadWorker() });
  try {
    const weights = fs.readFileSync('models/default/extractors.bin');
    const loaded = await pool.setExtractors({
      kind: 'decoded',
      manifest: JSON.parse(fs.readFileSync('models/default/extractors.json', 'utf8')),
      weights: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    });
    const slide = await pool.openSlide({
      kind: 'blob',
      blob: new Blob([fs.readFileSync(SAMPLE)]),
      name: 'sample-slide.tif',
    });
    const { session } = await adaptLymphocytes({ pool, slide, grid: pool.inferenceGrid(slide), loaded });
    fs.writeFileSync(file, JSON.stringify(session.saveHead()));
  } finally {
    pool.close();
  }
}

/** A head over the shipped extractors with made-up weights: what the command line tests need of one. */
export function madeUpHead(): HeadJson {
  const features = 75;
  return {
    format: HEAD_FORMAT,
    version: HEAD_VERSION,
    W: Array.from({ length: features }, (_, i) => (i % 5) * 0.02 - 0.04),
    b: -0.5,
    featureStats: { mean: new Array(features).fill(0), std: new Array(features).fill(1) },
    threshold: 0.5,
    metadata: {
      className: 'Made up',
      color: '#ff8800',
      extractors: [
        { name: 'inflammatory', depth: 25 },
        { name: 'epithelial', depth: 25 },
        { name: 'spindle', depth: 25 },
      ],
    },
  };
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a Node command line (`args` after `node`) to its end; `whenStarted` gets the child as soon
 * as it runs (to signal it).
 */
export function runNode(
  args: readonly string[],
  whenStarted?: (child: ReturnType<typeof spawn>) => void,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    whenStarted?.(child);
  });
}

/** The batch command line from its source, under tsx. */
export const SOURCE_BIN = ['--import', 'tsx', 'tools/batch/bin.ts'];

/** Resolves once a file whose name matches `pattern` is in `dir` (created if missing): a watch, not a poll. */
export function fileAppears(dir: string, pattern: RegExp): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  return new Promise((resolve) => {
    const watcher = fs.watch(dir, () => check());
    const check = () => {
      const found = fs.readdirSync(dir).find((name) => pattern.test(name));
      if (found) {
        watcher.close();
        resolve(path.join(dir, found));
      }
    };
    check();
  });
}
