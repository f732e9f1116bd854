import type { GeoTIFF } from 'geotiff';

type Source = Parameters<typeof GeoTIFF.fromSource>[0];
type Slice = { offset: number; length: number };

/**
 * A geotiff byte source over a Blob or File. geotiff's own `fromBlob` uses FileReader, which
 * Node lacks; `Blob.slice().arrayBuffer()` works in windows, workers and Node alike.
 */
export function blobSource(blob: Blob): Source {
  const source = {
    async fetch(slices: Slice[], signal?: AbortSignal): Promise<ArrayBuffer[]> {
      signal?.throwIfAborted();
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
