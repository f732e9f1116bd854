import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHeadExtractors, parseHead, type Head } from '../../core/adaptation/head.js';
import { inferenceGrid, type InferenceGrid } from '../../core/inference/inference-grid.js';
import { tileKey } from '../../core/inference/keys.js';
import { createRegionRun, type RunProgress } from '../../core/session/region-run.js';
import { BatchThreads } from './batch-threads.js';
import { cohortCsv, type SummaryRow } from './cohort-summary.js';
import { openSlideBytes, type SlideInput } from './slide-inputs.js';
import { finishedSlide, headNaming, writeSlideOutputs, type SlideNaming } from './slide-outputs.js';
import { planSlide, regionName, STATE_DIR, type BatchRegion } from './slide-plan.js';
import { writeAtomic } from './tile-store.js';

export type { BatchRegion } from './slide-plan.js';

/**
 * The batch: a head applied to whole slides, headless. Per slide, a region run
 * (core/session/region-run.ts, the viewer's own) over the region's tiles
 * (core/inference/region-plan.ts: the slide, its tissue, or a rectangle) on worker threads
 * (batch-threads.ts), every finished tile stored at once (tile-store.ts); then, from the stored
 * tiles, the slide's outputs — `<name>.geojson.gz` (its cells, slide-cells.ts),
 * `<name>.probability.tif` (overlay-tiff.ts) — and its summary row; at the end `cohort.csv`.
 * Interrupted (the signal, Ctrl-C, a kill), a rerun with the same head and region computes only
 * the tiles not stored; outputs are written through temporary files and renames and are the same
 * bytes however often and wherever the run was interrupted.
 */

export interface BatchOptions {
  /** The head's JSON file (a saved head: core/adaptation/head.ts). */
  readonly head: string;
  /**
   * The extractor bundle's manifest (its weights file beside it); default the head's
   * `metadata.bundle`, else the shipped set.
   */
  readonly extractors?: string;
  readonly slides: readonly SlideInput[];
  readonly region: BatchRegion;
  readonly out: string;
  readonly threads: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: BatchProgress) => void;
  /** A line for the user (a slide's outputs written, a slide skipped). */
  readonly onLog?: (line: string) => void;
}

export interface BatchProgress {
  /** 0-based index of the slide running, of `slides`. */
  readonly slideIndex: number;
  readonly slides: number;
  readonly name: string;
  readonly run: RunProgress;
}

export interface SlideOutcome {
  readonly name: string;
  readonly geojson: string;
  readonly overlay: string;
  readonly summary: SummaryRow;
  /** Tiles computed by this call (not stored by an earlier one). */
  readonly computedTiles: number;
  readonly totalTiles: number;
}

export interface BatchOutcome {
  readonly slides: readonly SlideOutcome[];
  readonly csv: string;
}

/** The run stopped on its signal; what was stored stays, and a rerun resumes from it. */
export class BatchInterrupted extends Error {
  constructor(readonly slide: string) {
    super(`interrupted on slide ${slide}: rerun the same command to resume`);
    this.name = 'BatchInterrupted';
  }
}

/** The shipped extractors, from tools/batch/ (source) and from dist/bin/ (the package's build) alike. */
const SHIPPED_EXTRACTORS = fileURLToPath(new URL('../../models/default/extractors.json', import.meta.url));

interface LoadedHead {
  readonly head: Head;
  readonly bundle: string;
}

/**
 * The head and where its extractors are: --extractors, else the head's `metadata.bundle` (a path
 * relative to the head), else the shipped set.
 */
export function readHead(file: string, extractors?: string): LoadedHead {
  const head = parseHead(fs.readFileSync(file, 'utf8'));
  const named = head.metadata.bundle;
  const bundle =
    extractors ??
    (typeof named === 'string' && named !== 'default' ? path.resolve(path.dirname(file), named) : SHIPPED_EXTRACTORS);
  return { head, bundle };
}

function readBundleFiles(manifestFile: string): { manifest: unknown; weights: ArrayBuffer } {
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { weightsFile?: unknown };
  const weightsName = typeof manifest.weightsFile === 'string' ? manifest.weightsFile : 'extractors.bin';
  const bytes = fs.readFileSync(path.join(path.dirname(manifestFile), path.basename(weightsName)));
  return { manifest, weights: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
}

export interface BatchModel {
  readonly threads: BatchThreads;
  readonly head: Head;
  /** The extractors' µm/px: the inference grid's scale. */
  readonly mpp: number;
}

/** `count` worker threads with the head and its extractors loaded (closed again when loading fails). */
export async function startModelThreads(headFile: string, extractors: string | undefined, count: number) {
  const { head, bundle } = readHead(headFile, extractors);
  const files = readBundleFiles(bundle);
  const threads = await BatchThreads.start(count);
  try {
    const loaded = await threads.loadModel({ ...files, head: { W: head.W, b: head.b } }, (names) =>
      checkHeadExtractors(head.metadata.extractors, names),
    );
    return { threads, head, mpp: loaded.mpp } satisfies BatchModel;
  } catch (err) {
    await threads.close();
    throw err;
  }
}

export async function runBatch(options: BatchOptions): Promise<BatchOutcome> {
  const { slides, out, signal } = options;
  fs.mkdirSync(path.join(out, STATE_DIR), { recursive: true });
  const { threads, head, mpp } = await startModelThreads(options.head, options.extractors, options.threads);
  const naming = headNaming(head);
  const outcomes: SlideOutcome[] = [];
  try {
    for (let index = 0; index < slides.length; index++) {
      signal?.throwIfAborted();
      const input = slides[index];
      const outcome = await runSlide({
        threads,
        input,
        index,
        options,
        head,
        mpp,
        naming,
      }).catch((err: unknown) => {
        // Stopped while opening the slide or reading its tissue: an interruption all the same.
        throw signal?.aborted && !(err instanceof BatchInterrupted) ? new BatchInterrupted(input.name) : err;
      });
      outcomes.push(outcome);
      options.onLog?.(
        `${input.name}: ${outcome.summary.cells} cells, ` +
          `${outcome.computedTiles} of ${outcome.totalTiles} tiles computed now → ` +
          `${path.basename(outcome.geojson)}, ${path.basename(outcome.overlay)}`,
      );
    }
  } finally {
    await threads.close();
  }
  const csv = path.join(out, 'cohort.csv');
  writeAtomic(csv, cohortCsv(outcomes.map((o) => o.summary)));
  return { slides: outcomes, csv };
}

interface SlideJob {
  readonly threads: BatchThreads;
  readonly input: SlideInput;
  readonly index: number;
  readonly options: BatchOptions;
  readonly head: Head;
  readonly mpp: number;
  readonly naming: SlideNaming;
}

async function runSlide(job: SlideJob): Promise<SlideOutcome> {
  const { threads, input, index, options, head } = job;
  const { out, region, signal } = options;
  const reader = await openSlideBytes(input, signal);
  try {
    const slide = await threads.openSlide(reader);
    try {
      const grid: InferenceGrid = inferenceGrid(slide.info, job.mpp);
      const tissue = await threads.tissueMask(slide, { signal });
      const plan = planSlide({ name: input.name, info: slide.info, grid, tissue, head, region, out });
      const store = plan.store;
      // Finished by an earlier run with this head and region: its outputs stand as they are.
      const finished = finishedSlide(plan);
      if (finished) return { ...finished, computedTiles: 0, totalTiles: plan.tiles.count };
      const completed = store.tiles().map((r) => tileKey(grid, r));
      let computed = 0;
      const run = createRegionRun(threads, { slide, grid, tiles: plan.tiles, tiling: 'whole', completed, signal });
      run.addEventListener('tile', ({ detail }) => {
        store.put(detail.tile, detail.probabilities, head.threshold);
        computed++;
      });
      run.addEventListener('progress', ({ detail }) =>
        options.onProgress?.({ slideIndex: index, slides: options.slides.length, name: input.name, run: detail }),
      );
      const summary = await run.finished;
      if (summary.state === 'cancelled') throw new BatchInterrupted(input.name);
      if (summary.state === 'interrupted') throw summary.reason;
      if (summary.failures.length > 0) {
        const first = summary.failures[0];
        const message = first.error instanceof Error ? first.error.message : String(first.error);
        throw new Error(
          `${input.name}: ${summary.failures.length} tiles failed ` +
            `(first, at ${regionName(first.tile.tile)}: ${message}); ` +
            'the others are stored: rerun to retry',
        );
      }
      const written = await writeSlideOutputs(plan, job.naming);
      return { ...written, computedTiles: computed, totalTiles: plan.tiles.count };
    } finally {
      await slide.close();
    }
  } finally {
    await reader.close();
  }
}
