/**
 * Compact text for label masks: run-length encoded, then base64. Each run is its byte value
 * followed by its length (≥ 1) as an unsigned LEB128 varint. A painted 256×256 patch is a few
 * runs per row, so it costs hundreds of bytes instead of the 64 KiB (87 KiB as base64) of the
 * raw mask.
 */

export function encodeRunLength(mask: Uint8Array): string {
  const bytes: number[] = [];
  let i = 0;
  while (i < mask.length) {
    const value = mask[i];
    let end = i + 1;
    while (end < mask.length && mask[end] === value) end++;
    bytes.push(value);
    let length = end - i;
    while (length >= 0x80) {
      bytes.push((length & 0x7f) | 0x80);
      length >>>= 7;
    }
    bytes.push(length);
    i = end;
  }
  let binary = '';
  for (let k = 0; k < bytes.length; k += 0x8000) binary += String.fromCharCode(...bytes.slice(k, k + 0x8000));
  return btoa(binary);
}

/**
 * Decodes exactly `length` values, each of which must be in `allowed`. Throws an Error whose
 * message says what is wrong (not base64, a value not allowed, an empty or truncated run, a
 * run past the end, too few pixels) and leaves nothing half-written behind: the output is fresh.
 */
export function decodeRunLength(text: string, length: number, allowed: readonly number[]): Uint8Array {
  if (typeof text !== 'string') throw new Error(`is ${text === null ? 'null' : typeof text}, not a base64 string`);
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error('is not valid base64');
  const binary = atob(text);
  const ok = new Uint8Array(256);
  for (const v of allowed) ok[v] = 1;
  const out = new Uint8Array(length);
  let at = 0;
  let i = 0;
  while (i < binary.length) {
    const value = binary.charCodeAt(i++);
    if (!ok[value]) throw new Error(`holds the value ${value} at pixel ${at}; allowed are ${allowed.join(', ')}`);
    let run = 0;
    let shift = 0;
    for (;;) {
      if (i >= binary.length) throw new Error(`ends inside the length of the run at pixel ${at}`);
      const b = binary.charCodeAt(i++);
      // 2^35 is far past any mask; stopping there keeps the arithmetic exact.
      if (shift > 28) throw new Error(`has a run length too long at pixel ${at}`);
      run += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    if (run === 0) throw new Error(`has an empty run at pixel ${at}`);
    if (at + run > length) throw new Error(`runs to pixel ${at + run}, past the ${length} pixels of the mask`);
    out.fill(value, at, at + run);
    at += run;
  }
  if (at !== length) throw new Error(`covers ${at} pixels; the mask has ${length}`);
  return out;
}
