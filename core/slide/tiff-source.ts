import { fromCustomClient, GeoTIFF, GeoTIFFImage } from 'geotiff';
import { blobSource } from './blob-source.js';
import { SlideHttpClient } from './http-client.js';
import { portByteSource, type PortSlideDescription } from './port-bytes.js';
import type { FileSlideDescription, PixelLevel, PixelSource, RegionRequest, SlideDescription } from './pixel-source.js';
import { slideName } from './pixel-source.js';
import { abortable, isAbortError, SlideError, throwIfAborted } from './slide-error.js';
import { registerJpeg2000 } from './jpeg2000.js';
import { compressionName, isSupportedCompression } from './tiff-compression.js';
import { mppFromDescription, mppFromResolutionTags } from './tiff-mpp.js';
import {
  directoryValues,
  readTiffStructure,
  type ByteReader,
  type DirectoryValues,
  type TiffDirectory,
  type TiffStructure,
} from './tiff-directories.js';

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
      ? blobSource(slide.blob, name)
      : slide.kind === 'bytes'
        ? portByteSource(slide.port, slide.size, name)
        : undefined;
  const { header, fileSize } = await readHeader(slide, name, signal, local);
  checkMagic(header, name);

  let tiff: GeoTIFF;
  try {
    tiff =
      slide.kind === 'url'
        ? await fromCustomClient(new SlideHttpClient(slide.url, name), { allowFullFile: false }, signal)
        : await GeoTIFF.fromSource(local!, undefined, signal);
  } catch (err) {
    throw explain(err, name, signal, 'reading the TIFF header');
  }
  const read: ByteReader = async (offset, length, readSignal) =>
    (await tiff.source.fetch([{ offset, length }], readSignal))[0];
  const maxStripBytes = options.maxStripBytes ?? DEFAULT_MAX_STRIP_BYTES;

  let images: GeoTIFFImage[];
  let firstDirectory: TiffDirectory;
  try {
    // Our own walk first: geotiff's would loop forever on a cyclic chain (tiff-directories.ts).
    const structure = await readTiffStructure(read, fileSize, name, signal);
    const chosen = pyramidDirectories(structure, read, fileSize, name);
    firstDirectory = chosen[0];
    images = [];
    for (const [level, directory] of chosen.entries()) {
      const values = directoryValues(structure, directory, read, fileSize, name, signal);
      const tables = await checkLevel(values, directory, level, name, maxStripBytes, fileSize);
      throwIfAborted(signal, name);
      const parsed = await abortable(tiff.parser.parseFileDirectoryAt(directory.offset), signal, name);
      // geotiff reads the tile tables lazily, with the offsets as they are in the file (and, for
      // big-endian files, in the wrong byte order); it gets the checked ones instead.
      for (const [tag, table] of [tables.offsets, tables.byteCounts]) {
        parsed.deferredArrays.delete(tag);
        parsed.deferredFields.delete(tag);
        parsed.actualizedFields.set(tag, table);
      }
      images.push(new GeoTIFFImage(parsed, tiff.littleEndian, tiff.cache, tiff.source));
    }
  } catch (err) {
    throw explain(err, name, signal, 'reading the TIFF directories');
  }

  const first = images[0];
  const levels: PixelLevel[] = images.map((image) => ({
    width: image.getWidth(),
    height: image.getHeight(),
    downsample: first.getWidth() / image.getWidth(),
    tileWidth: image.getTileWidth(),
    tileHeight: image.getTileHeight(),
  }));
  let description: string;
  // Tags whose values lie outside the file are kept unread at open (tiff-directories.ts): these
  // two are read here, from the first level only.
  const readable = (...tags: number[]) => {
    for (const tag of tags) {
      const unreadable = firstDirectory.entries.get(tag)?.unreadable;
      if (unreadable) throw unreadable;
    }
  };
  try {
    readable(270);
    const value = await abortable(first.fileDirectory.loadValue('ImageDescription'), signal, name);
    if (value !== undefined && typeof value !== 'string')
      throw new SlideError('corrupt', name, 'the ImageDescription of the first image is not text');
    description = value ?? '';
  } catch (err) {
    throw explain(err, name, signal, 'reading the ImageDescription');
  }
  let mpp: PixelSource['mpp'];
  try {
    mpp = mppFromDescription(description);
    if (!mpp) {
      readable(282, 283, 296);
      mpp = await abortable(mppFromResolutionTags(first), signal, name);
    }
  } catch (err) {
    throw explain(err, name, signal, 'reading the resolution tags (XResolution, YResolution, ResolutionUnit)');
  }
  throwIfAborted(signal, name);

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
  if ((le || be) && (b[2] === 43 || b[3] === 43)) {
    // geotiff would stop at "Unsupported offset byte-size" with no hint that the header is bad.
    const offsetSize = le ? b[4] | (b[5] << 8) : (b[4] << 8) | b[5];
    if (b.length >= 8 && (offsetSize !== 8 || b[6] !== 0 || b[7] !== 0))
      throw new SlideError(
        'corrupt',
        name,
        `the BigTIFF header gives an offset size of ${offsetSize} bytes (it must be 8)`,
      );
  }
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
 * The directories that form the resolution pyramid, largest first. Aperio SVS stores a
 * strip-based thumbnail, a label and a macro image among the levels; OME-TIFF and
 * `vips --subifd` store the reduced levels as SubIFDs of the first image.
 */
function pyramidDirectories(
  structure: TiffStructure,
  read: ByteReader,
  fileSize: number,
  name: string,
): TiffDirectory[] {
  const all = structure.subIfds.length > 0 ? [structure.chain[0], ...structure.subIfds] : structure.chain;
  const sized = all.map((directory) => {
    const values = directoryValues(structure, directory, read, fileSize, name);
    return {
      directory,
      width: positiveSize(values.scalar(256, 'ImageWidth'), 'ImageWidth', directory, name),
      height: positiveSize(values.scalar(257, 'ImageLength'), 'ImageLength', directory, name),
      tiled: directory.entries.has(324),
    };
  });
  const [first] = sized;
  if (structure.subIfds.length > 0) return sized.sort((a, b) => b.width - a.width).map((s) => s.directory);
  const aspect = first.width / first.height;
  const levels = sized.filter(
    (image, i) =>
      i === 0 ||
      (image.tiled === first.tiled &&
        Math.abs(image.width / image.height / aspect - 1) < 0.02 &&
        image.width < first.width),
  );
  levels.sort((a, b) => b.width - a.width);
  // Several IFDs of one size (OME planes, z-stacks) are not levels: keep the first of each width.
  return levels.filter((image, i) => i === 0 || image.width < levels[i - 1].width).map((s) => s.directory);
}

/** Beyond this an edge is not a slide but a corrupt size (the largest scanners give ~200,000 px). */
const MAX_EDGE = 1 << 24;

function positiveSize(value: number, tagName: string, directory: TiffDirectory, name: string): number {
  if (!(value > 0) || value > MAX_EDGE)
    throw new SlideError(
      'corrupt',
      name,
      `${tagName} of ${directory.label} is ${value}; it must be a positive size up to ${MAX_EDGE}`,
    );
  return value;
}

interface LevelTables {
  readonly offsets: readonly [number, number[]];
  readonly byteCounts: readonly [number, number[]];
}

/**
 * Everything about one level that can be checked without decoding a pixel: sizes, samples,
 * compression, the tile or strip geometry, and that the tile tables have an entry for every
 * tile the geometry needs, each inside the file.
 */
async function checkLevel(
  values: DirectoryValues,
  directory: TiffDirectory,
  level: number,
  name: string,
  maxStripBytes: number,
  fileSize: number,
): Promise<LevelTables> {
  const width = positiveSize(values.scalar(256, 'ImageWidth'), 'ImageWidth', directory, name);
  const height = positiveSize(values.scalar(257, 'ImageLength'), 'ImageLength', directory, name);
  const where = `of level ${level} (${directory.label})`;
  const compression = values.scalar(259, 'Compression', 1);
  if (!isSupportedCompression(compression)) {
    throw new SlideError(
      'unsupported-compression',
      name,
      `level ${level} uses TIFF compression ${compression} (${compressionName(compression)}), ` +
        `which this viewer cannot decode`,
    );
  }
  const samples = values.scalar(277, 'SamplesPerPixel', 1);
  if (samples < 1 || samples > 4)
    throw new SlideError(
      'unsupported-format',
      name,
      `SamplesPerPixel ${where} is ${samples}; brightfield images have 1, 3 or 4`,
    );
  const planar = values.scalar(284, 'PlanarConfiguration', 1);
  if (planar !== 1 && planar !== 2)
    throw new SlideError('corrupt', name, `PlanarConfiguration ${where} is ${planar}; TIFF defines 1 and 2`);
  const bits = directory.entries.has(258) ? await values.integers(258, 'BitsPerSample', samples) : [1];
  if (bits.some((b) => b !== 8)) {
    throw new SlideError(
      'unsupported-format',
      name,
      `level ${level} has ${bits.find((b) => b !== 8)}-bit samples; ` +
        'only 8-bit brightfield (RGB or grey) images are supported',
    );
  }

  const tiled = directory.entries.has(324);
  if (tiled === directory.entries.has(273))
    throw new SlideError(
      'corrupt',
      name,
      tiled ? `${directory.label} has both tiles and strips` : `${directory.label} has neither tiles nor strips`,
    );
  let blockWidth: number;
  let blockHeight: number;
  if (tiled) {
    blockWidth = values.scalar(322, 'TileWidth');
    blockHeight = values.scalar(323, 'TileLength');
    for (const [tagName, edge, size] of [
      ['TileWidth', blockWidth, width],
      ['TileLength', blockHeight, height],
    ] as const) {
      // The TIFF spec: tile edges are multiples of 16. Beyond 4× the level (or 1024 px for a
      // small level) a tile is not a layout but a corrupt number that would allocate gigabytes.
      if (!(edge > 0) || edge % 16 !== 0 || edge > Math.max(4 * size, 1024))
        throw new SlideError(
          'corrupt',
          name,
          `${tagName} ${where} is ${edge}; tile edges are positive multiples of 16, ` +
            `at most 4× the level's ${size} px`,
        );
    }
    const tileBytes = blockWidth * blockHeight * samples;
    if (tileBytes > maxStripBytes)
      throw new SlideError(
        'unsupported-format',
        name,
        `level ${level} has tiles of ${(tileBytes / 2 ** 20).toFixed(0)} MiB each when decoded, too large to read ` +
          `(limit ${(maxStripBytes / 2 ** 20).toFixed(0)} MiB)`,
      );
  } else {
    const rowsPerStrip = values.scalar(278, 'RowsPerStrip', height);
    if (!(rowsPerStrip > 0))
      throw new SlideError('corrupt', name, `RowsPerStrip ${where} is ${rowsPerStrip}; it must be positive`);
    blockWidth = width;
    blockHeight = Math.min(rowsPerStrip, height);
    const stripBytes = blockHeight * width * samples;
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
  const across = Math.ceil(width / blockWidth);
  const down = Math.ceil(height / blockHeight);
  const needed = across * down * (planar === 2 ? samples : 1);
  const [offsetTag, countTag] = tiled ? [324, 325] : [273, 279];
  const [offsetName, countName] = tiled ? ['TileOffsets', 'TileByteCounts'] : ['StripOffsets', 'StripByteCounts'];
  if (!directory.entries.has(countTag)) throw new SlideError('corrupt', name, `${directory.label} has no ${countName}`);
  for (const [tag, tagName] of [
    [offsetTag, offsetName],
    [countTag, countName],
  ] as const) {
    const count = directory.entries.get(tag)!.count;
    if (count < needed)
      throw new SlideError(
        'corrupt',
        name,
        `${tagName} ${where} has ${count} entries, but ${width}×${height} px in ${blockWidth}×${blockHeight} ` +
          `blocks${planar === 2 ? ` of ${samples} separate planes` : ''} needs ${needed}`,
      );
  }
  const offsets = await values.integers(offsetTag, offsetName, needed);
  const byteCounts = await values.integers(countTag, countName, needed);
  if (Number.isFinite(fileSize)) {
    for (let i = 0; i < needed; i++) {
      const end = offsets[i] + byteCounts[i];
      if (byteCounts[i] > fileSize)
        throw new SlideError(
          'corrupt',
          name,
          `${countName} ${where} gives block ${i} ${byteCounts[i]} bytes, more than the whole file (${fileSize})`,
        );
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
  return { offsets: [offsetTag, offsets], byteCounts: [countTag, byteCounts] };
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
  // Every range is checked against the file size before it is read (tiff-directories.ts,
  // checkLevel), so a DataView or typed array overrun from geotiff means inconsistent tables,
  // not a short file: a file that ends early is a 'truncated' SlideError before this point.
  if (/allocation failed|Invalid typed array length|Invalid array length/i.test(message)) {
    return new SlideError('unsupported-format', name, `the image is too large to decode (${during}: ${message})`, {
      cause: err,
    });
  }
  if (err instanceof TypeError && /fetch|network/i.test(message)) {
    return new SlideError('network', name, `network error while ${during}: ${message}`, { cause: err });
  }
  return new SlideError('corrupt', name, `the file is damaged or not a valid TIFF (${during}: ${message})`, {
    cause: err,
  });
}
