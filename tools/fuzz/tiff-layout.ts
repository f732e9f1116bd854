// The fuzzer's own view of a TIFF's structure: where each IFD, entry and value lies, so that a
// mutation can hit a tag's count, type or offset instead of a random byte; and a transcoder that
// rewrites the project's classic little-endian TIFFs as big-endian and/or BigTIFF seeds. It is a
// second, independent parser: the product's reader (core/slide/tiff-directories.ts) is what is
// under test, so the fuzzer must not share its code.

/** Bytes per value of each TIFF field type (0: not a type). */
export const TYPE_SIZE: readonly number[] = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8];

export const SHORT = 3;
export const LONG = 4;
export const LONG8 = 16;

export interface LayoutEntry {
  readonly tag: number;
  readonly type: number;
  readonly count: number;
  /** Where the entry's type field is (its tag is 2 bytes before). */
  readonly typeAt: number;
  readonly countAt: number;
  /** The value-or-offset field. */
  readonly valueAt: number;
  /** Where the values are: the value field itself when they fit, else the offset it holds. */
  readonly valuesAt: number;
}

export interface LayoutIfd {
  readonly offset: number;
  readonly entries: readonly LayoutEntry[];
  /** Where the next-IFD offset is stored. */
  readonly nextAt: number;
  readonly next: number;
  /** Whether it was reached through SubIFDs rather than the chain. */
  readonly sub: boolean;
}

export interface TiffLayout {
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  /** Header field holding the first IFD's offset. */
  readonly firstAt: number;
  readonly ifds: readonly LayoutIfd[];
}

/** Reads and writes the file's integers in its byte order and offset width. */
export class TiffBytes {
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    readonly bigTiff: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u16(at: number): number {
    return this.view.getUint16(at, this.littleEndian);
  }
  u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }
  u64(at: number): number {
    return Number(this.view.getBigUint64(at, this.littleEndian));
  }
  /** An offset or BigTIFF count: 4 bytes in classic TIFF, 8 in BigTIFF. */
  word(at: number): number {
    return this.bigTiff ? this.u64(at) : this.u32(at);
  }
  setU16(at: number, v: number): void {
    this.view.setUint16(at, v, this.littleEndian);
  }
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, this.littleEndian);
  }
  setWord(at: number, v: number): void {
    if (this.bigTiff) this.view.setBigUint64(at, BigInt(Math.max(0, Math.floor(v))), this.littleEndian);
    else this.setU32(at, v);
  }
  /** One value of a SHORT, LONG, LONG8, IFD or IFD8 entry. */
  value(entry: LayoutEntry, i: number): number {
    const at = entry.valuesAt + i * TYPE_SIZE[entry.type];
    if (entry.type === SHORT) return this.u16(at);
    if (entry.type === LONG8 || entry.type === 18) return this.u64(at);
    return this.u32(at);
  }
  setValue(entry: LayoutEntry, i: number, v: number): void {
    const at = entry.valuesAt + i * TYPE_SIZE[entry.type];
    if (entry.type === SHORT) this.setU16(at, v);
    else if (entry.type === LONG8 || entry.type === 18)
      this.view.setBigUint64(at, BigInt(Math.max(0, Math.floor(v))), this.littleEndian);
    else this.setU32(at, v);
  }
}

/** The structure of a well-formed TIFF (a seed); throws on anything it does not expect. */
export function parseLayout(bytes: Uint8Array): TiffLayout {
  const littleEndian = bytes[0] === 0x49;
  const probe = new TiffBytes(bytes, littleEndian, false);
  const bigTiff = probe.u16(2) === 43;
  const b = new TiffBytes(bytes, littleEndian, bigTiff);
  const firstAt = bigTiff ? 8 : 4;
  const ifds: LayoutIfd[] = [];
  const parse = (offset: number, sub: boolean): LayoutIfd => {
    const count = bigTiff ? b.u64(offset) : b.u16(offset);
    const entrySize = bigTiff ? 20 : 12;
    const start = offset + (bigTiff ? 8 : 2);
    const entries: LayoutEntry[] = [];
    for (let e = 0; e < count; e++) {
      const at = start + e * entrySize;
      const type = b.u16(at + 2);
      const n = b.word(at + 4);
      const valueAt = at + (bigTiff ? 12 : 8);
      const inline = TYPE_SIZE[type] * n <= (bigTiff ? 8 : 4);
      entries.push({
        tag: b.u16(at),
        type,
        count: n,
        typeAt: at + 2,
        countAt: at + 4,
        valueAt,
        valuesAt: inline ? valueAt : b.word(valueAt),
      });
    }
    const nextAt = start + count * entrySize;
    return { offset, entries, nextAt, next: b.word(nextAt), sub };
  };
  for (let offset = b.word(firstAt); offset !== 0 && ifds.length < 64;) {
    const ifd = parse(offset, false);
    ifds.push(ifd);
    offset = ifd.next;
  }
  const subIfds = ifds[0]?.entries.find((e) => e.tag === 330);
  if (subIfds) for (let i = 0; i < subIfds.count; i++) ifds.push(parse(b.value(subIfds, i), true));
  return { littleEndian, bigTiff, firstAt, ifds };
}

const OFFSET_TAGS = new Set([273, 324]);
const COUNT_TAGS = new Set([279, 325]);

/**
 * Rewrites a TIFF in another byte order and/or as BigTIFF (LONG8 tile and strip tables), copying
 * the image data as it is (8-bit samples read the same in either byte order).
 */
export function transcodeTiff(bytes: Uint8Array, target: { littleEndian: boolean; bigTiff: boolean }): Uint8Array {
  const layout = parseLayout(bytes);
  const from = new TiffBytes(bytes, layout.littleEndian, layout.bigTiff);
  const chain = layout.ifds.filter((ifd) => !ifd.sub);
  const subs = layout.ifds.filter((ifd) => ifd.sub);
  const size = target.bigTiff ? 16 : 8;
  const chunks: Uint8Array[] = [];
  let end = size;
  const append = (data: Uint8Array): number => {
    end += end % 2;
    const at = end;
    chunks.push(Object.assign(data, { at }));
    end += data.length;
    return at;
  };
  // Image data first, at new offsets.
  const moved = new Map<LayoutIfd, number[]>();
  for (const ifd of layout.ifds) {
    const offsets = ifd.entries.find((e) => OFFSET_TAGS.has(e.tag))!;
    const counts = ifd.entries.find((e) => COUNT_TAGS.has(e.tag))!;
    const placed: number[] = [];
    for (let i = 0; i < offsets.count; i++) {
      const at = from.value(offsets, i);
      placed.push(append(bytes.slice(at, at + from.value(counts, i))));
    }
    moved.set(ifd, placed);
  }
  type Out = { tag: number; type: number; values: number[] | Uint8Array };
  const entriesOf = (ifd: LayoutIfd): Out[] =>
    ifd.entries.map((e) => {
      if (OFFSET_TAGS.has(e.tag)) return { tag: e.tag, type: target.bigTiff ? LONG8 : LONG, values: moved.get(ifd)! };
      const size = TYPE_SIZE[e.type];
      if (e.type === SHORT || e.type === LONG || e.type === LONG8 || e.type === 13 || e.type === 18) {
        const values = Array.from({ length: e.count }, (_, i) => from.value(e, i));
        const type =
          target.bigTiff && COUNT_TAGS.has(e.tag) ? LONG8 : e.type === LONG8 && !target.bigTiff ? LONG : e.type;
        return { tag: e.tag, type, values };
      }
      if (e.type === 5) {
        const values: number[] = [];
        for (let i = 0; i < e.count * 2; i++) values.push(from.u32(e.valuesAt + 4 * i));
        return { tag: e.tag, type: e.type, values };
      }
      return { tag: e.tag, type: e.type, values: bytes.slice(e.valuesAt, e.valuesAt + size * e.count) };
    });
  const ifdEntries = layout.ifds.map(entriesOf);
  const entrySize = target.bigTiff ? 20 : 12;
  const inlineMax = target.bigTiff ? 8 : 4;
  const valueBytes = (e: Out) => (e.type === 5 ? e.values.length * 4 : e.values.length * TYPE_SIZE[e.type]);
  const ifdSize = (entries: Out[]) =>
    (target.bigTiff ? 8 : 2) +
    entries.length * entrySize +
    (target.bigTiff ? 8 : 4) +
    entries.reduce((s, e) => s + (valueBytes(e) > inlineMax ? valueBytes(e) + (valueBytes(e) % 2) : 0), 0);
  end += end % 2;
  const ifdAt: number[] = [];
  for (const entries of ifdEntries) {
    ifdAt.push(end);
    end += ifdSize(entries);
    end += end % 2;
  }
  const result = new Uint8Array(end);
  const w = new TiffBytes(result, target.littleEndian, target.bigTiff);
  for (const chunk of chunks) result.set(chunk, (chunk as Uint8Array & { at: number }).at);
  const subIndex = (ifd: LayoutIfd) => layout.ifds.indexOf(ifd);
  layout.ifds.forEach((ifd, k) => {
    const entries = ifdEntries[k];
    const sub = entries.find((e) => e.tag === 330);
    if (sub) sub.values = subs.map((s) => ifdAt[subIndex(s)]);
    const at = ifdAt[k];
    if (target.bigTiff) w.setWord(at, entries.length);
    else w.setU16(at, entries.length);
    let extra = at + (target.bigTiff ? 8 : 2) + entries.length * entrySize + (target.bigTiff ? 8 : 4);
    entries.forEach((e, i) => {
      const p = at + (target.bigTiff ? 8 : 2) + i * entrySize;
      w.setU16(p, e.tag);
      w.setU16(p + 2, e.type);
      const count = e.type === 5 ? e.values.length / 2 : e.values.length;
      w.setWord(p + 4, count);
      const valueAt = p + (target.bigTiff ? 12 : 8);
      let dst = valueAt;
      if (valueBytes(e) > inlineMax) {
        w.setWord(valueAt, extra);
        dst = extra;
        extra += valueBytes(e) + (valueBytes(e) % 2);
      }
      const size = e.type === 5 ? 4 : TYPE_SIZE[e.type];
      e.values.forEach((v: number, j: number) => {
        const d = dst + j * size;
        if (e.values instanceof Uint8Array) result[d] = v;
        else if (size === 2) w.setU16(d, v);
        else if (size === 8) w.view.setBigUint64(d, BigInt(v), target.littleEndian);
        else w.setU32(d, v);
      });
    });
    const chainIndex = chain.indexOf(ifd);
    const next = chainIndex >= 0 && chainIndex + 1 < chain.length ? ifdAt[subIndex(chain[chainIndex + 1])] : 0;
    w.setWord(at + (target.bigTiff ? 8 : 2) + entries.length * entrySize, next);
  });
  result[0] = result[1] = target.littleEndian ? 0x49 : 0x4d;
  w.setU16(2, target.bigTiff ? 43 : 42);
  if (target.bigTiff) {
    w.setU16(4, 8);
    w.setU16(6, 0);
    w.setWord(8, ifdAt[subIndex(chain[0])]);
  } else {
    w.setU32(4, ifdAt[subIndex(chain[0])]);
  }
  return result;
}
