import { SlideError } from '../../core/slide/slide-error.js';
import { openTiff } from '../../core/slide/tiff-source.js';
import { buildPyramid, encodeTiff, renderRegion, type Raster, type TiffImageOptions } from '../sample/index.js';
import type { FuzzKind } from './fuzz-kind.js';
import { parseLayout, TiffBytes, transcodeTiff, TYPE_SIZE, type LayoutEntry, type TiffLayout } from './tiff-layout.js';

/** The name every mutant is opened under; a typed error must name it. */
export const MUTANT_NAME = 'mutant.tif';

// Small seeds: a fuzz run is thousands of opens on a 2-core machine, and every structure the
// reader handles (tiles and strips, chain and SubIFDs, both byte orders, BigTIFF) shows at
// 512×384 with four levels as well as at slide size.
const SPEC = { seed: 5, width: 512, height: 384, mpp: 0.5 };

function pyramid(levels: readonly Raster[], options: Partial<TiffImageOptions>, layout?: 'chain' | 'subifds') {
  return encodeTiff(
    levels.map((level, i) => ({
      options: {
        width: level.width,
        height: level.height,
        samplesPerPixel: level.channels as 1 | 3,
        reduced: i > 0,
        mpp: SPEC.mpp * (SPEC.width / level.width),
        ...options,
        description: i === 0 ? options.description : undefined,
      },
      pixels: level.data,
    })),
    layout,
  );
}

const OME =
  '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">' +
  '<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint8" SizeX="512" SizeY="384" ' +
  'SizeC="3" SizeZ="1" SizeT="1" PhysicalSizeX="0.5" PhysicalSizeXUnit="µm" PhysicalSizeY="0.5"/></Image></OME>';

/** The seeds: generated pyramids in every layout the product reads. */
export function tiffSeeds(): Uint8Array[] {
  const { rgb } = renderRegion(SPEC, 0, 0, SPEC.width, SPEC.height);
  const levels = buildPyramid({ width: SPEC.width, height: SPEC.height, channels: 3, data: rgb }, 64);
  const grey = levels.map((l) => {
    const data = new Uint8Array(l.width * l.height);
    for (let i = 0; i < data.length; i++) data[i] = l.data[3 * i + 1];
    return { width: l.width, height: l.height, channels: 1, data };
  });
  const deflate = pyramid(levels, { compression: 'deflate' });
  const tiles128 = pyramid(levels, { compression: 'deflate', tileSize: 128, predictor: true });
  const ome = pyramid(levels, { compression: 'deflate', description: OME }, 'subifds');
  const svs = encodeTiff([
    {
      options: {
        width: levels[0].width,
        height: levels[0].height,
        samplesPerPixel: 3,
        compression: 'jpeg',
        description: 'Aperio Image Library v12.0.15 \r\n512x384 [0,0 512x384] (256x256) JPEG/RGB Q=70|MPP = 0.4990',
      },
      pixels: levels[0].data,
    },
    // Aperio's strip-based thumbnail between the levels.
    {
      options: { width: levels[2].width, height: levels[2].height, samplesPerPixel: 3, rowsPerStrip: 16 },
      pixels: levels[2].data,
    },
    ...levels.slice(1).map((l) => ({
      options: {
        width: l.width,
        height: l.height,
        samplesPerPixel: 3 as const,
        compression: 'jpeg' as const,
        reduced: true,
      },
      pixels: l.data,
    })),
  ]);
  return [
    deflate,
    pyramid(levels, { compression: 'jpeg' }),
    tiles128,
    pyramid(levels, { compression: 'deflate', rowsPerStrip: 32 }),
    pyramid(grey, { compression: 'none', rowsPerStrip: 8 }),
    ome,
    svs,
    transcodeTiff(deflate, { littleEndian: true, bigTiff: true }),
    transcodeTiff(tiles128, { littleEndian: false, bigTiff: false }),
    transcodeTiff(ome, { littleEndian: false, bigTiff: true }),
  ];
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const int = (random: () => number, n: number) => Math.floor(random() * n);

/** Values that break readers: zero, one, edges of 16/32 bits, beyond the file, negative as unsigned. */
function interesting(random: () => number, size: number, current: number): number {
  return pick(random, [
    0,
    1,
    2,
    6,
    15,
    16,
    17,
    current - 1,
    current + 1,
    current * 2,
    Math.floor(current / 2),
    size - 1,
    size,
    size + 1,
    int(random, size),
    0x7fff,
    0xffff,
    0x10000,
    0xffffff,
    0x1000000,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    int(random, 2 ** 32),
  ]);
}

const TILE_TAGS = [322, 323];
const GEOMETRY_TAGS = [256, 257, 258, 259, 262, 277, 278, 284, 317, 530];
const TABLE_TAGS = [273, 279, 324, 325];

type Mutation = (b: TiffBytes, layout: TiffLayout, random: () => number) => void;

function anyEntry(layout: TiffLayout, random: () => number, tags?: readonly number[]): LayoutEntry | undefined {
  const entries = layout.ifds.flatMap((ifd) => ifd.entries).filter((e) => !tags || tags.includes(e.tag));
  return entries.length ? pick(random, entries) : undefined;
}

/** Sets an entry's (first) value whether it is stored inline or out of line. */
function setFirst(b: TiffBytes, entry: LayoutEntry, value: number): void {
  if (entry.type === 3 || entry.type === 4 || entry.type === 16 || entry.type === 13 || entry.type === 18)
    b.setValue(entry, 0, value);
}

const MUTATIONS: Record<string, Mutation> = {
  // Next-IFD pointers that loop back to the same or an earlier IFD, or point anywhere.
  loop(b, layout, random) {
    const chain = layout.ifds.filter((ifd) => !ifd.sub);
    const k = int(random, chain.length);
    const target = random() < 0.8 ? chain[int(random, k + 1)].offset : interesting(random, b.bytes.length, 0);
    b.setWord(chain[k].nextAt, target);
  },
  count(b, layout, random) {
    const e = anyEntry(layout, random)!;
    b.setWord(e.countAt, interesting(random, b.bytes.length, e.count));
  },
  offset(b, layout, random) {
    const e = anyEntry(layout, random)!;
    b.setWord(e.valueAt, interesting(random, b.bytes.length, b.word(e.valueAt)));
  },
  type(b, layout, random) {
    const e = anyEntry(layout, random)!;
    b.setU16(
      e.typeAt,
      random() < 0.5 ? int(random, 20) : pick(random, [0, 1, 2, 3, 4, 5, 7, 11, 12, 13, 16, 17, 18, 99]),
    );
  },
  tileSize(b, layout, random) {
    const e = anyEntry(layout, random, TILE_TAGS) ?? anyEntry(layout, random, [278])!;
    if (random() < 0.2) b.setWord(e.countAt, pick(random, [0, 2, 3, 4096]));
    else setFirst(b, e, pick(random, [0, 1, 6, 8, 15, 16, 17, 48, 100, 4096, 65535, 0x10000, 1 << 20, 0x7fffffff]));
  },
  geometry(b, layout, random) {
    const e = anyEntry(layout, random, GEOMETRY_TAGS)!;
    if (random() < 0.15) b.setWord(e.countAt, interesting(random, b.bytes.length, e.count));
    else if (e.tag === 284) setFirst(b, e, pick(random, [0, 2, 3, 0xffff]));
    else setFirst(b, e, interesting(random, b.bytes.length, b.value(e, 0)));
  },
  table(b, layout, random) {
    const e = anyEntry(layout, random, TABLE_TAGS)!;
    if (random() < 0.4) b.setWord(e.countAt, pick(random, [0, 1, Math.floor(e.count / 2), e.count - 1, e.count + 1]));
    else if (TYPE_SIZE[e.type]) b.setValue(e, int(random, e.count), interesting(random, b.bytes.length, b.value(e, 0)));
  },
  flip(b, layout, random) {
    const inIfd = random() < 0.7;
    const ifd = pick(random, layout.ifds);
    const from = inIfd ? ifd.offset : 0;
    const span = inIfd ? ifd.nextAt + 8 - ifd.offset : b.bytes.length;
    for (let i = 1 + int(random, 8); i > 0; i--) {
      const at = Math.min(b.bytes.length - 1, from + int(random, span));
      b.bytes[at] ^= 1 << int(random, 8);
    }
  },
  header(b, layout, random) {
    if (random() < 0.5) b.setWord(layout.firstAt, interesting(random, b.bytes.length, b.word(layout.firstAt)));
    else b.bytes[int(random, layout.bigTiff ? 16 : 8)] ^= 1 << int(random, 8);
  },
};
const NAMES = Object.keys(MUTATIONS);

/** A mutant: one to three structure-aware mutations, and a cut at a random length now and then. */
export function mutateTiff(seed: Uint8Array, random: () => number): Uint8Array {
  const layout = parseLayout(seed);
  const bytes = seed.slice();
  const b = new TiffBytes(bytes, layout.littleEndian, layout.bigTiff);
  const truncate = random() < 0.12;
  const count = truncate && random() < 0.5 ? 0 : random() < 0.7 ? 1 : 2 + int(random, 2);
  for (let i = 0; i < count; i++) MUTATIONS[pick(random, NAMES)](b, layout, random);
  return truncate ? bytes.slice(0, int(random, bytes.length)) : bytes;
}

/** Opens the mutant from a Blob as the product does and reads a window at the first, a middle and the last level. */
export async function checkTiff(bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>]);
  const source = await openTiff({ kind: 'blob', blob, name: MUTANT_NAME }, { signal });
  const last = source.levels.length - 1;
  for (const level of new Set([0, Math.floor(last / 2), last])) {
    const { width, height } = source.levels[level];
    // A window across tile corners where the level is large enough to have them.
    const w = Math.min(width, 160);
    const h = Math.min(height, 120);
    const x = Math.max(0, Math.min(width - w, 200));
    const y = Math.max(0, Math.min(height - h, 200));
    await source.readRegion({ level, x, y, width: w, height: h, signal });
  }
}

export function isTypedSlideError(error: unknown): boolean {
  return (
    error instanceof SlideError &&
    typeof error.code === 'string' &&
    error.file === MUTANT_NAME &&
    error.message.startsWith(`${MUTANT_NAME}: `)
  );
}

export const tiffKind: FuzzKind = {
  name: 'tiff',
  seeds: async () => tiffSeeds(),
  mutate: mutateTiff,
  check: checkTiff,
  isTyped: isTypedSlideError,
};
