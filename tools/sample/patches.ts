import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { Rng } from './random.js';
import { renderRegions, type Region } from './render-pool.js';
import { CLASS_COUNT, NUCLEUS_CLASSES, type SlideSpec } from './spec.js';

export interface PatchDatasetOptions {
  /** Output folder; gets images/, labels/, manifest.csv and README.md. */
  dir: string;
  /** The (virtual) slide the patches are cut from; it is never written whole. */
  spec: SlideSpec;
  count: number;
  /** Patch edge in pixels. */
  size: number;
  workers: number;
}

export interface PatchRecord {
  name: string;
  split: 'train' | 'test';
  x: number;
  y: number;
  width: number;
  height: number;
  /** Pixels per class id 0..4. */
  pixels: number[];
}

/** A patch is kept only if every class has at least this many pixels (a few nuclei) per 512². */
const MIN_CLASS_PIXELS_PER_512 = 150;

/**
 * Cuts a labelled patch set in the layout of ../shared/data/consep: candidates sit on
 * a non-overlapping lattice, are visited in seeded random order, and are kept when
 * all classes are present; if too few qualify, the richest of the rest fill up.
 */
export async function makePatchDataset(o: PatchDatasetOptions): Promise<PatchRecord[]> {
  const { spec, size } = o;
  const margin = Math.round(0.06 * Math.min(spec.width, spec.height));
  const step = Math.round(size * 1.25);
  const lattice: Region[] = [];
  for (let y = margin; y + size <= spec.height - margin; y += step) {
    for (let x = margin; x + size <= spec.width - margin; x += step) lattice.push({ x, y, width: size, height: size });
  }
  const rng = new Rng(spec.seed ^ 0x9a7c4);
  for (let i = lattice.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [lattice[i], lattice[j]] = [lattice[j], lattice[i]];
  }
  const candidates = lattice.slice(0, Math.min(lattice.length, Math.max(12, 2 * o.count + 4)));
  if (candidates.length < o.count)
    throw new Error(`a ${spec.width}×${spec.height} slide has room for only ${lattice.length} patches of ${size}²`);

  const rendered: { region: Region; rgb: Uint8Array; labels: Uint8Array; pixels: number[] }[] = [];
  await renderRegions(spec, candidates, o.workers, (region, { rgb, labels }) => {
    const pixels = new Array<number>(CLASS_COUNT).fill(0);
    for (const id of labels) pixels[id]++;
    rendered.push({ region, rgb, labels, pixels });
  });
  const minPixels = Math.ceil((MIN_CLASS_PIXELS_PER_512 * size * size) / (512 * 512));
  const complete = (p: number[]) => p.slice(1).every((n) => n >= minPixels);
  const rarest = (p: number[]) => Math.min(...p.slice(1));
  const chosen = [
    ...rendered.filter((r) => complete(r.pixels)),
    ...rendered.filter((r) => !complete(r.pixels)).sort((a, b) => rarest(b.pixels) - rarest(a.pixels)),
  ].slice(0, o.count);

  fs.mkdirSync(path.join(o.dir, 'images'), { recursive: true });
  fs.mkdirSync(path.join(o.dir, 'labels'), { recursive: true });
  const records: PatchRecord[] = [];
  const perSplit = { train: 0, test: 0 };
  chosen.forEach((c, i) => {
    // Every third patch is a test patch: about 2:1 train/test.
    const split = i % 3 === 2 ? 'test' : 'train';
    const name = `${split}_${++perSplit[split]}`;
    writePng(path.join(o.dir, 'images', `${name}.png`), size, size, c.rgb, 3);
    writePng(path.join(o.dir, 'labels', `${name}.png`), size, size, c.labels, 1);
    records.push({ name, split, x: c.region.x, y: c.region.y, width: size, height: size, pixels: c.pixels });
  });
  const header = ['name', 'split', 'width', 'height', ...Array.from({ length: CLASS_COUNT }, (_, k) => `px_class${k}`)];
  const rows = records.map((r) => [r.name, r.split, r.width, r.height, ...r.pixels].join(','));
  fs.writeFileSync(path.join(o.dir, 'manifest.csv'), [header.join(','), ...rows, ''].join('\n'));
  fs.writeFileSync(path.join(o.dir, 'README.md'), readme(o, records));
  return records;
}

function writePng(file: string, width: number, height: number, data: Uint8Array, channels: 1 | 3): void {
  const colorType = channels === 1 ? 0 : 2;
  const png = new PNG({ width, height, colorType, inputColorType: colorType, inputHasAlpha: false });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false }));
}

function readme(o: PatchDatasetOptions, records: PatchRecord[]): string {
  const total = records.reduce((s, r) => s + r.width * r.height, 0);
  const share = (id: number) => ((100 * records.reduce((s, r) => s + r.pixels[id], 0)) / total).toFixed(2);
  const present = (id: number) => records.filter((r) => r.pixels[id] > 0).length;
  const { spec } = o;
  const minPixels = Math.ceil((MIN_CLASS_PIXELS_PER_512 * o.size * o.size) / (512 * 512));
  const epithelialLooks =
    'large pale oval nuclei (~9×13 µm), vesicular chromatin, nucleoli, in rings around gland lumens';
  const plasmaLooks = 'round ~6 µm nuclei with clock-face chromatin, eccentric in purple-pink cytoplasm';
  return `# Synthetic H&E patches with per-pixel nucleus classes

**What it is.** ${records.length} RGB patches of ${o.size}×${o.size} px at ${spec.mpp} µm/px, cut from a
synthetic H&E slide that \`tools/make-sample-slide.ts\` renders (seed ${spec.seed}, a ${spec.width}×${spec.height}
virtual slide that is never written whole). The pixels are made up, not scanned: use them to test the
pipeline end to end on a fresh clone, never to report accuracy on real tissue.

**How it was made.** The renderer paints stain densities (haematoxylin, eosin) and converts them to RGB
with Beer–Lambert: stroma with wavy collagen fibres, glands (epithelium around a lumen), and nuclei drawn
from a seeded per-cell layout, with regional and per-nucleus stain jitter, chromatin texture, sensor noise
and a slight blur. Patch positions sit on a non-overlapping lattice visited in seeded random order; a
patch is kept when every class has at least ${minPixels} pixels (patches that miss one fill up only if
too few qualify). Labels mark nucleus pixels only; cytoplasm, stroma, lumens and glass are 0.

## Layout

| path | content |
| --- | --- |
| \`images/<name>.png\` | RGB, 8-bit, ${o.size}×${o.size} |
| \`labels/<name>.png\` | 1 channel, uint8: 0 = background, 1..${NUCLEUS_CLASSES.length} = class (table below) |
| \`manifest.csv\` | name, split, size, pixels per class 0..${NUCLEUS_CLASSES.length} |

\`<name>\` is \`train_<n>\` or \`test_<n>\`; every third patch is a test patch (about 2:1).

## Classes

| id | class | what distinguishes it | pixel % | patches containing it |
| --- | --- | --- | --- | --- |
| 0 | background | stroma, cytoplasm, lumens, glass | ${share(0)} | ${present(0)} |
| 1 | ${NUCLEUS_CLASSES[0].name} | ${epithelialLooks} | ${share(1)} | ${present(1)} |
| 2 | ${NUCLEUS_CLASSES[1].name} | small round dense nuclei (~6–7 µm), in clusters | ${share(2)} | ${present(2)} |
| 3 | ${NUCLEUS_CLASSES[2].name} | elongated nuclei (~3×15 µm) along the collagen fibres | ${share(3)} | ${present(3)} |
| 4 | ${NUCLEUS_CLASSES[3].name} | ${plasmaLooks} | ${share(4)} | ${present(4)} |

Mean colours of the classes overlap on purpose (stain jitter per region and per nucleus); size, shape,
texture and context separate them.

## Patch origins (level-0 pixels of the virtual slide)

| name | x | y |
| --- | --- | --- |
${records.map((r) => `| ${r.name} | ${r.x} | ${r.y} |`).join('\n')}
`;
}
