import fs from 'node:fs';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';

// A small classic (32-bit offset) little-endian TIFF writer: tiled or stripped 8-bit
// images, RGB or grey, uncompressed, deflate or JPEG. Image data is appended as it is
// encoded and the IFDs go at the end, so a large level can be streamed band by band.

export type TiffCompression = 'none' | 'deflate' | 'jpeg';

export interface TiffImageOptions {
  width: number;
  height: number;
  samplesPerPixel: 1 | 3;
  /** Default 'deflate'. JPEG needs 3 samples and is stored as YCbCr (see below). */
  compression?: TiffCompression;
  /** Tile edge in pixels (multiple of 16); the default layout is 256×256 tiles. */
  tileSize?: number;
  /** Gives a strip-based (untiled) image instead of tiles. */
  rowsPerStrip?: number;
  /** Marks a reduced-resolution (pyramid) level: NewSubfileType = 1. */
  reduced?: boolean;
  /** Microns per pixel of this image; written as X/YResolution in pixels per centimetre. */
  mpp?: number;
  description?: string;
  software?: string;
  /** 1..100, default 90. */
  jpegQuality?: number;
  /**
   * Horizontal differencing before deflate (Predictor = 2): about a quarter smaller for
   * photographic content. Not used with JPEG.
   */
  predictor?: boolean;
}

const COMPRESSION_CODE: Record<TiffCompression, number> = { none: 1, deflate: 8, jpeg: 7 };
const MAX_OFFSET = 0xffffffff;

const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;
const ASCII = 2;

interface Entry {
  tag: number;
  type: number;
  /** Numbers for SHORT/LONG, [num, den] pairs flattened for RATIONAL, bytes for ASCII. */
  values: number[] | Uint8Array;
}

/** Where encoded bytes go: `write(bytes, position)` may be called out of order. */
export type ByteSink = (bytes: Uint8Array, position: number) => void;

export class TiffWriter {
  private end = 8;
  private readonly ifds: Entry[][] = [];
  private open: TiffImageWriter | null = null;

  constructor(private readonly sink: ByteSink) {}

  /** Appends encoded data (word-aligned, as TIFF recommends) and returns its offset. */
  append(bytes: Uint8Array): number {
    if (this.end % 2) this.writeAt(new Uint8Array(1), this.end);
    const at = this.end;
    this.writeAt(bytes, at);
    return at;
  }

  private writeAt(bytes: Uint8Array, at: number): void {
    if (at + bytes.length > MAX_OFFSET)
      throw new Error('TIFF larger than 4 GiB needs BigTIFF, which this writer does not do');
    this.sink(bytes, at);
    this.end = Math.max(this.end, at + bytes.length);
  }

  /** Starts the next image (IFD); images appear in the file in the order they are started. */
  startImage(options: TiffImageOptions): TiffImageWriter {
    if (this.open) throw new Error('finish the previous image first');
    this.open = new TiffImageWriter(this, options, (entries) => {
      this.ifds.push(entries);
      this.open = null;
    });
    return this.open;
  }

  /**
   * Writes the IFDs and the header. 'chain' links every image through next-IFD offsets (what
   * vips and Aperio write); 'subifds' makes the later images SubIFDs of the first, the layout
   * of OME-TIFF pyramids and `vips --subifd`.
   */
  finish(layout: 'chain' | 'subifds' = 'chain'): void {
    if (this.open) throw new Error('an image is still being written');
    if (this.ifds.length === 0) throw new Error('a TIFF needs at least one image');
    if (layout === 'subifds' && this.ifds.length > 1) {
      // The SubIFDs entry must exist before sizes are known; its values are patched below.
      this.ifds[0].push({ tag: 330, type: LONG, values: new Array(this.ifds.length - 1).fill(0) });
      this.ifds[0].sort((a, b) => a.tag - b.tag);
    }
    let offset = this.end + (this.end % 2);
    const offsets = this.ifds.map((entries) => {
      const at = offset;
      offset += ifdSize(entries);
      return at;
    });
    const subIfds = this.ifds[0].find((e) => e.tag === 330);
    if (subIfds) subIfds.values = offsets.slice(1);
    this.ifds.forEach((entries, i) => {
      const next = subIfds ? 0 : (offsets[i + 1] ?? 0);
      this.writeAt(encodeIfd(entries, offsets[i], next), offsets[i]);
    });
    const header = new DataView(new ArrayBuffer(8));
    header.setUint16(0, 0x4949, true);
    header.setUint16(2, 42, true);
    header.setUint32(4, offsets[0], true);
    this.writeAt(new Uint8Array(header.buffer), 0);
  }
}

/** Receives the rows of one image from top to bottom and encodes tiles or strips as they fill. */
export class TiffImageWriter {
  private readonly block: Uint8Array;
  private readonly blockRows: number;
  private readonly rowBytes: number;
  private readonly tiled: boolean;
  private readonly tileSize: number;
  private readonly offsets: number[] = [];
  private readonly counts: number[] = [];
  private pendingRows = 0;
  private rowsDone = 0;

  constructor(
    private readonly writer: TiffWriter,
    private readonly options: TiffImageOptions,
    private readonly done: (entries: Entry[]) => void,
  ) {
    const { width, height, samplesPerPixel, compression = 'deflate' } = options;
    if (!(width > 0 && height > 0)) throw new Error(`bad image size ${width}×${height}`);
    if (compression === 'jpeg' && samplesPerPixel !== 3) throw new Error('JPEG compression is only supported for RGB');
    if (compression === 'jpeg' && options.predictor) throw new Error('the TIFF predictor does not apply to JPEG');
    this.tiled = options.rowsPerStrip === undefined;
    this.tileSize = options.tileSize ?? 256;
    if (this.tiled && this.tileSize % 16 !== 0) throw new Error('TIFF tile sizes must be multiples of 16');
    this.blockRows = this.tiled ? this.tileSize : Math.min(options.rowsPerStrip ?? height, height);
    this.rowBytes = width * samplesPerPixel;
    this.block = new Uint8Array(this.blockRows * this.rowBytes);
  }

  /** Adds whole rows (interleaved samples); any number of rows per call. */
  writeRows(pixels: Uint8Array): void {
    if (pixels.length % this.rowBytes !== 0) throw new Error('writeRows needs whole rows');
    const rows = pixels.length / this.rowBytes;
    if (this.rowsDone + this.pendingRows + rows > this.options.height)
      throw new Error('more rows than the image height');
    let from = 0;
    while (from < rows) {
      const take = Math.min(rows - from, this.blockRows - this.pendingRows);
      this.block.set(
        pixels.subarray(from * this.rowBytes, (from + take) * this.rowBytes),
        this.pendingRows * this.rowBytes,
      );
      this.pendingRows += take;
      from += take;
      if (this.pendingRows === this.blockRows) this.flush();
    }
  }

  finish(): void {
    if (this.pendingRows > 0) this.flush();
    if (this.rowsDone !== this.options.height) throw new Error(`got ${this.rowsDone} of ${this.options.height} rows`);
    this.done(this.entries());
  }

  private flush(): void {
    const rows = this.pendingRows;
    if (this.tiled) {
      for (let x0 = 0; x0 < this.options.width; x0 += this.tileSize)
        this.store(this.encode(this.tile(x0, rows), this.tileSize, this.tileSize));
    } else {
      this.store(this.encode(this.block.subarray(0, rows * this.rowBytes), this.options.width, rows));
    }
    this.rowsDone += rows;
    this.pendingRows = 0;
  }

  /** Cuts one tile from the block; beyond the image edge it repeats the edge pixels, which compresses well. */
  private tile(x0: number, rows: number): Uint8Array {
    const t = this.tileSize;
    const spp = this.options.samplesPerPixel;
    const out = new Uint8Array(t * t * spp);
    const inside = Math.min(t, this.options.width - x0);
    for (let r = 0; r < t; r++) {
      const src = Math.min(r, rows - 1) * this.rowBytes + x0 * spp;
      const dst = r * t * spp;
      out.set(this.block.subarray(src, src + inside * spp), dst);
      for (let c = inside; c < t; c++) out.copyWithin(dst + c * spp, dst + (inside - 1) * spp, dst + inside * spp);
    }
    return out;
  }

  private encode(pixels: Uint8Array, width: number, height: number): Uint8Array {
    const compression = this.options.compression ?? 'deflate';
    if (compression !== 'jpeg') {
      const data = this.options.predictor ? differenced(pixels, width, this.options.samplesPerPixel) : pixels.slice();
      return compression === 'deflate' ? deflateSync(data) : data;
    }
    const rgba = Buffer.alloc(width * height * 4, 255);
    for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
      rgba[j] = pixels[i];
      rgba[j + 1] = pixels[i + 1];
      rgba[j + 2] = pixels[i + 2];
    }
    return jpeg.encode({ data: rgba, width, height }, this.options.jpegQuality ?? 90).data;
  }

  private store(bytes: Uint8Array): void {
    this.offsets.push(this.writer.append(bytes));
    this.counts.push(bytes.length);
  }

  private entries(): Entry[] {
    const o = this.options;
    const spp = o.samplesPerPixel;
    const compression = o.compression ?? 'deflate';
    // jpeg-js writes YCbCr JPEGs without subsampling, and decoders (geotiff among them)
    // hand back the stored components as they are, so the tag must say YCbCr.
    const photometric = spp === 1 ? 1 : compression === 'jpeg' ? 6 : 2;
    const entries: Entry[] = [
      { tag: 254, type: LONG, values: [o.reduced ? 1 : 0] },
      { tag: 256, type: LONG, values: [o.width] },
      { tag: 257, type: LONG, values: [o.height] },
      { tag: 258, type: SHORT, values: new Array(spp).fill(8) },
      { tag: 259, type: SHORT, values: [COMPRESSION_CODE[compression]] },
      { tag: 262, type: SHORT, values: [photometric] },
      { tag: 277, type: SHORT, values: [spp] },
      { tag: 284, type: SHORT, values: [1] },
    ];
    if (o.description) entries.push({ tag: 270, type: ASCII, values: ascii(o.description) });
    if (o.software) entries.push({ tag: 305, type: ASCII, values: ascii(o.software) });
    if (o.mpp) {
      const perCm = rational(10000 / o.mpp);
      entries.push(
        { tag: 282, type: RATIONAL, values: perCm },
        { tag: 283, type: RATIONAL, values: perCm },
        { tag: 296, type: SHORT, values: [3] },
      );
    }
    if (this.tiled) {
      entries.push(
        { tag: 322, type: LONG, values: [this.tileSize] },
        { tag: 323, type: LONG, values: [this.tileSize] },
        { tag: 324, type: LONG, values: this.offsets },
        { tag: 325, type: LONG, values: this.counts },
      );
    } else {
      entries.push(
        { tag: 273, type: LONG, values: this.offsets },
        { tag: 278, type: LONG, values: [this.blockRows] },
        { tag: 279, type: LONG, values: this.counts },
      );
    }
    if (o.predictor) entries.push({ tag: 317, type: SHORT, values: [2] });
    if (photometric === 6) entries.push({ tag: 530, type: SHORT, values: [1, 1] });
    return entries.sort((a, b) => a.tag - b.tag);
  }
}

/** Each sample minus the same sample of the pixel to its left, per row (modulo 256). */
function differenced(pixels: Uint8Array, width: number, spp: number): Uint8Array {
  const out = new Uint8Array(pixels.length);
  const row = width * spp;
  for (let start = 0; start < pixels.length; start += row) {
    for (let i = 0; i < spp; i++) out[start + i] = pixels[start + i];
    for (let i = start + spp; i < start + row; i++) out[i] = pixels[i] - pixels[i - spp];
  }
  return out;
}

/** TIFF ASCII is NUL-terminated bytes; OME-XML and readers expect UTF-8 in them. */
function ascii(text: string): Uint8Array {
  return new Uint8Array([...Buffer.from(text, 'utf8'), 0]);
}

/** A positive number as a RATIONAL with the finest decimal denominator that fits 32 bits. */
function rational(value: number): number[] {
  let den = 1_000_000;
  while (den > 1 && Math.round(value * den) > MAX_OFFSET) den /= 10;
  let num = Math.round(value * den);
  let a = num;
  let b = den;
  while (b) [a, b] = [b, a % b];
  num /= a;
  den /= a;
  return [num, den];
}

function valueBytes(e: Entry): number {
  const size = e.type === SHORT ? 2 : e.type === LONG ? 4 : e.type === RATIONAL ? 4 : 1;
  return e.values.length * size;
}

function ifdSize(entries: Entry[]): number {
  let size = 2 + entries.length * 12 + 4;
  for (const e of entries) {
    const bytes = valueBytes(e);
    if (bytes > 4) size += bytes + (bytes % 2);
  }
  return size;
}

function encodeIfd(entries: Entry[], at: number, next: number): Uint8Array {
  const buf = new DataView(new ArrayBuffer(ifdSize(entries)));
  buf.setUint16(0, entries.length, true);
  let extra = 2 + entries.length * 12 + 4;
  entries.forEach((e, i) => {
    const p = 2 + i * 12;
    const bytes = valueBytes(e);
    const count = e.type === RATIONAL ? e.values.length / 2 : e.values.length;
    buf.setUint16(p, e.tag, true);
    buf.setUint16(p + 2, e.type, true);
    buf.setUint32(p + 4, count, true);
    let dst = p + 8;
    if (bytes > 4) {
      buf.setUint32(p + 8, at + extra, true);
      dst = extra;
      extra += bytes + (bytes % 2);
    }
    e.values.forEach((v, k) => {
      if (e.type === SHORT) buf.setUint16(dst + 2 * k, v, true);
      else if (e.type === ASCII) buf.setUint8(dst + k, v);
      else buf.setUint32(dst + 4 * k, v, true);
    });
  });
  buf.setUint32(2 + entries.length * 12, next, true);
  return new Uint8Array(buf.buffer);
}

export interface TiffImageInput {
  options: TiffImageOptions;
  /** Interleaved samples, width × height × samplesPerPixel. */
  pixels: Uint8Array;
}

/** Encodes a whole TIFF in memory (small images, tests). */
export function encodeTiff(images: TiffImageInput[], layout: 'chain' | 'subifds' = 'chain'): Uint8Array {
  const chunks: { bytes: Uint8Array; at: number }[] = [];
  const writer = new TiffWriter((bytes, at) => chunks.push({ bytes: bytes.slice(), at }));
  for (const { options, pixels } of images) {
    const image = writer.startImage(options);
    image.writeRows(pixels);
    image.finish();
  }
  writer.finish(layout);
  const out = new Uint8Array(Math.max(...chunks.map((c) => c.at + c.bytes.length)));
  for (const c of chunks) out.set(c.bytes, c.at);
  return out;
}

/** Opens a TIFF file for streaming; call `close()` after `writer.finish()`. */
export function createTiffFile(path: string): { writer: TiffWriter; close: () => void } {
  const fd = fs.openSync(path, 'w');
  const writer = new TiffWriter((bytes, at) => {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, at + done);
  });
  return { writer, close: () => fs.closeSync(fd) };
}

/** Writes a whole TIFF from in-memory images. */
export function writeTiffFile(path: string, images: TiffImageInput[]): void {
  const { writer, close } = createTiffFile(path);
  try {
    for (const { options, pixels } of images) {
      const image = writer.startImage(options);
      image.writeRows(pixels);
      image.finish();
    }
    writer.finish();
  } finally {
    close();
  }
}
