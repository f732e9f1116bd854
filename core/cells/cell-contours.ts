import { labelComponents, type Connectivity } from './connected-components.js';
import { traceRings } from './contour-trace.js';
import { isValidPolygon } from './polygon-validity.js';
import { ringLength } from './ring-geometry.js';
import { simplifyRing } from './simplify-ring.js';

/** One cell: a connected component of the mask, as a polygon with its measures. */
export interface CellContour {
  /** The component's number in the mask (1…, raster order of its first pixel). */
  readonly label: number;
  /**
   * Outer ring, then holes: flat [x0, y0, x1, y1, …], first vertex not repeated, in pixel-corner
   * coordinates of the mask (pixel (x, y) covers [x, x + 1) × [y, y + 1)). The outer ring has
   * positive signed area (counter-clockwise read with y up), holes negative. Simplified within
   * the tolerance asked for and always a valid polygon (see polygon-validity.ts).
   */
  readonly rings: readonly Float64Array[];
  /** Pixels in the component: its exact area in mask pixels, whatever the simplification. */
  readonly area: number;
  /** Length of the simplified outer ring in mask pixels (holes not counted). */
  readonly perimeter: number;
  /** The component's pixels lie in [x, x + width) × [y, y + height). */
  readonly bounds: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

export interface CellContourOptions {
  /** For probabilities: a pixel is cell when p > threshold. Default 0.5. */
  readonly threshold?: number;
  /** Default 8: cells that touch only at a corner are one cell. */
  readonly connectivity?: Connectivity;
  /**
   * Douglas–Peucker tolerance in mask pixels. Default 0.5: outlines lose the pixel staircase
   * (which also makes perimeters about right) while rasterising them back still gives nearly
   * the same pixels. 0 keeps the exact outline: rasterising it gives back the component.
   */
  readonly tolerance?: number;
  /** Components with fewer pixels are left out. Default 1 (all). */
  readonly minArea?: number;
}

export const DEFAULT_CONTOUR_TOLERANCE = 0.5;

/** The cell mask of a probability map: 1 where p > threshold, else 0. */
export function thresholdMask(probabilities: Float32Array, threshold: number): Uint8Array {
  if (!Number.isFinite(threshold)) throw new RangeError(`threshold is ${threshold}; it is a finite number`);
  const mask = new Uint8Array(probabilities.length);
  for (let i = 0; i < probabilities.length; i++) mask[i] = probabilities[i] > threshold ? 1 : 0;
  return mask;
}

/**
 * Every cell of a mask (`Uint8Array`: non-zero is cell) or of a probability map (`Float32Array`,
 * thresholded), row-major `width` × `height`, as simplified polygons with area and perimeter,
 * in label order. Linear in the pixels plus the outlines' length.
 */
export function cellContours(
  mask: Uint8Array | Float32Array,
  width: number,
  height: number,
  options: CellContourOptions = {},
): CellContour[] {
  const { threshold = 0.5, connectivity = 8, tolerance = DEFAULT_CONTOUR_TOLERANCE, minArea = 1 } = options;
  if (!(tolerance >= 0) || !Number.isFinite(tolerance))
    throw new RangeError(`tolerance is ${tolerance}; it is a finite distance ≥ 0 in mask pixels`);
  const binary = mask instanceof Float32Array ? thresholdMask(mask, threshold) : mask;
  const components = labelComponents(binary, width, height, connectivity);
  const traced = traceRings(components);
  const cells: CellContour[] = [];
  for (let k = 0; k < traced.length; k++) {
    const label = k + 1;
    const area = components.areas[label];
    if (area < minArea) continue;
    const exact = traced[k];
    const rings = simplifyPolygon(exact, tolerance);
    cells.push({ label, rings, area, perimeter: ringLength(rings[0]), bounds: ringBounds(exact[0]) });
  }
  return cells;
}

/**
 * Simplifies all rings of a polygon; where the result is not a valid polygon (rings crossing
 * or collapsing, a hole escaping), tries again with half the tolerance, and at worst keeps the
 * exact outline, which the tracer guarantees valid.
 */
export function simplifyPolygon(rings: readonly Float64Array[], tolerance: number): Float64Array[] {
  for (let t = tolerance, attempt = 0; t > 0 && attempt < 3; t /= 2, attempt++) {
    const simplified = rings.map((ring) => simplifyRing(ring, t));
    if (isValidPolygon(simplified)) return simplified;
  }
  return rings.map((ring) => simplifyRing(ring, 0));
}

/** Pixel bounds of a traced outer ring: its vertices are edge midpoints, its extremes whole edges. */
export function ringBounds(ring: Float64Array): CellContour['bounds'] {
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  for (let i = 0; i < ring.length; i += 2) {
    if (ring[i] < minX) minX = ring[i];
    if (ring[i] > maxX) maxX = ring[i];
    if (ring[i + 1] < minY) minY = ring[i + 1];
    if (ring[i + 1] > maxY) maxY = ring[i + 1];
  }
  const x = Math.floor(minX);
  const y = Math.floor(minY);
  return { x, y, width: Math.ceil(maxX) - x, height: Math.ceil(maxY) - y };
}
