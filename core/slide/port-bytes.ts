import type { GeoTIFF } from 'geotiff';
import { flattenError, rebuildError, type TransferableError } from '../errors/transferable-error.js';
import type { ByteReader, ByteSlice } from './http-blocks.js';
import { checkSlice } from './blob-source.js';
import { SlideError } from './slide-error.js';

/**
 * A slide file whose bytes another thread reads for this one, through a MessagePort: how the page
 * gives the display's worker and every pool worker one copy of a URL slide's bytes
 * (plugin/slide/shared-slide.ts). Internal: host apps describe slides by URL or Blob; a port
 * travels only in a worker's 'open' request, transferred, one per worker.
 */
export interface PortSlideDescription {
  readonly kind: 'bytes';
  readonly name: string;
  /** Bytes in the file. */
  readonly size: number;
  readonly port: MessagePort;
}

/** Reader → server. Reads of one task travel in one message, so the server plans them together. */
type BytesRequest =
  | { readonly type: 'read'; readonly reads: readonly { readonly id: number; readonly slices: readonly ByteSlice[] }[] }
  | { readonly type: 'abort'; readonly id: number };

/** Server → reader: each read's bytes (transferred) or error; 'closed' when the server goes. */
type BytesAnswer =
  | { readonly type: 'bytes'; readonly id: number; readonly data: readonly Uint8Array[] }
  | { readonly type: 'error'; readonly id: number; readonly error: TransferableError }
  | { readonly type: 'closed' };

type Source = Parameters<typeof GeoTIFF.fromSource>[0];

/**
 * Serves `reader` on `port` until closed. Closing aborts the reads it is serving and tells the
 * other side, whose pending and later reads then fail (a 'network' SlideError) instead of hanging.
 * The owner closes it when the thread on the other side ends: a port gives no sign of that.
 */
export function serveBytes(port: MessagePort, reader: ByteReader): { close(): void } {
  const running = new Map<number, AbortController>();
  let closed = false;
  const answer = (message: BytesAnswer, transfer: Transferable[] = []) => {
    if (!closed) port.postMessage(message, transfer);
  };
  port.onmessage = (event: MessageEvent<BytesRequest>) => {
    const request = event.data;
    if (request.type === 'abort') {
      running.get(request.id)?.abort();
      return;
    }
    for (const { id, slices } of request.reads) {
      const controller = new AbortController();
      running.set(id, controller);
      const settled = () => running.get(id) === controller && running.delete(id);
      reader.read(slices, controller.signal).then(
        (read) => {
          settled();
          // Transferred, never copied, each slice on a buffer of its own.
          const data = read.map((d) => (d.byteOffset === 0 && d.byteLength === d.buffer.byteLength ? d : d.slice()));
          answer(
            { type: 'bytes', id, data },
            data.map((d) => d.buffer as ArrayBuffer),
          );
        },
        (err) => {
          settled();
          // An aborted read's reader has stopped waiting: it gets no answer.
          if (!controller.signal.aborted) answer({ type: 'error', id, error: flattenError(err) });
        },
      );
    }
  };
  return {
    close() {
      if (closed) return;
      answer({ type: 'closed' });
      closed = true;
      for (const controller of running.values()) controller.abort();
      running.clear();
      port.onmessage = null;
      port.close();
    },
  };
}

/**
 * A geotiff byte source that reads through a port served by `serveBytes`. Aborting a read's signal
 * rejects it at once (an 'aborted' SlideError) and tells the server, which stops fetching blocks
 * no other read wants. Errors arrive with their class and code (a SlideError stays one).
 */
export function portByteSource(port: MessagePort, size: number, name: string): Source {
  const pending = new Map<number, { resolve: (data: ArrayBuffer[]) => void; reject: (err: Error) => void }>();
  let queue: { id: number; slices: readonly ByteSlice[] }[] = [];
  let nextId = 1;
  let closedBy: Error | undefined;
  port.onmessage = (event: MessageEvent<BytesAnswer>) => {
    const answer = event.data;
    if (answer.type === 'closed') {
      closedBy = new SlideError('network', name, "the page closed this slide's byte source");
      for (const p of pending.values()) p.reject(closedBy);
      pending.clear();
      port.close();
      return;
    }
    const p = pending.get(answer.id);
    pending.delete(answer.id);
    if (answer.type === 'error') p?.reject(rebuildError(answer.error));
    else p?.resolve(answer.data.map((d) => d.buffer as ArrayBuffer));
  };
  const flush = () => {
    const reads = queue;
    queue = [];
    if (reads.length > 0 && !closedBy) port.postMessage({ type: 'read', reads } satisfies BytesRequest);
  };

  const source = {
    fetch(slices: { offset: number; length: number }[], signal?: AbortSignal): Promise<ArrayBuffer[]> {
      if (closedBy) return Promise.reject(closedBy);
      if (signal?.aborted) return Promise.reject(new SlideError('aborted', name, 'the read was aborted'));
      try {
        for (const slice of slices) checkSlice(slice, name);
      } catch (err) {
        return Promise.reject(err);
      }
      const id = nextId++;
      return new Promise<ArrayBuffer[]>((resolve, reject) => {
        const onAbort = () => {
          if (!pending.delete(id)) return;
          queue = queue.filter((r) => r.id !== id);
          if (!closedBy) port.postMessage({ type: 'abort', id } satisfies BytesRequest);
          reject(new SlideError('aborted', name, 'the read was aborted', { cause: signal?.reason }));
        };
        const forget = signal ? whenAborted(signal, onAbort) : () => {};
        pending.set(id, {
          resolve: (data) => {
            forget();
            resolve(data);
          },
          reject: (err) => {
            forget();
            reject(err);
          },
        });
        // geotiff asks for a region's tiles one call each, all in one task: sent together.
        if (queue.length === 0) queueMicrotask(flush);
        queue.push({ id, slices: slices.map(({ offset, length }) => ({ offset, length })) });
      });
    },
    async fetchSlice(slice: { offset: number; length: number }, signal?: AbortSignal) {
      const [data] = await source.fetch([slice], signal);
      return { ...slice, data };
    },
    get fileSize() {
      return size;
    },
    async close() {},
  };
  return source as unknown as Source;
}

/** What to call when each signal aborts: one listener per signal, however many reads share it. */
const onAborts = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `fn` when `signal` aborts; returns what stops that. geotiff hands one region's signal to
 * the read of each of its tiles (a 512² tile with its margin: 9 to 16 of them), and a listener each
 * would trip Node's MaxListenersExceededWarning, though every one is removed when its read settles.
 */
function whenAborted(signal: AbortSignal, fn: () => void): () => void {
  let set = onAborts.get(signal);
  if (!set) {
    const created = new Set<() => void>();
    onAborts.set(signal, (set = created));
    signal.addEventListener('abort', () => [...created].forEach((f) => f()), { once: true });
  }
  set.add(fn);
  return () => set.delete(fn);
}
