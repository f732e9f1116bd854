// Masks for the contour and export tests: random ones that stress corners and holes, and the
// label images of the generated sample (real-looking nuclei), plus an independent flood fill.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import type { Connectivity } from '../../../core/cells/connected-components.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

export const SAMPLE_LABELS = fileURLToPath(new URL('../../../.cache/sample/patches/labels/', import.meta.url));

export interface LabelImage {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Class id per pixel (0 background). */
  readonly classes: Uint8Array;
}

/** The sample's label PNGs (`npm run sample` makes them); fails loudly when they are missing. */
export function sampleLabelImages(): LabelImage[] {
  if (!existsSync(SAMPLE_LABELS)) throw new Error(`${SAMPLE_LABELS} is missing: run \`npm run sample\` first`);
  return readdirSync(SAMPLE_LABELS)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((file) => {
      const png = PNG.sync.read(readFileSync(SAMPLE_LABELS + file));
      // pngjs expands every PNG to RGBA; a grey label image has its id in every colour channel.
      const classes = new Uint8Array(png.width * png.height);
      for (let i = 0; i < classes.length; i++) classes[i] = png.data[4 * i];
      return { name: file.replace(/\.png$/, ''), width: png.width, height: png.height, classes };
    });
}

/** A random binary mask: noise at `density`, optionally with some filled discs and rings. */
export function randomMask(
  random: SeededRandom,
  width: number,
  height: number,
  density: number,
  shapes = 0,
): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) mask[i] = random.next() < density ? 1 : 0;
  for (let s = 0; s < shapes; s++) {
    const cx = random.next() * width;
    const cy = random.next() * height;
    const r = 1 + random.next() * Math.min(width, height) * 0.3;
    const inner = random.next() < 0.5 ? r * random.next() * 0.7 : -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (d < r) mask[y * width + x] = d < inner ? 0 : 1;
      }
    }
  }
  return mask;
}

/**
 * Components by breadth-first flood fill from each unlabelled pixel in raster order: the
 * definition, written without union-find. `on(i)` says whether pixel i belongs to the set.
 */
export function floodLabels(
  width: number,
  height: number,
  on: (i: number) => boolean,
  connectivity: Connectivity,
): { labels: Int32Array; count: number } {
  const labels = new Int32Array(width * height);
  const steps =
    connectivity === 8
      ? [
          [-1, -1],
          [0, -1],
          [1, -1],
          [-1, 0],
          [1, 0],
          [-1, 1],
          [0, 1],
          [1, 1],
        ]
      : [
          [0, -1],
          [-1, 0],
          [1, 0],
          [0, 1],
        ];
  let count = 0;
  const queue = new Int32Array(width * height);
  for (let start = 0; start < labels.length; start++) {
    if (labels[start] !== 0 || !on(start)) continue;
    labels[start] = ++count;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    while (head < tail) {
      const i = queue[head++];
      const x = i % width;
      const y = (i - x) / width;
      for (const [dx, dy] of steps) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const j = ny * width + nx;
        if (labels[j] === 0 && on(j)) {
          labels[j] = count;
          queue[tail++] = j;
        }
      }
    }
  }
  return { labels, count };
}

/** Dice of two binary masks (non-zero = on). */
export function dice(a: Uint8Array, b: Uint8Array): number {
  let both = 0,
    sa = 0,
    sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0,
      y = b[i] !== 0;
    if (x) sa++;
    if (y) sb++;
    if (x && y) both++;
  }
  return sa + sb === 0 ? 1 : (2 * both) / (sa + sb);
}

/** A flat ring as [x, y] pairs, the form rasterisePolygon takes. */
export function pairs(ring: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < ring.length; i += 2) out.push([ring[i], ring[i + 1]]);
  return out;
}
