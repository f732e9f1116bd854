import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HEAD_FORMAT, HEAD_VERSION, type HeadJson } from '../../../core/adaptation/head.js';
import { openTiff } from '../../../core/slide/tiff-source.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';

/** What the batch tests share: the sample slide, a small TIFF cut from it, running the command line. */

export const SAMPLE = '.cache/sample/sample-slide.tif';
export const SAMPLE_LABELS = '.cache/sample/sample-slide-labels.tif';

/**
 * A 384×256 TIFF cut from the sample slide at (x, y), 0.5 µm/px as the sample: an inference grid
 * of 768×512, two output tiles (512 and 256 wide). Tiled 256², Deflate.
 */
export async function writeSmallSlide(file: string, x: number, y: number): Promise<void> {
  const sample = await openTiff({ kind: 'blob', blob: new Blob([fs.readFileSync(SAMPLE)]), name: 'sample' });
  const pixels = await sample.readRegion({ level: 0, x, y, width: 384, height: 256 });
  const options = {
    width: 384,
    height: 256,
    samplesPerPixel: 3,
    compression: 'deflate',
    tileSize: 256,
    mpp: 0.5,
  } as const;
  fs.writeFileSync(file, encodeTiff([{ options, pixels }]));
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
