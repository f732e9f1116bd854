import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHeadExtractors, parseHead, type Head } from '../../core/adaptation/head.js';
import { gzip } from '../../core/cells/gzip.js';
import { inferenceGrid, type InferenceGrid } from '../../core/inference/inference-grid.js';
import { gridKey, headKey, tileKey } from '../../core/inference/keys.js';
import { planRegion } from '../../core/inference/region-plan.js';
import type { Rect } from '../../core/math/rect.js';
import { parseHexColor } from '../../core/session/hex-color.js';
import { createRegionRun, type RunProgress } from '../../core/session/region-run.js';
import { BatchThreads } from './batch-threads.js';
import { cohortCsv, summaryRow, tissueMm2, type SummaryRow } from './cohort-summary.js';
import { writeOverlayTiff } from './overlay-tiff.js';
import { openSlideBytes, type SlideInput } from './slide-inputs.js';
import { slideCells } from './slide-cells.js';
import { TileStore, writeAtomic } from './tile-store.js';

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

export type BatchRegion = 'tissue' | 'slide' | Rect;

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

const STATE_DIR = '.batch';
/** In a slide's state folder once its outputs are written: its summary row. */
const DONE = 'done.json';
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

const regionName = (region: BatchRegion) =>
  typeof region === 'string' ? region : `${region.x},${region.y},${region.width},${region.height}`;

export async function runBatch(options: BatchOptions): Promise<BatchOutcome> {
  const { slides, out, signal } = options;
  const { head, bundle } = readHead(options.head, options.extractors);
  const className = typeof head.metadata.className === 'string' ? head.metadata.className : 'New class';
  const colorText = typeof head.metadata.color === 'string' ? head.metadata.color : '#00e676';
  const rgba = parseHexColor(colorText);
  const files = readBundleFiles(bundle);
  fs.mkdirSync(path.join(out, STATE_DIR), { recursive: true });
  const threads = await BatchThreads.start(options.threads);
  const outcomes: SlideOutcome[] = [];
  try {
    const loaded = await threads.loadModel({ ...files, head: { W: head.W, b: head.b } }, (extractors) =>
      checkHeadExtractors(head.metadata.extractors, extractors),
    );
    for (let index = 0; index < slides.length; index++) {
      signal?.throwIfAborted();
      const input = slides[index];
      const outcome = await runSlide({
        threads,
        input,
        index,
        options,
        head,
        mpp: loaded.mpp,
        className,
        color: [rgba[0], rgba[1], rgba[2]],
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
  readonly className: string;
  readonly color: readonly [number, number, number];
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
      const tiles = planRegion({
        grid,
        ...(typeof region === 'object' ? { region } : {}),
        ...(region === 'tissue' ? { tissue } : {}),
      });
      const store = TileStore.open(path.join(out, STATE_DIR, input.name), {
        version: 1,
        slide: { name: slide.info.name, levels: slide.info.levels[0] },
        head: headKey(Array.from(head.W), head.b),
        threshold: head.threshold,
        grid: gridKey(grid),
        region: regionName(region),
      });
      const geojson = path.join(out, `${input.name}.geojson.gz`);
      const overlay = path.join(out, `${input.name}.probability.tif`);
      const doneFile = path.join(store.dir, DONE);
      // Finished by an earlier run with this head and region: its outputs stand as they are.
      if (fs.existsSync(doneFile) && fs.existsSync(geojson) && fs.existsSync(overlay)) {
        const summary = JSON.parse(fs.readFileSync(doneFile, 'utf8')) as SummaryRow;
        return { name: input.name, geojson, overlay, summary, computedTiles: 0, totalTiles: tiles.count };
      }
      const completed = store.tiles().map((r) => tileKey(grid, r));
      let computed = 0;
      const run = createRegionRun(threads, { slide, grid, tiles, tiling: 'whole', completed, signal });
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
      const rects = [...tiles].map((t) => t.tile);
      const cells = slideCells({
        grid,
        tiles: store,
        rects,
        slideName: input.name,
        className: job.className,
        color: job.color,
      });
      writeAtomic(geojson, await gzip(JSON.stringify(cells.collection)));
      writeOverlayTiff({
        grid,
        tiles: store,
        rects,
        file: overlay,
        description: `probability of ${job.className} (round(255 p)) at ${grid.mpp.x} µm/px: ${input.name}`,
      });
      const area = grid.mppSource === 'assumed' ? undefined : tissueMm2(tissue, grid.slideMpp);
      const row = summaryRow(input.name, cells.collection, area);
      writeAtomic(doneFile, JSON.stringify(row));
      return {
        name: input.name,
        geojson,
        overlay,
        summary: row,
        computedTiles: computed,
        totalTiles: tiles.count,
      };
    } finally {
      await slide.close();
    }
  } finally {
    await reader.close();
  }
}
