import { crc32 } from './crc32.js';

/** Samples per pixel: grey, grey + alpha, RGB, RGBA. */
export type PngChannels = 1 | 2 | 3 | 4;

const COLOUR_TYPE: Record<PngChannels, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * An 8-bit PNG of row-major interleaved pixels (e.g. a mask of 0/255, or an RGBA overlay), the
 * samples written as given. Compressed with the platform's CompressionStream('deflate') — zlib
 * framing, exactly what PNG's IDAT holds — so it needs no library and runs in a worker, a
 * window or Node ≥ 18. Rows are unfiltered: masks are long runs, which deflate already packs.
 */
export async function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: PngChannels = 1,
): Promise<Uint8Array> {
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 0x7fffffff ||
    height > 0x7fffffff
  )
    throw new RangeError(`PNG size ${width}×${height} is not a pair of positive integers`);
  if (!(channels in COLOUR_TYPE)) throw new RangeError(`${channels} channels; a PNG has 1, 2, 3 or 4`);
  const stride = width * channels;
  if (pixels.length !== stride * height)
    throw new RangeError(`${pixels.length} bytes given, ${width}×${height}×${channels} needs ${stride * height}`);
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const compressed = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer(),
  );

  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bits per sample
  header[9] = COLOUR_TYPE[channels];
  // compression 0 (deflate), filter method 0, no interlace: bytes 10–12 stay 0.
  const chunks = [chunk('IHDR', header), chunk('IDAT', compressed), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(SIGNATURE.length + chunks.reduce((s, c) => s + c.length, 0));
  out.set(SIGNATURE);
  let at = SIGNATURE.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** length, type, data, CRC of type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
