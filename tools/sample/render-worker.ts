// Worker-thread entry: renders the regions it is asked for (see render-pool.ts).
import { parentPort } from 'node:worker_threads';
import { renderRegion } from './render.js';
import type { RegionRequest, RegionResult } from './render-pool.js';

const port = parentPort;
if (!port) throw new Error('render-worker.ts must run in a worker thread');
port.on('message', ({ id, spec, region }: RegionRequest) => {
  const { rgb, labels } = renderRegion(spec, region.x, region.y, region.width, region.height);
  const result: RegionResult = { id, rgb, labels };
  port.postMessage(result, [rgb.buffer as ArrayBuffer, labels.buffer as ArrayBuffer]);
});
