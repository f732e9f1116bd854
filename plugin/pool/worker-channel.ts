import type { WorkerError, WorkerLike, WorkerRequest, WorkerResponse } from '../../worker/protocol.js';
import { rebuildError } from '../../core/errors/transferable-error.js';

/** A request without its id: the channel numbers them. */
export type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Rejects every pending call of a worker that was terminated or crashed. */
export class WorkerDied extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerDied';
  }
}

/**
 * Rebuilds an error flattened for postMessage: typed errors come back as their class with code and
 * message, aborts as AbortErrors (core/errors/transferable-error.ts).
 */
export function toError(e: WorkerError): Error {
  return rebuildError(e);
}

/**
 * Request/response over one module worker: each call gets an id, the worker answers each id
 * exactly once, and aborting the call's signal sends the worker an 'abort' for that id.
 */
export class WorkerChannel {
  private readonly pending = new Map<
    number,
    { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void; progress?: (p: unknown) => void }
  >();
  private nextId = 1;
  private closedBy?: Error;

  constructor(readonly worker: WorkerLike) {
    worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
      // Progress is not an answer: the call stays pending.
      if (event.data.type === 'adapt-progress') {
        this.pending.get(event.data.id)?.progress?.(event.data.progress);
        return;
      }
      const p = this.pending.get(event.data.id);
      this.pending.delete(event.data.id);
      p?.resolve(event.data);
    };
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** `transfer`: buffers of the body moved to the worker, not copied (docs/ARCHITECTURE.md#worker-protocol). */
  call(
    body: RequestBody,
    signal?: AbortSignal,
    onProgress?: (progress: unknown) => void,
    transfer: Transferable[] = [],
  ): Promise<WorkerResponse> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = this.nextId++;
    return new Promise<WorkerResponse>((resolve, reject) => {
      const onAbort = () => this.worker.postMessage({ type: 'abort', id } satisfies WorkerRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        progress: onProgress,
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          if (r.type === 'error') reject(toError(r.error));
          else resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }

  /** Terminates the worker; pending and later calls reject with `reason`. */
  close(reason: Error): void {
    if (this.closedBy) return;
    this.closedBy = reason;
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }
}
