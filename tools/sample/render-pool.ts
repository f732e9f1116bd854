import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { renderRegion, type RenderedRegion } from './render.js';
import type { SlideSpec } from './spec.js';

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface RegionRequest {
  id: number;
  spec: SlideSpec;
  region: Region;
}

export interface RegionResult extends RenderedRegion {
  id: number;
}

/** Worker threads used by default: one per core. */
export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism());
}

/**
 * Starts render-worker.ts in a worker thread. Node 20 does not apply the main thread's
 * tsx loader to workers, so the worker registers tsx itself before importing the entry.
 */
function startRenderWorker(): Worker {
  const entry = new URL('./render-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); ` + `return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

/**
 * Renders regions and hands them to `onRegion` strictly in the given order, so the
 * caller can stream them into a file. With workers > 0 they are rendered in parallel
 * worker threads; the pixels are identical either way.
 */
export async function renderRegions(
  spec: SlideSpec,
  regions: Region[],
  workers: number,
  onRegion: (region: Region, rendered: RenderedRegion, index: number) => void,
): Promise<void> {
  if (workers <= 0 || regions.length <= 1) {
    regions.forEach((r, i) => onRegion(r, renderRegion(spec, r.x, r.y, r.width, r.height), i));
    return;
  }
  const pool = Array.from({ length: Math.min(workers, regions.length) }, startRenderWorker);
  try {
    await new Promise<void>((resolve, reject) => {
      const ready = new Map<number, RenderedRegion>();
      let nextToSend = 0;
      let nextToDeliver = 0;
      const send = (w: Worker) => {
        if (nextToSend < regions.length) {
          const request: RegionRequest = { id: nextToSend, spec, region: regions[nextToSend] };
          w.postMessage(request);
          nextToSend++;
        }
      };
      for (const w of pool) {
        w.on('error', reject);
        w.on('message', (r: RegionResult) => {
          ready.set(r.id, { rgb: r.rgb, labels: r.labels });
          send(w);
          try {
            for (let done = ready.get(nextToDeliver); done; done = ready.get(nextToDeliver)) {
              ready.delete(nextToDeliver);
              onRegion(regions[nextToDeliver], done, nextToDeliver);
              nextToDeliver++;
            }
          } catch (err) {
            reject(err);
            return;
          }
          if (nextToDeliver === regions.length) resolve();
        });
        // Two jobs per worker keep it busy while the main thread handles a finished region.
        send(w);
        send(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
