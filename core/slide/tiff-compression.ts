/** TIFF compression codes that geotiff decodes out of the box, plus Aperio JPEG 2000 (ours). */
const SUPPORTED = new Set([1, 5, 6, 7, 8, 32773, 32946, 34887, 50000, 50001, 33003, 33005]);

/** Names of the codes a slide is likely to carry, so an error can say what the file is. */
const NAMES: Record<number, string> = {
  1: 'uncompressed',
  5: 'LZW',
  6: 'old-style JPEG',
  7: 'JPEG',
  8: 'Deflate',
  32773: 'PackBits',
  32946: 'Deflate',
  33003: 'Aperio JPEG 2000 YCbCr',
  33004: 'Aperio JPEG 2000',
  33005: 'Aperio JPEG 2000 RGB',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34892: 'lossy JPEG (DNG)',
  34925: 'LZMA',
  34926: 'Zstandard (old code)',
  34927: 'WebP (old code)',
  50000: 'Zstandard',
  50001: 'WebP',
  50002: 'JPEG XL',
  22610: 'JPEG XR',
};

export function isSupportedCompression(code: number): boolean {
  return SUPPORTED.has(code);
}

export function compressionName(code: number): string {
  return NAMES[code] ?? 'unknown';
}
