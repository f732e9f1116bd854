import type { CellContour } from './cell-contours.js';
import { cellInstances } from './cell-instances.js';
import { measureCells, type CellMeasures, type MeasureOptions } from './cell-measurements.js';
import { labelBoxes, labelComponents } from './connected-components.js';

/**
 * A map's cells (cell-instances.ts: touching nuclei split) and their measurements
 * (cell-measurements.ts), read in horizontal bands, so that memory goes with a band's rows and
 * the rows of components still open, not with the map's area: what a whole slide needs (a
 * map of a whole slide and its instances took 15–19 bytes per pixel, measured in README.md).
 *
 * A connected component of the mask that does not touch the last row read is complete: no pixel
 * of a later band can join it (8-connected pixels are at most one row apart). It is split and
 * measured in its bounding box on its own, which gives what the whole map gives, value for value:
 * its split depends on its pixels only (watershed-split.ts), and its outlines and sums are exact
 * translations of the whole map's (integer and half-integer coordinates; sums in the same raster
 * order; centroids from the same integer pixel offsets). Its pixels are then cleared, so the rows
 * kept for the next band hold only open components, and rows above the highest open component
 * are dropped. The cells go to `emit` in the order the whole map numbers them, by first pixel
 * (top-most, then left-most), as soon as no open component or unread row can come before them: a
 * writer holds only those, not the slide's cells.
 */

/** Fills one band's rows: mask (non-zero = cell) and probabilities, `width` per row, zeroed on entry. */
export type ReadBand = (y0: number, y1: number, mask: Uint8Array, probabilities: Uint8Array) => void;

export interface BandedCellsOptions {
  readonly width: number;
  readonly height: number;
  /** Rows read at a time (e.g. one row of output tiles). */
  readonly bandHeight: number;
  /** Probabilities as 8 bits, p = byte / 255 (as tile-store.ts keeps them), for "mean probability". */
  readonly read: ReadBand;
  readonly placement: MeasureOptions['placement'];
  readonly mpp?: MeasureOptions['mpp'];
  /**
   * The next cells, in map pixels of the whole map, labelled 1… as cellInstances over the whole
   * map numbers them, with their measurements; awaited before the next band is read.
   */
  readonly emit: (cells: readonly CellContour[], measures: readonly CellMeasures[]) => void | Promise<void>;
}

export interface BandedCells {
  readonly count: number;
  /** The most rows held at once (band and open components): memory is this × width × 6 bytes. */
  readonly peakRows: number;
}

interface Found {
  readonly first: number;
  readonly cell: CellContour;
  readonly measures: CellMeasures;
}

export async function bandedCells(options: BandedCellsOptions): Promise<BandedCells> {
  const { width, height, bandHeight, read, placement, mpp, emit } = options;
  if (!(Number.isInteger(bandHeight) && bandHeight > 0))
    throw new RangeError(`bandHeight is ${bandHeight}; it is a whole number of rows ≥ 1`);
  let mask: Uint8Array = new Uint8Array(0);
  let probabilities: Uint8Array = new Uint8Array(0);
  // The window: map rows top … top + rows − 1.
  let top = 0;
  let rows = 0;
  let peakRows = 0;
  let found: Found[] = [];
  let count = 0;
  for (let y0 = 0; y0 < height; y0 += bandHeight) {
    const y1 = Math.min(height, y0 + bandHeight);
    const needed = (rows + y1 - y0) * width;
    if (needed > mask.length) [mask, probabilities] = [grown(mask, needed), grown(probabilities, needed)];
    const at = rows * width;
    mask.fill(0, at, needed);
    probabilities.fill(0, at, needed);
    read(y0, y1, mask.subarray(at, needed), probabilities.subarray(at, needed));
    rows += y1 - y0;
    peakRows = Math.max(peakRows, rows);
    const last = y1 === height;
    const view = mask.subarray(0, rows * width);
    const components = labelComponents(view, width, rows, 8);
    const { labels } = components;
    const box = labelBoxes(labels, width, rows, components.count);
    let keepFrom = rows;
    for (let l = 1; l <= components.count; l++) {
      if (!last && box.y1[l] === rows - 1) {
        keepFrom = Math.min(keepFrom, box.y0[l]);
        continue;
      }
      const bx = box.x0[l];
      const by = box.y0[l];
      const bw = box.x1[l] - bx + 1;
      const bh = box.y1[l] - by + 1;
      const crop = new Uint8Array(bw * bh);
      const p = new Float32Array(bw * bh);
      for (let y = 0; y < bh; y++) {
        for (let x = 0; x < bw; x++) {
          const i = (by + y) * width + bx + x;
          if (labels[i] !== l) continue;
          crop[y * bw + x] = 1;
          p[y * bw + x] = probabilities[i] / 255;
          mask[i] = 0;
        }
      }
      const origin = { x: bx, y: top + by };
      const instances = cellInstances(crop, bw, bh);
      const measures = measureCells(instances, { placement, mpp, probabilities: p, origin });
      const firsts = firstPixels(instances.labels, instances.cells.length);
      instances.cells.forEach((cell, k) => {
        const fx = firsts[k] % bw;
        const first = (origin.y + (firsts[k] - fx) / bw) * width + origin.x + fx;
        found.push({ first, cell: translated(cell, origin), measures: measures[k] });
      });
    }
    // Rows above every open component hold nothing now: drop them.
    mask.copyWithin(0, keepFrom * width, rows * width);
    probabilities.copyWithin(0, keepFrom * width, rows * width);
    top += keepFrom;
    rows -= keepFrom;
    // Open components and unread rows start at row `top` or below: the cells before it are final.
    found.sort((a, b) => a.first - b.first);
    let ready = 0;
    while (ready < found.length && found[ready].first < top * width) ready++;
    if (ready === 0) continue;
    const next = found.slice(0, ready);
    found = found.slice(ready);
    await emit(
      next.map(({ cell }, k) => ({ ...cell, label: count + k + 1 })),
      next.map((f) => f.measures),
    );
    count += ready;
  }
  return { count, peakRows };
}

function grown(array: Uint8Array, length: number): Uint8Array {
  const bigger = new Uint8Array(Math.max(length, 2 * array.length));
  bigger.set(array);
  return bigger;
}

/** Each label's first pixel (raster index), labels 1…count. */
function firstPixels(labels: Int32Array, count: number): Float64Array {
  const first = new Float64Array(count).fill(-1);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l !== 0 && first[l - 1] < 0) first[l - 1] = i;
  }
  return first;
}

function translated(cell: CellContour, origin: { readonly x: number; readonly y: number }): CellContour {
  const rings = cell.rings.map((ring) => {
    const moved = new Float64Array(ring.length);
    for (let i = 0; i < ring.length; i += 2) {
      moved[i] = ring[i] + origin.x;
      moved[i + 1] = ring[i + 1] + origin.y;
    }
    return moved;
  });
  const { x, y, width, height } = cell.bounds;
  return { ...cell, rings, bounds: { x: x + origin.x, y: y + origin.y, width, height } };
}
