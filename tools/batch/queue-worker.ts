import { fileURLToPath } from 'node:url';
import { Worker, type RedisOptions } from 'bullmq';
import { SLIDE_QUEUE, TILE_QUEUE } from './queue-jobs.js';

/**
 * `openseadragon-fewshot worker --queue redis://…`: runs the batch's jobs (queue-jobs.ts) on this
 * machine, as many at a time as `concurrency`, each in a child process of its own (BullMQ's
 * sandboxed processor, queue-processor.ts). This process only talks to Redis — takes jobs,
 * renews their locks every lockDuration/2, puts back the jobs of workers that died — so a busy
 * CPU never makes its own jobs look stalled.
 */

export interface QueueWorkerOptions {
  readonly connection: RedisOptions;
  /** Tile jobs at once (child processes), each on one thread. */
  readonly concurrency: number;
  /**
   * How long a job's lock lasts without renewal, in ms: a dead worker's job is taken up again
   * after it, by another worker's stalled-job check (run as often).
   */
  readonly lockMs: number;
  readonly onJob?: (line: string) => void;
}

export interface QueueWorkers {
  /** Resolves once every worker is connected to Redis. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** The processor file: the built one beside this module in the package, or the source under tsx. */
const processorFile = () =>
  fileURLToPath(
    new URL(import.meta.url.endsWith('.ts') ? './queue-processor.ts' : './queue-processor.js', import.meta.url),
  );

export function startQueueWorkers(options: QueueWorkerOptions): QueueWorkers {
  const { connection, lockMs } = options;
  const common = {
    connection,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // A job is put back each time its worker dies; only a job that keeps killing workers fails.
    maxStalledCount: 5,
  };
  const file = processorFile();
  const tiles = new Worker(TILE_QUEUE, file, { ...common, concurrency: options.concurrency });
  // One slide's outputs at a time: a slide's cells and overlay hold a band of its grid in memory.
  const slides = new Worker(SLIDE_QUEUE, file, { ...common, concurrency: 1 });
  for (const worker of [tiles, slides]) {
    worker.on('active', (job) => options.onJob?.(`started ${job.name} job ${job.id}`));
    worker.on('completed', (job) => options.onJob?.(`completed ${job.name} job ${job.id}`));
    worker.on('failed', (job, err) =>
      options.onJob?.(
        `failed ${job?.name ?? ''} job ${job?.id ?? '?'} (try ${job?.attemptsMade ?? '?'}): ${err.message}`,
      ),
    );
    worker.on('error', (err) => options.onJob?.(`worker error: ${err.message}`));
  }
  const workers = [tiles, slides];
  const links = workers.map(watchConnection);
  return {
    ready: Promise.all(workers.map((worker) => worker.waitUntilReady())).then(() => undefined),
    close: async () => {
      // With Redis gone, BullMQ's close() never ends: it waits for commands queued for a reconnect
      // that does not come (SIGTERM after the server went away hung for good). So with a connection
      // down the workers close without waiting for their jobs (force), and if one goes down while
      // the running jobs finish, the workers' connections are dropped, which fails what waits on
      // them. Jobs that could not report are not lost: their locks run out, another worker takes
      // them up, and results are written idempotently.
      if (links.some((link) => link.isDown())) {
        await Promise.all(workers.map((worker) => worker.close(true)));
        return;
      }
      const graceful = Promise.all(workers.map((worker) => worker.close()));
      void Promise.race(links.map((link) => link.down())).then(() => workers.forEach(dropConnections));
      await graceful;
    },
  };
}

/** Disconnects a worker's Redis clients at once (BullMQ's own disconnect() waits for an 'end' that does not come). */
function dropConnections(worker: Worker): void {
  const backend = worker.getBackend();
  for (const client of [backend.client, backend.blockingClient]) void client?.then((c) => c.disconnect());
}

/**
 * Whether a worker's connections to Redis are up, from its backend's events: down from the start
 * and after a 'close' or a connection error, up after 'ready'. `down()` resolves once it is down.
 */
function watchConnection(worker: Worker) {
  let up = false;
  const waiting: (() => void)[] = [];
  const backend = worker.getBackend();
  const lost = () => {
    up = false;
    for (const resolve of waiting.splice(0)) resolve();
  };
  backend.on('ready', () => (up = true));
  backend.on('close', lost);
  backend.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== undefined || /connection is closed/i.test(err.message)) lost();
  });
  return {
    isDown: () => !up,
    down: () => (up ? new Promise<void>((resolve) => waiting.push(resolve)) : Promise.resolve()),
  };
}
