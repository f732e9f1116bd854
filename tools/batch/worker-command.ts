import os from 'node:os';
import { integerOption, runCli, usageError } from '../cli.js';
import { queueConnection } from './queue-jobs.js';
import { startQueueWorkers } from './queue-worker.js';

/**
 * `npx openseadragon-fewshot worker --queue redis://HOST:PORT`: this machine's share of a queued
 * batch (queue-worker.ts), until Ctrl-C or SIGTERM, which lets the jobs running finish first (but
 * does not wait for a Redis that went away: queue-worker.ts).
 */

const spec = {
  name: 'openseadragon-fewshot worker',
  command: 'npx openseadragon-fewshot worker',
  direct: true,
  synopsis: '--queue redis://HOST:PORT [options]',
  description:
    'Runs the jobs of `openseadragon-fewshot batch --queue …` on this machine, each in a child process, until\n' +
    'stopped. Slides, heads and --out are read at the paths the batch gives: a folder every worker sees.',
  options: {
    queue: { type: 'string', value: 'redis://HOST:PORT', description: 'the Redis server the batch queues on' },
    concurrency: { type: 'string', value: 'N', description: 'tile jobs at once (default: every core)' },
    'lock-seconds': {
      type: 'string',
      default: '30',
      value: 'S',
      description: "a job's lock: a dead worker's jobs are taken up again within about twice this",
    },
  },
  examples: ['npx openseadragon-fewshot worker --queue redis://queue-host:6379 --concurrency 16'],
} as const;

export async function workerCommand(argv: readonly string[]): Promise<void> {
  await runCli(
    spec,
    async (args) => {
      if (args.queue === undefined) usageError('--queue redis://HOST:PORT is required');
      const connection = queueConnection(args.queue);
      const concurrency =
        args.concurrency === undefined
          ? os.availableParallelism()
          : integerOption('concurrency', args.concurrency, 1, 1024);
      const lockSeconds = integerOption('lock-seconds', args['lock-seconds'], 1, 86_400);
      const workers = startQueueWorkers({
        connection,
        concurrency,
        lockMs: lockSeconds * 1000,
        onJob: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`worker: ${concurrency} at a time on ${args.queue}\n`);
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      workers.ready.then(
        () => process.stdout.write(`worker: connected\n`),
        () => undefined,
      );
      await stopped;
      await workers.close();
    },
    argv,
  );
}
