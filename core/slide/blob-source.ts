import type { GeoTIFF } from 'geotiff';
import { SlideError } from './slide-error.js';

type Source = Parameters<typeof GeoTIFF.fromSource>[0];
type Slice = { offset: number; length: number };

/**
 * Throws unless a read is whole non-negative bytes. Node's `Blob.slice(NaN)` does not throw: it
 * aborts the process (`node::Blob::ToSlice … Assertion failed: args[0]->IsUint32()`), so this is
 * the last line of defence behind the checks at open (tiff-directories.ts).
 */
export function checkSlice({ offset, length }: Slice, name: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0)
    throw new SlideError('corrupt', name, `the file asks for an invalid byte range (${length} bytes at ${offset})`);
}

/**
 * A geotiff byte source over a Blob or File. geotiff's own `fromBlob` uses FileReader, which
 * Node lacks; `Blob.slice().arrayBuffer()` works in windows, workers and Node alike.
 */
export function blobSource(blob: Blob, name = 'blob'): Source {
  const source = {
    async fetch(slices: Slice[], signal?: AbortSignal): Promise<ArrayBuffer[]> {
      signal?.throwIfAborted();
      for (const slice of slices) checkSlice(slice, name);
      const data = await Promise.all(
        slices.map(({ offset, length }) => blob.slice(offset, offset + length).arrayBuffer()),
      );
      signal?.throwIfAborted();
      return data;
    },
    async fetchSlice(slice: Slice, signal?: AbortSignal) {
      const [data] = await source.fetch([slice], signal);
      return { ...slice, data };
    },
    get fileSize() {
      return blob.size;
    },
    async close() {},
  };
  return source as unknown as Source;
}
