import { fromCustomClient, GeoTIFF, GeoTIFFImage } from 'geotiff';
import { blobSource } from './blob-source.js';
import { SlideHttpClient } from './http-client.js';
import { portByteSource, type PortSlideDescription } from './port-bytes.js';
import type { FileSlideDescription, PixelLevel, PixelSource, RegionRequest, SlideDescription } from './pixel-source.js';
import { slideName } from './pixel-source.js';
import { isAbortError, SlideError, throwIfAborted } from './slide-error.js';
import { registerJpeg2000 } from './jpeg2000.js';
import { compressionName, isSupportedCompression } from './tiff-compression.js';
import { mppFromDescription, mppFromResolutionTags } from './tiff-mpp.js';

export interface OpenTiffOptions {
  readonly signal?: AbortSignal;
  /**
   * A strip-based image is decoded a whole strip at a time; above this many decoded bytes per
   * strip one region read would stall the worker and exhaust memory, so such files are refused.
   */
  readonly maxStripBytes?: number;
}

const DEFAULT_MAX_STRIP_BYTES = 64 * 1024 * 1024;

/**
 * Opens a tiled pyramidal TIFF, Aperio SVS or OME-TIFF with geotiff. Works in a window, a
 * worker and Node. Everything that can be checked without decoding pixels is checked here,
 * so that a bad file fails at open with a message instead of half-way through a prediction.
 */
export async function openTiff(
  slide: SlideDescription | PortSlideDescription,
  options: OpenTiffOptions = {},
): Promise<PixelSource> {
  const name = slide.kind === 'bytes' ? slide.name : slideName(slide);
  if (slide.kind === 'tiles')
    throw new SlideError(
      'not-tiff',
      name,
      'image tiles (DZI, IIIF, a single image) are opened with openTileImages, not openTiff',
    );
  const { signal } = options;
  registerJpeg2000();
  throwIfAborted(signal, name);

  // Bytes through a port: another thread reads the file for this one (port-bytes.ts).
  const local =
    slide.kind === 'blob'
      ? blobSource(slide.blob)
      : slide.kind === 'bytes'
        ? portByteSource(slide.port, slide.size, name)
        : undefined;
  const { header, fileSize } = await readHeader(slide, name, signal, local);
  checkMagic(header, name);

  let tiff: GeoTIFF;
  let images: GeoTIFFImage[];
  try {
    tiff =
      slide.kind === 'url'
        ? await fromCustomClient(new SlideHttpClient(slide.url, name), { allowFullFile: false }, signal)
        : await GeoTIFF.fromSource(local!, undefined, signal);
    images = await pyramidImages(tiff);
  } catch (err) {
    throw explain(err, name, signal, 'reading the TIFF directories');
  }
  if (images.length === 0) throw new SlideError('unsupported-format', name, 'the TIFF holds no image');

  const maxStripBytes = options.maxStripBytes ?? DEFAULT_MAX_STRIP_BYTES;
  for (const [index, image] of images.entries()) checkImage(image, index, name, maxStripBytes);
  try {
    await checkNotTruncated(images, fileSize, name);
  } catch (err) {
    throw explain(err, name, signal, 'reading the tile tables');
  }

  const first = images[0];
  const levels: PixelLevel[] = images.map((image) => ({
    width: image.getWidth(),
    height: image.getHeight(),
    downsample: first.getWidth() / image.getWidth(),
    tileWidth: image.getTileWidth(),
    tileHeight: image.getTileHeight(),
  }));
  const description = String((await first.fileDirectory.loadValue('ImageDescription')) ?? '');
  const mpp = mppFromDescription(description) ?? (await mppFromResolutionTags(first));

  return {
    name,
    levels,
    mpp,
    async readRegion({ level, x, y, width, height, signal }: RegionRequest): Promise<Uint8Array> {
      const image = images[level];
      const geometry = levels[level];
      if (
        !image ||
        !(width > 0 && height > 0) ||
        x < 0 ||
        y < 0 ||
        x + width > geometry.width ||
        y + height > geometry.height
      ) {
        throw new SlideError(
          'bad-region',
          name,
          `region ${width}×${height} at (${x}, ${y}) of level ${level} is outside the slide ` +
            (geometry ? `(level size ${geometry.width}×${geometry.height})` : `(it has ${levels.length} levels)`),
        );
      }
      throwIfAborted(signal, name);
      let raster: ArrayLike<number>;
      try {
        raster = (await image.readRGB({
          window: [x, y, x + width, y + height],
          interleave: true,
          signal,
        })) as unknown as ArrayLike<number>;
      } catch (err) {
        throw explain(err, name, signal, `decoding level ${level}`);
      }
      throwIfAborted(signal, name);
      return raster instanceof Uint8Array ? raster : Uint8Array.from(raster);
    },
  };
}

async function readHeader(
  slide: FileSlideDescription | PortSlideDescription,
  name: string,
  signal: AbortSignal | undefined,
  local: Parameters<typeof GeoTIFF.fromSource>[0] | undefined,
): Promise<{ header: Uint8Array; fileSize: number }> {
  if (slide.kind === 'blob') {
    return { header: new Uint8Array(await slide.blob.slice(0, 16).arrayBuffer()), fileSize: slide.blob.size };
  }
  if (slide.kind === 'bytes') {
    const [header] = await local!.fetch([{ offset: 0, length: 16 }], signal);
    return { header: new Uint8Array(header), fileSize: slide.size };
  }
  let response: Response;
  try {
    response = await fetch(slide.url, { headers: { Range: 'bytes=0-15' }, signal });
  } catch (err) {
    throw explain(err, name, signal, 'connecting');
  }
  if (response.status === 200) {
    // Reading a slide means thousands of small reads; a server that answers each with the
    // whole file would download gigabytes, so refuse rather than appear to hang.
    await response.body?.cancel();
    throw new SlideError(
      'no-range-support',
      name,
      'the server ignores HTTP Range requests (it sent the whole file); ' +
        'serve the slide from a server that supports them, or open it as a local file',
    );
  }
  if (response.status !== 206) {
    await response.body?.cancel();
    throw new SlideError('network', name, `the server answered HTTP ${response.status} ${response.statusText}`.trim());
  }
  const total = /\/(\d+)\s*$/.exec(response.headers.get('content-range') ?? '');
  const header = new Uint8Array(await response.arrayBuffer());
  return { header, fileSize: total ? Number(total[1]) : Number.POSITIVE_INFINITY };
}

function checkMagic(header: Uint8Array, name: string): void {
  const b = header;
  const le = b[0] === 0x49 && b[1] === 0x49 && (b[2] === 42 || b[2] === 43) && b[3] === 0;
  const be = b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && (b[3] === 42 || b[3] === 43);
  if (le || be) return;
  if (b.length < 8)
    throw new SlideError('truncated', name, `the file is only ${b.length} bytes long, too short for a TIFF`);
  const hex = Array.from(b.subarray(0, 4), (v) => v.toString(16).padStart(2, '0')).join(' ');
  throw new SlideError('not-tiff', name, `not a TIFF file (it starts with bytes ${hex}${sniff(b)})`);
}

function sniff(b: Uint8Array): string {
  const ascii = String.fromCharCode(...b.subarray(0, 8));
  if (ascii.startsWith('\x89PNG')) return ': a PNG image';
  if (b[0] === 0xff && b[1] === 0xd8) return ': a JPEG image';
  if (ascii.startsWith('PK')) return ': a ZIP archive';
  if (/^\s*</.test(ascii)) return ': text or HTML, perhaps an error page';
  if (ascii.startsWith('%PDF')) return ': a PDF document';
  return '';
}

/**
 * The images that form the resolution pyramid, largest first. Aperio SVS stores a strip-based
 * thumbnail, a label and a macro image among the levels; OME-TIFF and `vips --subifd` store
 * the reduced levels as SubIFDs of the first image.
 */
async function pyramidImages(tiff: GeoTIFF): Promise<GeoTIFFImage[]> {
  const first = await tiff.getImage(0);
  const subIfdOffsets = first.fileDirectory.hasTag('SubIFDs')
    ? ((await first.fileDirectory.loadValue('SubIFDs')) as ArrayLike<number | bigint>)
    : undefined;
  if (subIfdOffsets && subIfdOffsets.length > 0) {
    const reduced = await Promise.all(
      Array.from(subIfdOffsets, async (offset) => {
        const directory = await tiff.parser.parseFileDirectoryAt(Number(offset));
        return new GeoTIFFImage(directory, tiff.littleEndian, tiff.cache, tiff.source);
      }),
    );
    return [first, ...reduced].sort((a, b) => b.getWidth() - a.getWidth());
  }
  const count = await tiff.getImageCount();
  const all = [first];
  for (let i = 1; i < count; i++) all.push(await tiff.getImage(i));
  const tiled = (image: GeoTIFFImage) => image.fileDirectory.hasTag('TileOffsets');
  const aspect = first.getWidth() / first.getHeight();
  const levels = all.filter(
    (image, i) =>
      i === 0 ||
      (tiled(image) === tiled(first) &&
        Math.abs(image.getWidth() / image.getHeight() / aspect - 1) < 0.02 &&
        image.getWidth() < first.getWidth()),
  );
  levels.sort((a, b) => b.getWidth() - a.getWidth());
  // Several IFDs of one size (OME planes, z-stacks) are not levels: keep the first of each width.
  return levels.filter((image, i) => i === 0 || image.getWidth() < levels[i - 1].getWidth());
}

function checkImage(image: GeoTIFFImage, level: number, name: string, maxStripBytes: number): void {
  const dir = image.fileDirectory;
  const compression = Number(dir.getValue('Compression') ?? 1);
  if (!isSupportedCompression(compression)) {
    throw new SlideError(
      'unsupported-compression',
      name,
      `level ${level} uses TIFF compression ${compression} (${compressionName(compression)}), ` +
        `which this viewer cannot decode`,
    );
  }
  const bits = image.getBitsPerSample(0);
  if (bits !== 8) {
    throw new SlideError(
      'unsupported-format',
      name,
      `level ${level} has ${bits}-bit samples; only 8-bit brightfield (RGB or grey) images are supported`,
    );
  }
  if (!dir.hasTag('TileOffsets')) {
    const rows = Math.min(Number(dir.getValue('RowsPerStrip') ?? image.getHeight()), image.getHeight());
    const stripBytes = rows * image.getWidth() * image.getSamplesPerPixel();
    if (stripBytes > maxStripBytes) {
      throw new SlideError(
        'strip-too-large',
        name,
        `level ${level} is stored in strips (not tiles) of ${(stripBytes / 2 ** 20).toFixed(0)} MiB each, ` +
          `too large to read (limit ${(maxStripBytes / 2 ** 20).toFixed(0)} MiB); ` +
          `convert it to a tiled pyramid, e.g. ` +
          '`vips tiffsave in.tif out.tif --tile --pyramid --compression jpeg`',
      );
    }
  }
}

async function checkNotTruncated(images: GeoTIFFImage[], fileSize: number, name: string): Promise<void> {
  if (!Number.isFinite(fileSize)) return;
  for (const [level, image] of images.entries()) {
    const dir = image.fileDirectory;
    const tiled = dir.hasTag('TileOffsets');
    const offsets = (await dir.loadValue(tiled ? 'TileOffsets' : 'StripOffsets')) as ArrayLike<number | bigint>;
    const counts = (await dir.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts')) as ArrayLike<number | bigint>;
    let end = 0;
    for (let i = 0; i < offsets.length; i++) end = Math.max(end, Number(offsets[i]) + Number(counts[i]));
    if (end > fileSize) {
      throw new SlideError(
        'truncated',
        name,
        `the file is truncated: it is ${fileSize} bytes long but level ${level} needs data up to byte ${end} ` +
          `(incomplete download or copy?)`,
      );
    }
  }
}

/** Turns whatever geotiff or fetch threw into a SlideError that says what went wrong. */
function explain(err: unknown, name: string, signal: AbortSignal | undefined, during: string): SlideError {
  if (err instanceof SlideError) return err;
  if (signal?.aborted || isAbortError(err))
    return new SlideError('aborted', name, 'the read was aborted', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  if (/Unknown compression method identifier: (\d+)/.test(message)) {
    const code = Number(/(\d+)/.exec(message)![1]);
    return new SlideError(
      'unsupported-compression',
      name,
      `TIFF compression ${code} (${compressionName(code)}) cannot be decoded`,
      { cause: err },
    );
  }
  if (/full file/i.test(message)) {
    return new SlideError('no-range-support', name, 'the server ignores HTTP Range requests', { cause: err });
  }
  if (err instanceof RangeError || /outside the bounds|out of range|offset/i.test(message)) {
    return new SlideError('truncated', name, `the file ends too early (${during}: ${message})`, { cause: err });
  }
  if (err instanceof TypeError && /fetch|network/i.test(message)) {
    return new SlideError('network', name, `network error while ${during}: ${message}`, { cause: err });
  }
  return new SlideError('corrupt', name, `the file is damaged or not a valid TIFF (${during}: ${message})`, {
    cause: err,
  });
}
