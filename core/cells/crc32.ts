let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/**
 * CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, the one PNG, zlib and gzip use) of
 * `bytes`, continuing from a previous `crc` so a value can be built over several pieces.
 * Hand-written because the platform offers none in browsers and workers.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = (table ??= crcTable());
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
