// A worker_threads entry that runs one MsdTrainShard for tools/train-threads.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { MsdTrainShard, type ShardShape } from '../core/training/train-shard.js';
import type { ThreadRequest, ThreadResponse } from './train-threads.js';

const port = parentPort;
if (!port) throw new Error('tools/train-thread.ts runs as a worker thread');
const shard = new MsdTrainShard(workerData as ShardShape);

port.on('message', (m: ThreadRequest) => {
  let reply: ThreadResponse;
  try {
    switch (m.type) {
      case 'forward':
        reply = { type: 'sums', sums: shard.forward(m.params, m.normalisation, m.crops) };
        break;
      case 'backward': {
        const grad = shard.backward(m.g);
        port.postMessage({ type: 'grad', grad } satisfies ThreadResponse, [grad.buffer as ArrayBuffer]);
        return;
      }
      case 'set-validation':
        shard.setValidation(m.images);
        reply = { type: 'ok' };
        break;
      case 'validate':
        reply = { type: 'validation', sums: shard.validate(m.params, m.normalisation) };
        break;
    }
  } catch (e) {
    reply = { type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply);
});
