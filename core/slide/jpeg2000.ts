/**
 * Teaches geotiff the Aperio JPEG 2000 compressions (33003 YCbCr, 33005 RGB). The decoder
 * module, and with it the OpenJPEG WebAssembly, is imported only when a slide needs it.
 */
import { addDecoder } from 'geotiff';
import type { ImageFileDirectory } from 'geotiff';
import type { Jpeg2000DecoderParameters } from './jpeg2000-decoder.js';

export const APERIO_JP2K_YCBCR = 33003;
export const APERIO_JP2K_RGB = 33005;

export interface Jpeg2000Options {
  /**
   * Where browsers and workers fetch `openjpegwasm_decode.wasm`; relative URLs resolve
   * against the page (or worker script). By default it is the file of that name next to the
   * module holding the decoder. Node reads it from the installed package unless told otherwise.
   */
  wasmUrl?: string | URL;
}

let registered = false;
let wasmUrl: string | URL | undefined;

async function jpeg2000Parameters(fileDirectory: ImageFileDirectory): Promise<Jpeg2000DecoderParameters> {
  const tiled = !fileDirectory.hasTag('StripOffsets');
  const imageLength = Number(await fileDirectory.loadValue('ImageLength'));
  const rowsPerStrip = Number((await fileDirectory.loadValue('RowsPerStrip')) ?? imageLength);
  return {
    tileWidth: Number(await fileDirectory.loadValue(tiled ? 'TileWidth' : 'ImageWidth')),
    // RowsPerStrip may be 2^32-1 for "one strip"; the decoder allocates tileHeight rows.
    tileHeight: tiled ? Number(await fileDirectory.loadValue('TileLength')) : Math.min(rowsPerStrip, imageLength),
    planarConfiguration: Number((await fileDirectory.loadValue('PlanarConfiguration')) ?? 1),
    bitsPerSample: (await fileDirectory.loadValue('BitsPerSample')) ?? 8,
    predictor: Number((await fileDirectory.loadValue('Predictor')) || 1),
    samplesPerPixel: Number((await fileDirectory.loadValue('SamplesPerPixel')) ?? 1),
    compression: Number(await fileDirectory.loadValue('Compression')),
    photometricInterpretation: Number((await fileDirectory.loadValue('PhotometricInterpretation')) ?? 2),
  };
}

/**
 * Registers the decoder with geotiff in the calling thread (call it in the thread that reads
 * tiles). Safe to call repeatedly; a later `wasmUrl` applies until the codec first loads.
 */
export function registerJpeg2000(options: Jpeg2000Options = {}): void {
  if (options.wasmUrl !== undefined) wasmUrl = options.wasmUrl;
  if (registered) return;
  registered = true;
  addDecoder(
    [APERIO_JP2K_YCBCR, APERIO_JP2K_RGB],
    () =>
      import('./jpeg2000-decoder.js').then((m) => {
        m.setJpeg2000WasmUrl(wasmUrl);
        return m.default;
      }),
    jpeg2000Parameters,
    // geotiff's worker pool has only its built-in decoders, so decode where we were registered.
    false,
  );
}
