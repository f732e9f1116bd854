/**
 * gzip for export files (`.geojson.gz`, which QuPath reads as it reads `.geojson`) and for
 * reading them back. Compression Streams are in every browser, every worker and Node ≥ 18, so
 * this needs no package and runs the same in a window, a worker and the tests.
 */

/** The two bytes every gzip member starts with (RFC 1952). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** `bytes` (or text, as UTF-8) gzip-compressed. */
export async function gzip(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** What gunzip refuses to inflate beyond by default: a small file must not fill the memory. */
export const MAX_GUNZIP_BYTES = 1 << 30;

/**
 * The inflated bytes of a gzip file. Stops with a RangeError once the output passes `maxBytes`
 * (a few kilobytes of gzip can inflate to gigabytes), and rejects a corrupt or truncated file
 * with the stream's TypeError.
 */
export async function gunzip(bytes: Uint8Array, maxBytes = MAX_GUNZIP_BYTES): Promise<Uint8Array> {
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'))
    .getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new RangeError(`the gzip file inflates to more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A file's text: inflated first when it is gzip (by its magic bytes, whatever its name says). */
export async function textOfFile(bytes: Uint8Array, maxBytes = MAX_GUNZIP_BYTES): Promise<string> {
  return new TextDecoder().decode(isGzip(bytes) ? await gunzip(bytes, maxBytes) : bytes);
}
