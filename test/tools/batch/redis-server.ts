import { spawn } from 'node:child_process';
import net from 'node:net';

/**
 * A real Redis for the queue tests: Debian's redis-server (`.ci/run` installs it; `npm test`'s
 * setup does), on 127.0.0.1 on a free port, nothing saved to disk. Resolves once the server says
 * it accepts connections.
 */

export interface RedisServer {
  readonly url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`redis-server did not start (${err.message}): run .ci/run's setup`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited (code ${code}):\n${output}`)));
    child.stdout.on('data', (d: Buffer) => {
      output += d;
      if (/Ready to accept connections/.test(output)) resolve();
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
