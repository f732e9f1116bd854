import { DEFAULT_CONTOUR_TOLERANCE, ringBounds, simplifyPolygon, type CellContour } from './cell-contours.js';
import { labelComponents, type Connectivity } from './connected-components.js';
import { traceRings } from './contour-trace.js';
import { ringLength } from './ring-geometry.js';

/**
 * cellContours over a mask given as horizontal bands (top to bottom, each `width` × its rows), with
 * the same cells in the same order as cellContours over the whole mask — so a slide's cells come
 * out whole across tile seams without its whole mask in memory (a 16384² grid is 256 MiB of mask
 * and 1 GiB of labels at once; one 512-row band of it is 8 MiB and 32 MiB).
 *
 * Each band is labelled in a frame (a window of rows) that starts at the top row of the cells the
 * previous frame left open: a cell touching a frame's last row may go on below it, so it waits for
 * the next frame, which holds it whole. A cell that ends above the previous frame's last row was given
 * there (and a piece of such a cell cut by the frame's top is never given). Memory is the band
 * plus the rows of the tallest open cell: bounded by the band for cells, as large as the mask
 * for a mask that is one component from top to bottom.
 *
 * Traced rings are shifted into the whole mask's rows before they are simplified, and the trace
 * of a component starts at its first pixel in either mask, so the polygons are the same numbers.
 */

export interface BandedContourOptions {
  readonly connectivity?: Connectivity;
  readonly tolerance?: number;
  readonly minArea?: number;
}

interface Found {
  /** Row-major index of the cell's first pixel in the whole mask: cellContours' label order. */
  readonly first: number;
  /** Undefined for a cell under minArea: left out, but it has its label as in cellContours. */
  readonly cell?: Omit<CellContour, 'label'>;
}

export function bandedCellContours(
  bands: Iterable<Uint8Array>,
  width: number,
  options: BandedContourOptions = {},
): CellContour[] {
  const { connectivity = 8, tolerance = DEFAULT_CONTOUR_TOLERANCE, minArea = 1 } = options;
  if (!(tolerance >= 0) || !Number.isFinite(tolerance))
    throw new RangeError(`tolerance is ${tolerance}; it is a finite distance ≥ 0 in mask pixels`);
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`band width ${width} is not a positive integer`);
  const found: Found[] = [];
  // The frame's rows kept from the last band (the open cells'), and the whole mask's row they start on.
  let carry = new Uint8Array(0);
  let top = 0;
  // Rows of the whole mask labelled so far (the last frame's end).
  let end = 0;

  const label = (frame: Uint8Array, last: boolean) => {
    const rows = frame.length / width;
    const components = labelComponents(frame, width, rows, connectivity);
    const { labels, count, areas } = components;
    const first = new Float64Array(count + 1).fill(-1);
    const lastRow = new Int32Array(count + 1);
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (l === 0) continue;
      if (first[l] < 0) first[l] = i;
      lastRow[l] = (i / width) | 0;
    }
    const frameEnd = top + rows;
    let open = frameEnd;
    const given: number[] = [];
    for (let l = 1; l <= count; l++) {
      const bottom = top + lastRow[l];
      if (bottom <= end - 2) continue;
      if (!last && bottom === frameEnd - 1) open = Math.min(open, top + Math.floor(first[l] / width));
      else given.push(l);
    }
    if (given.length > 0) {
      const traced = traceRings(components);
      for (const l of given) {
        if (areas[l] < minArea) {
          found.push({ first: top * width + first[l] });
          continue;
        }
        const exact = traced[l - 1].map((ring) => {
          const shifted = Float64Array.from(ring);
          for (let i = 1; i < shifted.length; i += 2) shifted[i] += top;
          return shifted;
        });
        const rings = simplifyPolygon(exact, tolerance);
        found.push({
          first: top * width + first[l],
          cell: { rings, area: areas[l], perimeter: ringLength(rings[0]), bounds: ringBounds(exact[0]) },
        });
      }
    }
    end = frameEnd;
    carry = frame.slice((open - top) * width);
    top = open;
  };

  for (const band of bands) {
    if (band.length % width !== 0)
      throw new RangeError(`a band of ${band.length} pixels is not whole rows of ${width}`);
    const frame = new Uint8Array(carry.length + band.length);
    frame.set(carry);
    frame.set(band, carry.length);
    label(frame, false);
  }
  if (carry.length > 0) label(carry, true);
  found.sort((a, b) => a.first - b.first);
  const cells: CellContour[] = [];
  found.forEach((f, k) => {
    if (f.cell) cells.push({ label: k + 1, ...f.cell });
  });
  return cells;
}
