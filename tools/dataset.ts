import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { MaskedImage } from '../core/training/crop-sampler.js';

/**
 * A labelled dataset folder in the layout of ../shared/data/consep: images/<name>.png (RGB),
 * labels/<name>.png (one channel, uint8 class ids) and manifest.csv (first column `name`).
 */
export interface LabelledImage {
  readonly name: string;
  /** From the name prefix train_/test_ (CoNSeP's own split), else the manifest's split column. */
  readonly split: 'train' | 'test' | undefined;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly labels: Uint8Array;
}

export interface ClassSelection {
  /** What the class is called (used for file names and messages). */
  readonly name: string;
  /** Label ids merged into the class, e.g. epithelial = 3 and 4 in CoNSeP. */
  readonly ids: readonly number[];
}

/** Parses `name=id[,id…]`, e.g. `epithelial=3,4`. */
export function parseClassSelection(text: string): ClassSelection {
  const m = /^([A-Za-z0-9_-]+)=(\d+(?:,\d+)*)$/.exec(text.trim());
  if (!m) throw new Error(`a class is name=id[,id…] (e.g. epithelial=3,4), got "${text}"`);
  const ids = m[2].split(',').map(Number);
  if (ids.some((id) => id > 255)) throw new Error(`label ids are 0..255, got "${text}"`);
  return { name: m[1], ids };
}

export function readManifestNames(dir: string): { name: string; split: string | undefined }[] {
  const file = path.join(dir, 'manifest.csv');
  if (!fs.existsSync(file)) throw new Error(`${dir} has no manifest.csv; expected images/, labels/ and manifest.csv`);
  const [header, ...rows] = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const columns = header.split(',');
  const nameAt = columns.indexOf('name');
  if (nameAt < 0) throw new Error(`${file} has no "name" column`);
  const splitAt = columns.findIndex((c) => c === 'split' || c === 'consep_split');
  return rows.map((r) => {
    const cells = r.split(',');
    return { name: cells[nameAt], split: splitAt >= 0 ? cells[splitAt] : undefined };
  });
}

function splitOf(name: string, manifestSplit: string | undefined): LabelledImage['split'] {
  if (name.startsWith('train_')) return 'train';
  if (name.startsWith('test_')) return 'test';
  return manifestSplit === 'train' || manifestSplit === 'test' ? manifestSplit : undefined;
}

/** Reads every image of the folder, or only those whose split is `only` (unsplit images count as train). */
export function readLabelledDataset(dir: string, only?: 'train' | 'test'): LabelledImage[] {
  const out: LabelledImage[] = [];
  for (const { name, split: manifestSplit } of readManifestNames(dir)) {
    const split = splitOf(name, manifestSplit);
    if (only && (split ?? 'train') !== only) continue;
    const image = PNG.sync.read(fs.readFileSync(path.join(dir, 'images', `${name}.png`)));
    const label = PNG.sync.read(fs.readFileSync(path.join(dir, 'labels', `${name}.png`)), { skipRescale: true });
    if (image.width !== label.width || image.height !== label.height)
      throw new Error(`${name}: image ${image.width}×${image.height}, labels ${label.width}×${label.height}`);
    const n = image.width * image.height;
    // pngjs always decodes to RGBA (8 bits per channel; a 16-bit PNG needs skipRescale to keep ids).
    const rgb = new Uint8Array(3 * n);
    for (let i = 0; i < n; i++) {
      rgb[3 * i] = image.data[4 * i];
      rgb[3 * i + 1] = image.data[4 * i + 1];
      rgb[3 * i + 2] = image.data[4 * i + 2];
    }
    const labels = new Uint8Array(n);
    const labelData = label.data as unknown as ArrayLike<number>;
    for (let i = 0; i < n; i++) labels[i] = labelData[4 * i];
    out.push({ name, split, width: image.width, height: image.height, rgb, labels });
  }
  return out;
}

/** The images with a 0/1 mask of the selected class. */
export function maskClass(images: readonly LabelledImage[], selection: ClassSelection): MaskedImage[] {
  const isClass = new Uint8Array(256);
  for (const id of selection.ids) isClass[id] = 1;
  return images.map((im) => ({
    name: im.name,
    width: im.width,
    height: im.height,
    rgb: im.rgb,
    mask: Uint8Array.from(im.labels, (l) => isClass[l]),
  }));
}
