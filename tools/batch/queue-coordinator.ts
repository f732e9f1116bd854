import fs from 'node:fs';
import path from 'node:path';
import { FlowProducer, Job, Queue, QueueEvents, type RedisOptions } from 'bullmq';
import { inferenceGrid } from '../../core/inference/inference-grid.js';
import { tileKey } from '../../core/inference/keys.js';
import { cohortCsv, type SummaryRow } from './cohort-summary.js';
import { SLIDE_QUEUE, slideJobId, TILE_QUEUE, type JobFiles, type SlideJob, type TileJob } from './queue-jobs.js';
import { startModelThreads } from './run-batch.js';
import { isUrl, openSlideBytes, type SlideInput } from './slide-inputs.js';
import { finishedSlide } from './slide-outputs.js';
import { planSlide, readPlan, slideStamp, STATE_DIR, type BatchRegion } from './slide-plan.js';
import { writeAtomic } from './tile-store.js';

/**
 * The batch spread over machines on BullMQ: this process (`batch --queue redis://…`) plans each
 * slide — opens it, reads its tissue, writes its plan and stamps its tile store in the shared
 * `--out` (slide-plan.ts) — and adds it as a flow: a parent job "assemble the outputs" over child
 * jobs of `tilesPerJob` tiles each, only for tiles not stored yet. `openseadragon-fewshot worker`
 * processes on any machine run them (queue-worker.ts, queue-processor.ts). It then waits for the
 * parents and writes the cohort's CSV from their rows, as the local batch does.
 *
 * Nothing is lost when a process dies. A worker's job is retried by BullMQ (its lock expires and
 * another worker's stalled-job check puts it back; a job that throws is retried up to `attempts`);
 * tiles already stored are not computed again. This process, restarted with the same command,
 * finds its flows by their ids (queue-jobs.ts) and waits for them again; a flow that failed (a
 * tile job out of attempts) is added again with the tiles still missing.
 */

export interface QueuedBatchOptions extends JobFiles {
  readonly slides: readonly SlideInput[];
  readonly region: BatchRegion;
  readonly connection: RedisOptions;
  /** Tiles per child job: fewer is finer-grained retries and balance, more is less queue traffic. */
  readonly tilesPerJob: number;
  /** A line for the user (a slide added, a slide done). */
  readonly onLog?: (line: string) => void;
  /** Tiles done of all slides' tiles to compute, as their jobs finish (from when every slide is queued). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface QueuedBatchOutcome {
  readonly rows: readonly SummaryRow[];
  readonly csv: string;
}

/** Tries per tile job; each waits 2, 4, 8… seconds after a failure (a stall is retried at once). */
const ATTEMPTS = 5;

export async function runQueuedBatch(options: QueuedBatchOptions): Promise<QueuedBatchOutcome> {
  const { slides, out, connection, region } = options;
  fs.mkdirSync(path.join(out, STATE_DIR), { recursive: true });
  const files: JobFiles = {
    head: path.resolve(options.head),
    out: path.resolve(out),
    ...(options.extractors !== undefined ? { extractors: path.resolve(options.extractors) } : {}),
  };
  const flows = new FlowProducer({ connection });
  const slideQueue = new Queue(SLIDE_QUEUE, { connection });
  const slideEvents = new QueueEvents(SLIDE_QUEUE, { connection });
  const tileEvents = new QueueEvents(TILE_QUEUE, { connection });
  const model = await startModelThreads(options.head, options.extractors, 1);
  try {
    await Promise.all([slideEvents.waitUntilReady(), tileEvents.waitUntilReady()]);
    // Tiles to compute per child job id, for the progress.
    const pending = new Map<string, number>();
    let done = 0;
    let total = 0;
    // Progress once every slide is queued: only then is the total known.
    let queued = false;
    tileEvents.on('completed', ({ jobId }) => {
      const tiles = pending.get(jobId);
      if (tiles === undefined) return;
      pending.delete(jobId);
      done += tiles;
      if (queued) options.onProgress?.(done, total);
    });
    const waits: Promise<SummaryRow>[] = [];
    for (const input of slides) {
      const source = isUrl(input.source) ? input.source : path.resolve(input.source);
      const reader = await openSlideBytes(input);
      let job: Job | undefined;
      try {
        const slide = await model.threads.openSlide(reader);
        try {
          const grid = inferenceGrid(slide.info, model.mpp);
          const tissue = await model.threads.tissueMask(slide);
          const plan = planSlide({ name: input.name, info: slide.info, grid, tissue, head: model.head, region, out });
          const finished = finishedSlide(plan);
          if (finished) {
            options.onLog?.(`${input.name}: done by an earlier run (${finished.summary.cells} cells)`);
            waits.push(Promise.resolve(finished.summary));
            continue;
          }
          const id = slideJobId(input.name, slideStamp(slide.info, model.head, grid, region), files.out);
          job = await Job.fromId(slideQueue, id);
          // A flow that failed, or completed with its outputs gone since (deleted by hand): added anew.
          const state = await job?.getState();
          if (job && (state === 'failed' || state === 'completed')) {
            await job.remove();
            job = undefined;
          }
          const stored = new Set(plan.store.tiles().map((r) => tileKey(grid, r)));
          const todo = [...plan.tiles].filter((t) => !stored.has(t.key)).map((t) => t.tile);
          const batches: TileJob[] = [];
          for (let i = 0; i < todo.length; i += options.tilesPerJob)
            batches.push({ ...files, source, name: input.name, region, tiles: todo.slice(i, i + options.tilesPerJob) });
          batches.forEach((b, k) => pending.set(`${id}-${k}`, b.tiles.length));
          total += todo.length;
          if (!job) {
            const parent: SlideJob = { ...files, name: input.name };
            const node = await flows.add({
              name: 'slide',
              queueName: SLIDE_QUEUE,
              data: parent,
              opts: { jobId: id, attempts: ATTEMPTS, backoff: { type: 'exponential', delay: 2000 } },
              children: batches.map((data, k) => ({
                name: 'tiles',
                queueName: TILE_QUEUE,
                data,
                opts: {
                  jobId: `${id}-${k}`,
                  attempts: ATTEMPTS,
                  backoff: { type: 'exponential', delay: 2000 },
                  failParentOnFailure: true,
                },
              })),
            });
            job = node.job;
            options.onLog?.(
              `${input.name}: ${todo.length} of ${plan.tiles.count} tiles queued in ${batches.length} jobs`,
            );
          } else options.onLog?.(`${input.name}: queued by an earlier run, waiting for it`);
        } finally {
          await slide.close();
        }
      } finally {
        await reader.close();
      }
      const name = input.name;
      waits.push(
        job.waitUntilFinished(slideEvents).then(
          () => {
            // The row as the worker wrote it beside the tiles: whole, whichever worker and attempt wrote it.
            const row = finishedSlide(readPlan(name, out))?.summary;
            if (!row) throw new Error(`${name}: its flow completed but its outputs are not in ${out}`);
            options.onLog?.(`${name}: ${row.cells} cells → ${name}.geojson.gz, ${name}.probability.tif`);
            return row;
          },
          (err: unknown) => {
            const message = err instanceof Error ? err.message : String(err);
            throw new Error(`${name}: its flow failed (${message}); rerun to retry the tiles still missing`);
          },
        ),
      );
    }
    queued = true;
    options.onProgress?.(done, total);
    const rows = await Promise.all(waits);
    const csv = path.join(out, 'cohort.csv');
    writeAtomic(csv, cohortCsv(rows));
    return { rows, csv };
  } finally {
    await model.threads.close();
    await Promise.allSettled([flows.close(), slideQueue.close(), slideEvents.close(), tileEvents.close()]);
  }
}
