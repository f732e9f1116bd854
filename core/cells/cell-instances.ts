import { DEFAULT_CONTOUR_TOLERANCE, simplifyPolygon, type CellContour } from './cell-contours.js';
import { labelBoxes, labelComponents, type Components } from './connected-components.js';
import { traceRings } from './contour-trace.js';
import { ringLength } from './ring-geometry.js';
import { splitTouching } from './watershed-split.js';
import type { Rect } from '../math/rect.js';

/**
 * Cells as instances: touching nuclei split (watershed-split.ts), each instance its own polygon,
 * and — for a map that is one output tile with margins of its neighbours around it — each cell
 * given to exactly one tile, whole, so that a cell crossing a seam is one cell.
 *
 * Seams. A tile's cells are found in a window of the map: the tile (`owned`) and a margin of
 * the neighbouring tiles' probabilities around it, NaN where a neighbour is not computed yet.
 * A connected component of the mask that lies wholly in the window and touches no unknown
 * pixel is complete: its split is the same in every window that holds it (the split depends on
 * the component's pixels only), and it belongs to the tile holding its first pixel (top-most,
 * then left-most), which is the same pixel in every window. A component that touches an
 * unknown pixel or an open edge of the window (one that is not the slide's edge) may go on
 * beyond what is known: its part inside `owned` is split and kept, cut at the seam as before,
 * until the neighbours are known. So with a margin as wide as the cells, every cell is one
 * polygon drawn by one tile; a larger clump crossing a seam stays cut there.
 */

export interface CellInstanceOptions {
  /** For probabilities: a pixel is cell when p > threshold (NaN: unknown). Default 0.5. */
  readonly threshold?: number;
  /** Split touching nuclei (default true); false keeps connected components, as cellContours. */
  readonly split?: boolean;
  /** The split's h (watershed-split.ts); default DEFAULT_SPLIT_DEPTH. */
  readonly depth?: number;
  /** Douglas–Peucker tolerance in map pixels; default as cellContours (0.5). */
  readonly tolerance?: number;
  /** The part of the map whose cells these are (map pixels); default all of it. */
  readonly owned?: Rect;
  /** Sides of the map beyond which the image goes on, unknown here (not the slide's edges). Default none. */
  readonly openEdges?: {
    readonly left?: boolean;
    readonly top?: boolean;
    readonly right?: boolean;
    readonly bottom?: boolean;
  };
  /** Instances with fewer pixels are left out. Default 1. */
  readonly minArea?: number;
}

export interface CellInstances {
  readonly width: number;
  readonly height: number;
  /** Per map pixel: 0, or the number 1…count of the instance in `cells` (cells[k − 1]) it belongs to. */
  readonly labels: Int32Array;
  /** One per instance, in label order; `label` indexes `labels`. Coordinates in map pixels (may leave `owned`). */
  readonly cells: readonly CellContour[];
}

export function cellInstances(
  map: Float32Array | Uint8Array,
  width: number,
  height: number,
  options: CellInstanceOptions = {},
): CellInstances {
  const { threshold = 0.5, split = true, tolerance = DEFAULT_CONTOUR_TOLERANCE, minArea = 1 } = options;
  const owned = options.owned ?? { x: 0, y: 0, width, height };
  const open = options.openEdges ?? {};
  if (map.length !== width * height)
    throw new RangeError(`map has ${map.length} pixels, ${width}×${height} needs ${width * height}`);
  if (!(tolerance >= 0) || !Number.isFinite(tolerance))
    throw new RangeError(`tolerance is ${tolerance}; it is a finite distance ≥ 0 in map pixels`);
  const probabilities = map instanceof Float32Array;
  const mask = new Uint8Array(width * height);
  const unknown = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) {
    if (probabilities) {
      if (Number.isNaN(map[i])) unknown[i] = 1;
      else if (map[i] > threshold) mask[i] = 1;
    } else if (map[i] !== 0) mask[i] = 1;
  }
  const components = labelComponents(mask, width, height, 8);
  const { labels, count } = components;
  // Per component: incomplete (touches the unknown or an open edge), and its first pixel.
  const incomplete = new Uint8Array(count + 1);
  const first = new Int32Array(count + 1).fill(-1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const l = labels[y * width + x];
      if (l === 0) continue;
      if (first[l] < 0) first[l] = y * width + x;
      if (incomplete[l]) continue;
      if ((open.left && x === 0) || (open.right && x === width - 1) || (open.top && y === 0)) incomplete[l] = 1;
      else if (open.bottom && y === height - 1) incomplete[l] = 1;
      else if (touchesUnknown(unknown, width, height, x, y)) incomplete[l] = 1;
    }
  }
  const inOwned = (x: number, y: number) =>
    x >= owned.x && y >= owned.y && x < owned.x + owned.width && y < owned.y + owned.height;
  const keep = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const l = labels[y * width + x];
      if (l === 0) continue;
      if (incomplete[l]) keep[y * width + x] = inOwned(x, y) ? 1 : 0;
      else {
        const f = first[l];
        const fx = f % width;
        keep[y * width + x] = inOwned(fx, (f - fx) / width) ? 1 : 0;
      }
    }
  }
  const instances = split
    ? splitTouching(keep, width, height, options.depth === undefined ? {} : { depth: options.depth })
    : labelComponents(keep, width, height, 8);
  return instancesOf(instances, tolerance, minArea);
}

function touchesUnknown(unknown: Uint8Array, width: number, height: number, x: number, y: number): boolean {
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= height) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if (xx >= 0 && xx < width && unknown[yy * width + xx]) return true;
    }
  }
  return false;
}

/**
 * Each instance traced on its own (in its bounding box plus one pixel): instances touch, and the
 * tracer outlines foreground against everything else. Instances under `minArea` are dropped and
 * the rest renumbered.
 */
function instancesOf(instances: Components, tolerance: number, minArea: number): CellInstances {
  const { width, height, labels, count, areas } = instances;
  const box = labelBoxes(labels, width, height, count);
  const cells: CellContour[] = [];
  const renumbered = new Int32Array(count + 1);
  for (let l = 1; l <= count; l++) {
    if (areas[l] < minArea) continue;
    const bx = box.x0[l] - 1;
    const by = box.y0[l] - 1;
    const bw = box.x1[l] - box.x0[l] + 3;
    const bh = box.y1[l] - box.y0[l] + 3;
    const crop = new Uint8Array(bw * bh);
    for (let y = 1; y < bh - 1; y++)
      for (let x = 1; x < bw - 1; x++) if (labels[(by + y) * width + bx + x] === l) crop[y * bw + x] = 1;
    const traced = traceRings(labelComponents(crop, bw, bh, 8))[0].map((ring) => {
      const shifted = new Float64Array(ring.length);
      for (let i = 0; i < ring.length; i += 2) {
        shifted[i] = ring[i] + bx;
        shifted[i + 1] = ring[i + 1] + by;
      }
      return shifted;
    });
    const rings = simplifyPolygon(traced, tolerance);
    renumbered[l] = cells.length + 1;
    cells.push({
      label: cells.length + 1,
      rings,
      area: areas[l],
      perimeter: ringLength(rings[0]),
      bounds: { x: box.x0[l], y: box.y0[l], width: box.x1[l] - box.x0[l] + 1, height: box.y1[l] - box.y0[l] + 1 },
    });
  }
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = renumbered[labels[i]];
  return { width, height, labels: out, cells };
}
