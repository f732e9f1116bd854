import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makePatchDataset } from './patches.js';
import type { LevelSize } from './pyramid.js';
import { defaultWorkerCount } from './render-pool.js';
import { DEFAULT_MPP, NUCLEUS_CLASSES, type NucleusClass, type SlideSpec } from './spec.js';
import { TILE_SIZE, writeSlideFiles } from './write-slide.js';

/** Bump when the renderer or file layout changes, so stale outputs are regenerated. */
export const SAMPLE_FORMAT_VERSION = 1;

export interface MakeSampleSlideOptions {
  /** Output folder, default `.cache/sample`. */
  out?: string;
  seed?: number;
  /** Level-0 width and height in pixels, default 8192. */
  size?: number;
  mpp?: number;
  compression?: 'deflate' | 'jpeg';
  /** Number of labelled patches, default 24; 0 skips the patch set. */
  patches?: number;
  patchSize?: number;
  /** Regenerate even if matching outputs exist. */
  force?: boolean;
  /** Worker threads; 0 renders on the calling thread. Default: one per core. */
  workers?: number;
  log?: (line: string) => void;
  /** Rows of the slide rendered so far; when given, the rows are not logged (a progress bar shows them). */
  onRows?: (rowsDone: number, totalRows: number) => void;
}

export interface FileRecord {
  file: string;
  bytes: number;
  sha256: string;
}

/** Contents of `sample-slide.json`. */
export interface SampleSlideManifest {
  version: number;
  spec: SlideSpec;
  mpp: number;
  compression: 'deflate' | 'jpeg';
  tileSize: number;
  levels: LevelSize[];
  classes: NucleusClass[];
  slide: FileRecord;
  labels: FileRecord;
  /** The patch set is cut from another seed, so it does not overlap the demo slide. */
  patches: { dir: string; count: number; size: number; seed: number };
}

export interface MakeSampleSlideResult {
  dir: string;
  manifest: SampleSlideManifest;
  /** True when matching outputs already existed and nothing was written. */
  upToDate: boolean;
  seconds: number;
}

export const SLIDE_FILE = 'sample-slide.tif';
export const LABELS_FILE = 'sample-slide-labels.tif';
export const MANIFEST_FILE = 'sample-slide.json';
export const PATCHES_DIR = 'patches';

/** The patch set's seed: far from the slide's so neither layout repeats the other. */
export function patchSeed(seed: number): number {
  return seed + 7919;
}

/**
 * Writes the sample slide, its label mask, a JSON description and a labelled patch set
 * into `out`. Idempotent: when `sample-slide.json` matches the requested options and the
 * files still hash to what it records, it returns at once.
 */
export async function makeSampleSlide(options: MakeSampleSlideOptions = {}): Promise<MakeSampleSlideResult> {
  const started = performance.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = options.out ?? '.cache/sample';
  const size = options.size ?? 8192;
  const spec: SlideSpec = { seed: options.seed ?? 1, width: size, height: size, mpp: options.mpp ?? DEFAULT_MPP };
  const compression = options.compression ?? 'deflate';
  const patchCount = options.patches ?? 24;
  const patchSize = options.patchSize ?? 512;
  const workers = options.workers ?? defaultWorkerCount();
  const wanted = {
    version: SAMPLE_FORMAT_VERSION,
    spec,
    compression,
    patches: { dir: PATCHES_DIR, count: patchCount, size: patchSize, seed: patchSeed(spec.seed) },
  };
  const seconds = () => (performance.now() - started) / 1000;

  if (!options.force) {
    const existing = await readIfUpToDate(dir, wanted);
    if (existing) {
      log(`sample slide in ${dir} is up to date (seed ${spec.seed}, ${size}², ${compression}); nothing to do`);
      return { dir, manifest: existing, upToDate: true, seconds: seconds() };
    }
  }

  fs.mkdirSync(dir, { recursive: true });
  // The manifest goes last, so an interrupted run never looks complete.
  fs.rmSync(path.join(dir, MANIFEST_FILE), { force: true });
  log(
    `rendering a ${size}×${size} synthetic H&E slide (seed ${spec.seed}, ${spec.mpp} µm/px, ${compression}) ` +
      `with ${workers} worker(s)`,
  );
  let nextReport = 0;
  const levels = await writeSlideFiles({
    spec,
    slidePath: path.join(dir, SLIDE_FILE),
    labelsPath: path.join(dir, LABELS_FILE),
    compression,
    workers,
    onProgress: (rows) => {
      if (options.onRows) options.onRows(rows, size);
      else if (rows >= nextReport || rows === size) {
        log(`  ${rows}/${size} rows  ${seconds().toFixed(1)} s`);
        nextReport += Math.max(TILE_SIZE, Math.ceil(size / 8 / TILE_SIZE) * TILE_SIZE);
      }
    },
  });
  log(`  pyramid of ${levels.length} levels written  ${seconds().toFixed(1)} s`);

  const patchesDir = path.join(dir, PATCHES_DIR);
  fs.rmSync(patchesDir, { recursive: true, force: true });
  if (patchCount > 0) {
    const patchSpec: SlideSpec = { seed: wanted.patches.seed, width: 8192, height: 8192, mpp: spec.mpp };
    await makePatchDataset({ dir: patchesDir, spec: patchSpec, count: patchCount, size: patchSize, workers });
    log(`  ${patchCount} patches of ${patchSize}² written to ${patchesDir}  ${seconds().toFixed(1)} s`);
  }

  const manifest: SampleSlideManifest = {
    ...wanted,
    mpp: spec.mpp,
    tileSize: TILE_SIZE,
    levels,
    classes: [...NUCLEUS_CLASSES],
    slide: await fileRecord(dir, SLIDE_FILE),
    labels: await fileRecord(dir, LABELS_FILE),
  };
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  log(
    `done in ${seconds().toFixed(1)} s: ${path.join(dir, SLIDE_FILE)} ` +
      `(${(manifest.slide.bytes / 2 ** 20).toFixed(1)} MiB)`,
  );
  return { dir, manifest, upToDate: false, seconds: seconds() };
}

async function fileRecord(dir: string, file: string): Promise<FileRecord> {
  const full = path.join(dir, file);
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(full)) hash.update(chunk as Buffer);
  return { file, bytes: fs.statSync(full).size, sha256: hash.digest('hex') };
}

async function readIfUpToDate(
  dir: string,
  wanted: Pick<SampleSlideManifest, 'version' | 'spec' | 'compression' | 'patches'>,
): Promise<SampleSlideManifest | null> {
  let manifest: SampleSlideManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as SampleSlideManifest;
  } catch {
    return null;
  }
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (
    !same(manifest.version, wanted.version) ||
    !same(manifest.spec, wanted.spec) ||
    manifest.compression !== wanted.compression ||
    !same(manifest.patches, wanted.patches)
  )
    return null;
  for (const record of [manifest.slide, manifest.labels]) {
    if (!fs.existsSync(path.join(dir, record.file))) return null;
    const now = await fileRecord(dir, record.file);
    if (now.bytes !== record.bytes || now.sha256 !== record.sha256) return null;
  }
  if (wanted.patches.count > 0 && !fs.existsSync(path.join(dir, PATCHES_DIR, 'manifest.csv'))) return null;
  return manifest;
}
