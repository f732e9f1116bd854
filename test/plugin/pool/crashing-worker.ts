/**
 * Test fixture: the inference worker, except that a predict-tile job for a tile at x = 4242
 * crashes it with an uncaught error (the way a wasm abort or out-of-memory surfaces), so the
 * pool's onerror path can be tested.
 */
import type { WorkerRequest } from '../../../worker/protocol.js';

const early: MessageEvent[] = [];
self.onmessage = (event) => early.push(event);
await import('../../../worker/worker-entry.js');
const handle = self.onmessage as (e: MessageEvent<WorkerRequest>) => void;
self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const r = event.data;
  if (r.type === 'predict-tile' && r.tile.x === 4242) {
    setTimeout(() => {
      throw new Error('simulated crash');
    });
    return;
  }
  handle(event);
};
for (const event of early) (self.onmessage as (e: MessageEvent) => void)(event);
export {};
