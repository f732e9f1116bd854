import { SlideError, throwIfAborted } from './slide-error.js';

/**
 * The TIFF's directory structure, walked and checked here before geotiff parses a single IFD.
 * geotiff follows next-IFD pointers without a cycle check (a chain that points back hangs
 * `getImageCount()` forever, ignoring the AbortSignal, its heap growing ~10 MB/s) and reads
 * whatever a count or offset says (a NaN offset reaches `Blob.slice` and aborts Node). So every
 * IFD, entry and value range is checked against the file size here, the chain against cycles and
 * a bound, and geotiff is then pointed at the checked IFDs one by one (tiff-source.ts).
 */

/** Reads `length` bytes at `offset`; may return fewer at the end of the file. */
export type ByteReader = (offset: number, length: number, signal?: AbortSignal) => Promise<ArrayBufferLike>;

export interface TiffEntry {
  readonly tag: number;
  readonly type: number;
  readonly count: number;
  /** Where the values are: inside the IFD when they fit in the value field, else where it points. */
  readonly valuesAt: number;
  /** The values when they are stored in the entry itself (and are integers). */
  readonly inline?: readonly number[];
  /** Why the values cannot be read (a tag nobody reads may point anywhere: reading it throws this). */
  readonly unreadable?: SlideError;
}

export interface TiffDirectory {
  readonly offset: number;
  /** How it is named in messages: "IFD 2", "SubIFD 1". */
  readonly label: string;
  readonly entries: ReadonlyMap<number, TiffEntry>;
}

export interface TiffStructure {
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  /** The next-IFD chain, in file order. */
  readonly chain: readonly TiffDirectory[];
  /** The SubIFDs of the first IFD (OME-TIFF and `vips --subifd` pyramids). */
  readonly subIfds: readonly TiffDirectory[];
}

/**
 * Real slides have a few to a few hundred IFDs (OME planes) of a few dozen entries; the bounds
 * only stop a corrupt file from making the walk long.
 */
export const MAX_IFDS = 4096;
export const MAX_ENTRIES = 4096;

/** Bytes per value of each TIFF field type; 0 where the number is not a type. */
const TYPE_SIZE = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8];
const TYPE_NAMES: Record<number, string> = {
  1: 'BYTE',
  2: 'ASCII',
  3: 'SHORT',
  4: 'LONG',
  5: 'RATIONAL',
  6: 'SBYTE',
  7: 'UNDEFINED',
  8: 'SSHORT',
  9: 'SLONG',
  10: 'SRATIONAL',
  11: 'FLOAT',
  12: 'DOUBLE',
  13: 'IFD',
  16: 'LONG8',
  17: 'SLONG8',
  18: 'IFD8',
};
const INTEGER_TYPES = new Set([1, 3, 4, 13, 16, 18]);

/**
 * Tags whose values are read: by this viewer, or by geotiff as it parses an IFD (its "eager"
 * tags). Their ranges must lie in the file. Any other tag (a scanner's private metadata) may
 * point anywhere without making the slide unreadable: it is never read. ImageDescription and the
 * resolution tags are read from the first level only, so they are checked there, when read
 * (`TiffEntry.unreadable`, tiff-source.ts).
 */
const READ_TAGS = new Set([
  254, 255, 256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 322, 323, 324, 325, 330, 338, 339, 347, 33550, 33922,
  34264, 34735, 34736, 34737, 42113, 50674,
]);

const typeName = (type: number) => TYPE_NAMES[type] ?? `type ${type}`;

class Reader {
  constructor(
    private readonly read: ByteReader,
    readonly fileSize: number,
    readonly name: string,
    readonly littleEndian: boolean,
    readonly bigTiff: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** The bytes of [offset, offset + length), checked against the file first. */
  async view(offset: number, length: number, what: string): Promise<DataView> {
    this.checkRange(offset, length, what);
    const data = await this.read(offset, length, this.signal);
    throwIfAborted(this.signal, this.name);
    if (data.byteLength < length) throw this.pastEnd(what, offset + length, offset + data.byteLength);
    return new DataView(data, 0, length);
  }

  /** Throws unless [offset, offset + length) is a range of whole bytes inside the file. */
  checkRange(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0)
      throw new SlideError(
        'corrupt',
        this.name,
        `${what} has an invalid position or size (${offset}, ${length} bytes)`,
      );
    // A range longer than the whole file is a bad count, not a file that ends early.
    if (length > this.fileSize)
      throw new SlideError(
        'corrupt',
        this.name,
        `${what} would take ${length} bytes, more than the whole file (${this.fileSize} bytes)`,
      );
    if (offset + length > this.fileSize) throw this.pastEnd(what, offset + length, this.fileSize);
  }

  pastEnd(what: string, end: number, size: number): SlideError {
    return new SlideError(
      'truncated',
      this.name,
      `the file is truncated: ${what} ends at byte ${end} but the file has only ${size} bytes ` +
        '(incomplete download or copy?)',
    );
  }

  u16(view: DataView, at: number): number {
    return view.getUint16(at, this.littleEndian);
  }

  /** An unsigned integer of `size` bytes; above 2^53 it is refused rather than rounded. */
  uint(view: DataView, at: number, size: number, what: string): number {
    if (size === 1) return view.getUint8(at);
    if (size === 2) return view.getUint16(at, this.littleEndian);
    if (size === 4) return view.getUint32(at, this.littleEndian);
    const big = view.getBigUint64(at, this.littleEndian);
    if (big > BigInt(Number.MAX_SAFE_INTEGER))
      throw new SlideError('corrupt', this.name, `${what} is ${big}, beyond any file size`);
    return Number(big);
  }
}

/** Reads the header, the IFD chain and the first IFD's SubIFDs, checking every range read. */
export async function readTiffStructure(
  read: ByteReader,
  fileSize: number,
  name: string,
  signal?: AbortSignal,
): Promise<TiffStructure> {
  const probe = new Reader(read, fileSize, name, true, false, signal);
  const header = await probe.view(0, Math.min(16, fileSize), 'the TIFF header');
  const littleEndian = header.getUint8(0) === 0x49;
  const bigTiff = header.getUint16(2, littleEndian) === 43;
  const r = new Reader(read, fileSize, name, littleEndian, bigTiff, signal);
  if (bigTiff) {
    if (header.byteLength < 16) throw r.pastEnd('the BigTIFF header', 16, fileSize);
    const offsetSize = header.getUint16(4, littleEndian);
    if (offsetSize !== 8 || header.getUint16(6, littleEndian) !== 0)
      throw new SlideError(
        'corrupt',
        name,
        `the BigTIFF header gives an offset size of ${offsetSize} bytes (it must be 8)`,
      );
  } else if (header.byteLength < 8) {
    throw r.pastEnd('the TIFF header', 8, fileSize);
  }
  const first = bigTiff ? r.uint(header, 8, 8, 'the first IFD offset') : r.uint(header, 4, 4, 'the first IFD offset');
  if (first === 0) throw new SlideError('corrupt', name, 'the TIFF header points to no image directory');

  const seen = new Map<number, string>();
  const chain: TiffDirectory[] = [];
  let next = first;
  while (next !== 0) {
    const label = `IFD ${chain.length}`;
    const from = chain.length ? `the next-IFD offset of IFD ${chain.length - 1}` : 'the TIFF header';
    checkIfdOffset(r, next, seen, label, from);
    if (chain.length === MAX_IFDS)
      throw new SlideError('corrupt', name, `the file has more than ${MAX_IFDS} image directories (IFDs)`);
    const { directory, nextOffset } = await readDirectory(r, next, label);
    seen.set(next, label);
    chain.push(directory);
    next = nextOffset;
  }

  const subIfds: TiffDirectory[] = [];
  const subEntry = chain[0].entries.get(330);
  if (subEntry) {
    const offsets = await readIntegers(r, subEntry, `the SubIFDs of IFD 0`, subEntry.count);
    for (const [i, offset] of offsets.entries()) {
      const label = `SubIFD ${i}`;
      checkIfdOffset(r, offset, seen, label, `SubIFDs entry ${i} of IFD 0`);
      const { directory } = await readDirectory(r, offset, label);
      seen.set(offset, label);
      subIfds.push(directory);
    }
  }
  return { littleEndian, bigTiff, chain, subIfds };
}

function checkIfdOffset(
  r: Reader,
  offset: number,
  seen: ReadonlyMap<number, string>,
  label: string,
  from: string,
): void {
  const again = seen.get(offset);
  if (again !== undefined)
    throw new SlideError(
      'corrupt',
      r.name,
      `the image directories form a loop: ${from} points back to ${again} at byte ${offset}`,
    );
  if (offset < (r.bigTiff ? 16 : 8))
    throw new SlideError('corrupt', r.name, `${from} points into the file header (byte ${offset}) for ${label}`);
}

async function readDirectory(
  r: Reader,
  offset: number,
  label: string,
): Promise<{ directory: TiffDirectory; nextOffset: number }> {
  const countSize = r.bigTiff ? 8 : 2;
  const entrySize = r.bigTiff ? 20 : 12;
  const wordSize = r.bigTiff ? 8 : 4;
  const count = r.uint(await r.view(offset, countSize, label), 0, countSize, `the entry count of ${label}`);
  if (count === 0) throw new SlideError('corrupt', r.name, `${label} (at byte ${offset}) has no entries`);
  if (count > MAX_ENTRIES)
    throw new SlideError(
      'corrupt',
      r.name,
      `${label} (at byte ${offset}) claims ${count} entries; a TIFF directory has a few dozen`,
    );
  const view = await r.view(offset + countSize, count * entrySize + wordSize, `${label} (${count} entries)`);
  const entries = new Map<number, TiffEntry>();
  for (let e = 0; e < count; e++) {
    const at = e * entrySize;
    const tag = r.u16(view, at);
    const type = r.u16(view, at + 2);
    const size = TYPE_SIZE[type] ?? 0;
    const what = `tag ${tag} of ${label}`;
    if (size === 0)
      throw new SlideError('corrupt', r.name, `${what} has field type ${type}, which TIFF does not define`);
    const n = r.uint(view, at + 4, wordSize, `the value count of ${what}`);
    const bytes = n * size;
    const valueAt = at + 4 + wordSize;
    let entry: TiffEntry;
    if (bytes <= wordSize) {
      const inline = INTEGER_TYPES.has(type)
        ? Array.from({ length: n }, (_, i) => r.uint(view, valueAt + i * size, size, what))
        : undefined;
      entry = { tag, type, count: n, valuesAt: offset + countSize + valueAt, inline };
    } else {
      let unreadable: SlideError | undefined;
      let valuesAt = Number.NaN;
      try {
        valuesAt = r.uint(view, valueAt, wordSize, `the value offset of ${what}`);
        r.checkRange(valuesAt, bytes, `the ${n} values of ${what}`);
      } catch (err) {
        if (READ_TAGS.has(tag) || !(err instanceof SlideError)) throw err;
        unreadable = err;
      }
      entry = { tag, type, count: n, valuesAt, unreadable };
    }
    // Two entries with one tag: readers disagree on which counts, so the file is ambiguous.
    if (entries.has(tag)) throw new SlideError('corrupt', r.name, `${label} has tag ${tag} twice`);
    entries.set(tag, entry);
  }
  const nextOffset = r.uint(view, count * entrySize, wordSize, `the next-IFD offset of ${label}`);
  return { directory: { offset, label, entries }, nextOffset };
}

/** The first `length` values of an integer entry (SHORT, LONG, LONG8, IFD, BYTE), each a safe integer. */
async function readIntegers(r: Reader, entry: TiffEntry, what: string, length: number): Promise<number[]> {
  if (entry.unreadable) throw entry.unreadable;
  if (!INTEGER_TYPES.has(entry.type))
    throw new SlideError('corrupt', r.name, `${what} are of type ${typeName(entry.type)}, not integers`);
  if (entry.inline) return entry.inline.slice(0, length);
  const size = TYPE_SIZE[entry.type];
  const view = await r.view(entry.valuesAt, length * size, what);
  return Array.from({ length }, (_, i) => r.uint(view, i * size, size, what));
}

/** Integer values of one directory's entries, read with the structure's byte order and bounds. */
export interface DirectoryValues {
  /** A tag that must hold one integer; `fallback` when absent (undefined: required). */
  scalar(tag: number, tagName: string, fallback?: number): number;
  /** The first `length` integers of a tag (TileOffsets…). */
  integers(tag: number, tagName: string, length: number): Promise<number[]>;
}

export function directoryValues(
  structure: TiffStructure,
  directory: TiffDirectory,
  read: ByteReader,
  fileSize: number,
  name: string,
  signal?: AbortSignal,
): DirectoryValues {
  const r = new Reader(read, fileSize, name, structure.littleEndian, structure.bigTiff, signal);
  const where = `of ${directory.label}`;
  return {
    scalar(tag, tagName, fallback) {
      const entry = directory.entries.get(tag);
      if (!entry) {
        if (fallback !== undefined) return fallback;
        throw new SlideError('corrupt', name, `${directory.label} has no ${tagName} tag`);
      }
      if (!entry.inline || entry.count !== 1)
        throw new SlideError(
          'corrupt',
          name,
          entry.inline || INTEGER_TYPES.has(entry.type)
            ? `${tagName} ${where} holds ${entry.count} values; it must hold one`
            : `${tagName} ${where} is of type ${typeName(entry.type)}, not an integer`,
        );
      return entry.inline[0];
    },
    async integers(tag, tagName, length) {
      const entry = directory.entries.get(tag);
      if (!entry) throw new SlideError('corrupt', name, `${directory.label} has no ${tagName} tag`);
      if (entry.count < length)
        throw new SlideError(
          'corrupt',
          name,
          `${tagName} ${where} has ${entry.count} values; the image needs ${length}`,
        );
      return readIntegers(r, entry, `the ${tagName} ${where}`, length);
    },
  };
}
