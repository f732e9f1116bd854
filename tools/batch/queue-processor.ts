import path from 'node:path';
import type { SandboxedJob } from 'bullmq';
import { inferenceGrid, type InferenceGrid } from '../../core/inference/inference-grid.js';
import { tileKey } from '../../core/inference/keys.js';
import { plannedTile, tileSetOf } from '../../core/inference/tile-set.js';
import { createRegionRun } from '../../core/session/region-run.js';
import type { OpenedSlide } from './batch-threads.js';
import type { SlideJob, TileJob, TileJobResult } from './queue-jobs.js';
import { readHead, startModelThreads, type BatchModel } from './run-batch.js';
import { openSlideBytes } from './slide-inputs.js';
import { finishedSlide, headNaming, writeSlideOutputs } from './slide-outputs.js';
import type { SummaryRow } from './cohort-summary.js';
import { readPlan, slideStamp, STATE_DIR } from './slide-plan.js';
import { TileStore } from './tile-store.js';

/**
 * The batch workers' job processor, a BullMQ sandboxed processor: each runs in a child process of
 * `openseadragon-fewshot worker` (queue-worker.ts), so tiles computing here never hold up the
 * worker's own event loop (its job locks, its stalled-job checks). A child process serves one
 * job at a time and is kept for the next, so it keeps its model (one worker thread with the head
 * and extractors loaded, as the local batch's) and its last slide open between jobs.
 *
 * A tile job computes the tiles of its batch that are not stored yet, each stored as it is done
 * (tile-store.ts: temporary file and rename), so a job killed half-way and retried computes only
 * the rest, and two workers computing the same tile write the same bytes. A slide job (the
 * flow's parent, run once every tile job is done) writes the slide's outputs from the stored
 * tiles (slide-outputs.ts), the same files whichever worker writes them, however often.
 */

let model: { key: string; loaded: Promise<BatchModel> } | undefined;
let slide:
  { source: string; opened: Promise<{ slide: OpenedSlide; grid: InferenceGrid; close(): Promise<void> }> } | undefined;

function modelFor(job: TileJob): Promise<BatchModel> {
  const key = JSON.stringify([job.head, job.extractors]);
  if (model?.key !== key) {
    void model?.loaded.then((m) => m.threads.close()).catch(() => undefined);
    model = { key, loaded: startModelThreads(job.head, job.extractors, 1) };
  }
  return model.loaded;
}

function slideFor(job: TileJob, loaded: BatchModel) {
  if (slide?.source !== job.source) {
    void slide?.opened.then((s) => s.close()).catch(() => undefined);
    const opened = (async () => {
      const reader = await openSlideBytes({ source: job.source, name: job.name });
      const s = await loaded.threads.openSlide(reader);
      return {
        slide: s,
        grid: inferenceGrid(s.info, loaded.mpp),
        close: async () => {
          await s.close();
          await reader.close();
        },
      };
    })();
    slide = { source: job.source, opened };
  }
  return slide.opened;
}

async function computeTiles(job: TileJob, signal?: AbortSignal): Promise<TileJobResult> {
  const loaded = await modelFor(job);
  const { slide: opened, grid } = await slideFor(job, loaded);
  const store = TileStore.existing(
    path.join(job.out, STATE_DIR, job.name),
    slideStamp(opened.info, loaded.head, grid, job.region),
  );
  const stored = new Set(store.tiles().map((r) => tileKey(grid, r)));
  const todo = job.tiles.filter((r) => !stored.has(tileKey(grid, r))).map((r) => plannedTile(grid, r));
  const run = createRegionRun(loaded.threads, {
    slide: opened,
    grid,
    tiles: tileSetOf(todo),
    tiling: 'whole',
    completed: [],
    ...(signal ? { signal } : {}),
  });
  run.addEventListener('tile', ({ detail }) => store.put(detail.tile, detail.probabilities, loaded.head.threshold));
  const summary = await run.finished;
  if (summary.state === 'interrupted') throw summary.reason;
  if (summary.state === 'cancelled') throw new Error(`${job.name}: the tile job was cancelled`);
  if (summary.failures.length > 0) {
    const error = summary.failures[0].error;
    throw error instanceof Error ? error : new Error(String(error));
  }
  return { computed: todo.length, tiles: job.tiles.length };
}

async function assembleSlide(job: SlideJob): Promise<SummaryRow> {
  const plan = readPlan(job.name, job.out);
  const finished = finishedSlide(plan);
  if (finished) return finished.summary;
  const stored = new Set(plan.store.tiles().map((r) => tileKey(plan.grid, r)));
  const missing = [...plan.tiles].filter((t) => !stored.has(t.key)).length;
  // Its children are done, so this is a store another coordinator emptied (another head): fail, not guess.
  if (missing > 0) throw new Error(`${job.name}: ${missing} of its ${plan.tiles.count} tiles are not stored`);
  const { head } = readHead(job.head, job.extractors);
  return (await writeSlideOutputs(plan, headNaming(head))).summary;
}

export default async function processJob(
  job: SandboxedJob<TileJob | SlideJob>,
  _token?: string,
  signal?: AbortSignal,
): Promise<TileJobResult | SummaryRow> {
  if (job.name === 'tiles') return computeTiles(job.data as TileJob, signal);
  if (job.name === 'slide') return assembleSlide(job.data as SlideJob);
  throw new Error(`no such batch job: ${JSON.stringify(job.name)}`);
}
