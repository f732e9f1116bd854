import type { PixelSource, RegionRequest, SlideDescription } from '../worker/pixel-source.js';
import type { SlideInfo, WorkerRequest, WorkerResponse } from '../worker/protocol.js';
import { SlideError } from '../worker/slide-error.js';

type Pending = { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void };
type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The bundled worker sits next to the bundled plugin. Tests and unbundled use pass their own. */
export const DEFAULT_WORKER_URL = new URL('./worker.js', import.meta.url);

export interface WorkerPixelSource extends PixelSource {
  /** Ends the worker; pending reads reject. */
  close(): void;
}

/**
 * Opens a slide inside a module worker and returns a PixelSource whose reads run there. The
 * main thread only sends rectangles and receives transferred RGB buffers.
 */
export async function openInWorker(
  slide: SlideDescription,
  options: { workerUrl?: URL | string; signal?: AbortSignal } = {},
): Promise<WorkerPixelSource> {
  const worker = new Worker(options.workerUrl ?? DEFAULT_WORKER_URL, { type: 'module', name: 'openseadragon-fewshot' });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closedBy: Error | undefined;

  const fail = (err: Error) => {
    closedBy = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
    const p = pending.get(event.data.id);
    pending.delete(event.data.id);
    p?.resolve(event.data);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    fail(new Error(`the slide worker failed: ${event.message || 'it could not be loaded'}`));
  };

  function call(body: RequestBody, signal?: AbortSignal): Promise<WorkerResponse> {
    if (closedBy) return Promise.reject(closedBy);
    const id = nextId++;
    return new Promise<WorkerResponse>((resolve, reject) => {
      const onAbort = () => worker.postMessage({ type: 'abort', id } satisfies WorkerRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.set(id, {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          if (r.type === 'error') reject(toError(r.error));
          else resolve(r);
        },
        reject,
      });
      worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  let info: SlideInfo;
  try {
    const opened = await call({ type: 'open', slide }, options.signal);
    if (opened.type !== 'opened') throw new Error(`unexpected answer '${opened.type}' to open`);
    info = opened.info;
  } catch (err) {
    worker.terminate();
    throw err;
  }

  return {
    name: info.name,
    levels: info.levels,
    mpp: info.mpp,
    async readRegion({ level, x, y, width, height, signal }: RegionRequest): Promise<Uint8Array> {
      if (signal?.aborted) throw new SlideError('aborted', info.name, 'the read was aborted');
      const r = await call({ type: 'read', slideId: info.slideId, level, x, y, width, height }, signal);
      if (r.type !== 'pixels') throw new Error(`unexpected answer '${r.type}' to read`);
      return r.pixels;
    },
    close() {
      worker.terminate();
      fail(new Error('the slide was closed'));
    },
  };
}

function toError(e: { name: string; message: string; code?: SlideError['code']; file?: string }): Error {
  if (e.code) {
    const err = new SlideError(e.code, e.file ?? '', '');
    err.message = e.message;
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}
