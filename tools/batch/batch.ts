import os from 'node:os';
import path from 'node:path';
import { clock, existingFile, integerOption, progressLine, runCli, usageError, type Progress } from '../cli.js';
import { HeadError } from '../../core/adaptation/head.js';
import { BatchInterrupted, readHead, runBatch, type BatchRegion } from './run-batch.js';
import { queueConnection } from './queue-jobs.js';
import { runQueuedBatch } from './queue-coordinator.js';
import { slideInputs } from './slide-inputs.js';

/**
 * `npx openseadragon-fewshot batch`: the batch's command line (run-batch.ts does the work). One
 * progress line per slide (tiles, MP/s, ETA of the slide, then of the whole batch), a line per
 * slide finished; Ctrl-C stops at once, keeping every stored tile, and the same command resumes.
 */

const spec = {
  name: 'openseadragon-fewshot batch',
  command: 'npx openseadragon-fewshot batch',
  direct: true,
  synopsis: '--head FILE (--slide PATH|GLOB|URL… | --list FILE) --out DIR [options]',
  description:
    'Applies a saved head to whole slides without a viewer, on worker threads: per slide its cells as QuPath\n' +
    'GeoJSON (<name>.geojson.gz, whole across tile seams), its probabilities as a tiled pyramidal TIFF\n' +
    '(<name>.probability.tif), and a row of cohort.csv. Interrupt and rerun to resume.',
  options: {
    head: { type: 'string', value: 'FILE', description: 'the head (JSON, as the viewer saves it)' },
    extractors: {
      type: 'string',
      value: 'FILE',
      description: "extractor bundle manifest (default: the head's metadata.bundle, else the shipped set)",
    },
    slide: { type: 'string', multiple: true, value: 'PATH|GLOB|URL', description: 'a slide, a glob of slides, a URL' },
    list: { type: 'string', multiple: true, value: 'FILE', description: 'a file of slide paths or URLs, one a line' },
    region: {
      type: 'string',
      default: 'tissue',
      value: 'tissue|slide|X,Y,W,H',
      description: 'where to predict: tissue, the whole slide, or a level-0 rectangle',
    },
    out: {
      type: 'string',
      value: 'DIR',
      description: 'output folder (created; its .batch/ holds the resumable state)',
    },
    threads: { type: 'string', value: 'N', description: 'worker threads (default: every core)' },
    queue: {
      type: 'string',
      value: 'redis://HOST:PORT',
      description: 'spread the tiles over `openseadragon-fewshot worker`s on this Redis (BullMQ) instead of threads',
    },
    'tiles-per-job': {
      type: 'string',
      default: '8',
      value: 'N',
      description: 'with --queue: tiles per job (a retry redoes at most these)',
    },
  },
  examples: [
    'npx openseadragon-fewshot batch --head lymphocytes.head.json --slide "slides/*.svs" --out results',
    'npx openseadragon-fewshot batch --head h.json --list urls.txt --region slide --out results --threads 8',
    'npx openseadragon-fewshot batch --head h.json --slide "/shared/slides/*.tif" --out /shared/results --queue redis://q:6379',
  ],
} as const;

function regionOption(text: string): BatchRegion {
  if (text === 'tissue' || text === 'slide') return text;
  const parts = text.split(',').map(Number);
  if (parts.length !== 4 || !parts.every((n) => Number.isInteger(n) && n >= 0) || !(parts[2] > 0 && parts[3] > 0))
    usageError(`--region must be tissue, slide or X,Y,W,H (level-0 pixels, W and H > 0), got ${JSON.stringify(text)}`);
  return { x: parts[0], y: parts[1], width: parts[2], height: parts[3] };
}

export async function batchCommand(argv: readonly string[]): Promise<void> {
  await runCli(
    spec,
    async (args) => {
      if (args.head === undefined) usageError('--head FILE is required');
      const head = existingFile('head', args.head, 'a head saved from the viewer');
      try {
        readHead(head, args.extractors);
      } catch (err) {
        if (err instanceof HeadError) usageError(`--head ${head}: ${err.message.replace(/^Head: /, '')}`);
        throw err;
      }
      if (args.extractors !== undefined) existingFile('extractors', args.extractors, "an extractor bundle's manifest");
      if (args.out === undefined) usageError('--out DIR is required');
      const slides = slideInputs(args.slide ?? [], args.list ?? []);
      const region = regionOption(args.region);
      const threads =
        args.threads === undefined ? os.availableParallelism() : integerOption('threads', args.threads, 1, 1024);
      if (args.queue !== undefined) {
        const connection = queueConnection(args.queue);
        const tilesPerJob = integerOption('tiles-per-job', args['tiles-per-job'], 1, 1_000_000);
        let bar: Progress | undefined;
        const outcome = await runQueuedBatch({
          head,
          ...(args.extractors !== undefined ? { extractors: args.extractors } : {}),
          out: path.resolve(args.out),
          slides,
          region,
          connection,
          tilesPerJob,
          onLog: (line) => {
            bar?.log(line);
            if (!bar) process.stdout.write(`${line}\n`);
          },
          onProgress: (done, total) => {
            bar ??= progressLine({ label: 'tiles (queue)', total });
            bar.update(done);
          },
        });
        bar?.finish();
        process.stdout.write(`${outcome.rows.length} slides → ${outcome.csv}\n`);
        return;
      }
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      let bar: { index: number; progress: Progress } | undefined;
      const totalSlides = slides.length;
      const started = performance.now();
      const outcome = await runBatch({
        head,
        extractors: args.extractors,
        slides,
        region,
        out: path.resolve(args.out),
        threads,
        signal: controller.signal,
        onLog: (line) => {
          // A slide's line comes once it is done: its bar ends first.
          bar?.progress.finish();
          process.stdout.write(`${line}\n`);
        },
        onProgress: ({ slideIndex, name, run }) => {
          if (bar?.index !== slideIndex) {
            bar?.progress.finish();
            bar = {
              index: slideIndex,
              progress: progressLine({ label: `[${slideIndex + 1}/${totalSlides}] ${name}`, total: run.totalTiles }),
            };
          }
          const rate = run.megapixelsPerSecond;
          // The batch's ETA: this slide's at its rate, plus the slides to come at the same seconds per slide.
          const slideEta = run.etaSeconds;
          const batchEta =
            slideEta === undefined
              ? undefined
              : slideEta + (totalSlides - slideIndex - 1) * (run.activeSeconds + slideEta);
          bar.progress.update(run.doneTiles + run.failedTiles, {
            ...(slideEta !== undefined ? { eta: slideEta } : {}),
            note:
              `${run.doneMegapixels.toFixed(1)}/${run.totalMegapixels.toFixed(1)} MP` +
              (rate !== undefined ? `, ${rate.toFixed(2)} MP/s` : '') +
              `; batch: slide ${slideIndex + 1} of ${totalSlides}` +
              (batchEta !== undefined ? `, ETA ${clock(batchEta)}` : ''),
          });
        },
      }).catch((err: unknown) => {
        bar?.progress.stop('stopped');
        if (!(err instanceof BatchInterrupted)) throw err;
        // Not a failure: what was computed is stored. 130, as a shell reports a command ended by Ctrl-C.
        process.stderr.write(`${spec.name}: ${err.message}\n`);
        process.exit(130);
      });
      bar?.progress.finish();
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(`${outcome.slides.length} slides in ${clock(seconds)} → ${outcome.csv}\n`);
    },
    argv,
  );
}
