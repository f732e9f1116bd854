/// <reference lib="webworker" />
import type { PixelSource } from './pixel-source.js';
import type { WorkerRequest, WorkerResponse } from './protocol.js';
import { SlideError } from './slide-error.js';
import { openTiff } from './tiff-pixel-source.js';

// The worker reads the slide's bytes itself (URL or Blob) so that decoded pixels never cross
// the main thread and nothing is re-encoded on the way.
const scope = self as unknown as DedicatedWorkerGlobalScope;
const slides = new Map<number, PixelSource>();
const running = new Map<number, AbortController>();
let nextSlideId = 1;

function reply(message: WorkerResponse, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

async function handle(request: Exclude<WorkerRequest, { type: 'abort' }>, signal: AbortSignal): Promise<void> {
  switch (request.type) {
    case 'open': {
      const source = await openTiff(request.slide, { signal });
      const slideId = nextSlideId++;
      slides.set(slideId, source);
      reply({ type: 'opened', id: request.id, info: { slideId, name: source.name, levels: source.levels, mpp: source.mpp } });
      return;
    }
    case 'read': {
      const source = slides.get(request.slideId);
      if (!source) throw new Error(`slide ${request.slideId} is not open in this worker`);
      const { level, x, y, width, height } = request;
      const read = await source.readRegion({ level, x, y, width, height, signal });
      // Transfer, never copy: a region can be tens of megabytes. A view into a larger buffer
      // is copied first so that only its own bytes move.
      const pixels = read.byteLength === read.buffer.byteLength ? read : read.slice();
      reply({ type: 'pixels', id: request.id, pixels }, [pixels.buffer as ArrayBuffer]);
      return;
    }
    case 'close':
      slides.delete(request.slideId);
      reply({ type: 'closed', id: request.id });
      return;
  }
}

scope.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  if (request.type === 'abort') {
    running.get(request.id)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(request.id, controller);
  try {
    await handle(request, controller.signal);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply({
      type: 'error',
      id: request.id,
      error: { name: e.name, message: e.message, code: e instanceof SlideError ? e.code : undefined, file: e instanceof SlideError ? e.file : undefined },
    });
  } finally {
    running.delete(request.id);
  }
};
