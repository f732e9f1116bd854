import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { SOURCE_BIN } from './batch-fixtures.js';
import { startRedis } from './redis-server.js';

/** Resolves with the output so far once a line of the child's stdout matches `pattern`. */
function lineMatching(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (d: Buffer) => {
      output += d;
      if (pattern.test(output)) {
        child.stdout!.off('data', onData);
        resolve(output);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before ${pattern}:\n${output}`)));
  });
}

test(
  'a worker sent SIGTERM after its Redis went away exits (BullMQ alone waits for ever)',
  { timeout: 120_000 },
  async () => {
    const redis = await startRedis();
    const worker = spawn(
      process.execPath,
      [...SOURCE_BIN, 'worker', '--queue', redis.url, '--concurrency', '1', '--lock-seconds', '5'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    worker.stderr!.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      worker.once('exit', (code, signal) => resolve([code, signal])),
    );
    try {
      await lineMatching(worker, /^worker: connected$/m);
      const lost = lineMatching(worker, /worker error: .*(ECONNREFUSED|ECONNRESET|Connection is closed)/);
      await redis.stop();
      // The worker has seen the server go: its reconnects are refused.
      await lost;
      worker.kill('SIGTERM');
      const [code, signal] = await exited;
      assert.deepEqual([code, signal], [0, null], `the worker exits by itself, with code 0\n${stderr}`);
    } finally {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await redis.stop();
    }
  },
);
