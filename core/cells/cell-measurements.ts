import type { CellInstances } from './cell-instances.js';
import type { MaskPlacement } from './mask-placement.js';
import { ringLength, signedArea } from './ring-geometry.js';
import { stainDensity } from './stain-density.js';

/**
 * Per-cell measurements of instances (cell-instances.ts), in level-0 pixels or, where the slide's
 * scale is known, µm. Shape from the cell's pixels and its polygon; intensities from the map's
 * probabilities and the slide's RGB over the same pixels, when given.
 */
export interface CellMeasures {
  /** Pixels of the cell × the area of one (exact for the mask). */
  readonly area: number;
  /** Of the outer ring of the cell's (simplified) polygon. */
  readonly perimeter: number;
  /** 4π · area / perimeter² of that outer ring (1 for a circle, less for anything else; ≤ 1). */
  readonly circularity: number;
  /** Of the ellipse with the pixels' second moments: √(1 − λ₂/λ₁); 0 for a circle, → 1 for a line. */
  readonly eccentricity: number;
  /** Pixels' area over their convex hull's (the hull of the pixel squares): 1 for a convex shape. */
  readonly solidity: number;
  /** Mean of the pixel centres: level-0 pixels from the slide's origin, or µm with mpp. */
  readonly centroidX: number;
  readonly centroidY: number;
  /** Mean probability over the cell's pixels (when the probabilities were given). */
  readonly meanProbability?: number;
  /** Mean haematoxylin and eosin optical density (stain-density.ts), when the RGB was given. */
  readonly haematoxylinOd?: number;
  readonly eosinOd?: number;
}

export interface MeasureOptions {
  /** Where the map lies on the slide. */
  readonly placement: MaskPlacement;
  /** µm per level-0 pixel; without it, lengths and areas are in level-0 pixels. */
  readonly mpp?: { readonly x: number; readonly y: number };
  /** The map's probabilities (width × height), for mean probability. NaN pixels are not cell pixels. */
  readonly probabilities?: Float32Array;
  /** The map's pixels as interleaved RGB (3 × width × height), for the stain densities. */
  readonly rgb?: Uint8Array;
  /**
   * Where the instances' pixel (0, 0) lies in the map that `placement` places (default 0, 0): for
   * instances found in a crop of it (banded-cells.ts). Cells' coordinates are the crop's.
   */
  readonly origin?: { readonly x: number; readonly y: number };
}

/** One entry per cell of `instances.cells`, in that order. */
export function measureCells(instances: CellInstances, options: MeasureOptions): CellMeasures[] {
  const { width, height, labels, cells } = instances;
  const { placement, mpp, probabilities, rgb, origin = { x: 0, y: 0 } } = options;
  if (probabilities && probabilities.length !== width * height)
    throw new RangeError(`probabilities have ${probabilities.length} pixels, the map ${width * height}`);
  if (rgb && rgb.length !== 3 * width * height)
    throw new RangeError(`RGB has ${rgb.length} bytes, the map needs ${3 * width * height}`);
  // Size of a map pixel in the output unit, per axis.
  const sx = placement.scaleX * (mpp ? mpp.x : 1);
  const sy = placement.scaleY * (mpp ? mpp.y : 1);
  const ox = placement.x * (mpp ? mpp.x : 1);
  const oy = placement.y * (mpp ? mpp.y : 1);
  const n = cells.length;
  const count = new Float64Array(n + 1);
  const sumX = new Float64Array(n + 1);
  const sumY = new Float64Array(n + 1);
  const sumXX = new Float64Array(n + 1);
  const sumYY = new Float64Array(n + 1);
  const sumXY = new Float64Array(n + 1);
  const sumP = new Float64Array(n + 1);
  const sumH = new Float64Array(n + 1);
  const sumE = new Float64Array(n + 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const l = labels[i];
      if (l === 0) continue;
      // Pixel centres, relative to the cell's box corner (keeps the sums small and exact).
      const { x: bx, y: by } = cells[l - 1].bounds;
      const cx = x - bx + 0.5;
      const cy = y - by + 0.5;
      count[l]++;
      sumX[l] += cx;
      sumY[l] += cy;
      sumXX[l] += cx * cx;
      sumYY[l] += cy * cy;
      sumXY[l] += cx * cy;
      if (probabilities) sumP[l] += probabilities[i];
      if (rgb) {
        const od = stainDensity(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
        sumH[l] += od.haematoxylin;
        sumE[l] += od.eosin;
      }
    }
  }
  return cells.map((cell, k) => {
    const l = k + 1;
    const m = count[l];
    const mx = sumX[l] / m;
    const my = sumY[l] / m;
    // Covariance in output units; + 1/12 per axis for the extent of each pixel square.
    const cxx = (sumXX[l] / m - mx * mx + 1 / 12) * sx * sx;
    const cyy = (sumYY[l] / m - my * my + 1 / 12) * sy * sy;
    const cxy = (sumXY[l] / m - mx * my) * sx * sy;
    const mean = (cxx + cyy) / 2;
    const spread = Math.hypot((cxx - cyy) / 2, cxy);
    const major = mean + spread;
    const minor = Math.max(0, mean - spread);
    const outer = cell.rings[0];
    const polygonArea = Math.abs(signedArea(outer)) * sx * sy;
    const perimeter = ringLength(outer, sx, sy);
    return {
      area: m * sx * sy,
      perimeter,
      circularity: perimeter > 0 ? Math.min(1, (4 * Math.PI * polygonArea) / (perimeter * perimeter)) : 0,
      eccentricity: major > 0 ? Math.sqrt(1 - minor / major) : 0,
      solidity: m / hullArea(labels, width, cell.bounds, l),
      // The integer offsets first: the same sums as for the whole map.
      centroidX: ox + (origin.x + cell.bounds.x + mx) * sx,
      centroidY: oy + (origin.y + cell.bounds.y + my) * sy,
      ...(probabilities ? { meanProbability: sumP[l] / m } : {}),
      ...(rgb ? { haematoxylinOd: sumH[l] / m, eosinOd: sumE[l] / m } : {}),
    };
  });
}

/** Area (map pixels) of the convex hull of the squares of label `l`'s pixels. */
function hullArea(
  labels: Int32Array,
  width: number,
  bounds: { readonly x: number; readonly y: number; readonly width: number; readonly height: number },
  l: number,
): number {
  // Each row's leftmost and rightmost pixel give the only square corners that can be on the hull.
  const points: number[] = [];
  for (let y = bounds.y; y < bounds.y + bounds.height; y++) {
    let first = -1;
    let last = -1;
    for (let x = bounds.x; x < bounds.x + bounds.width; x++) {
      if (labels[y * width + x] !== l) continue;
      if (first < 0) first = x;
      last = x;
    }
    if (first < 0) continue;
    points.push(first, y, first, y + 1, last + 1, y, last + 1, y + 1);
  }
  return Math.abs(signedArea(convexHull(points)));
}

/** Andrew's monotone chain over flat [x0, y0, …]: the hull's vertices, counter-clockwise with y up. */
export function convexHull(flat: readonly number[]): number[] {
  const pts: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) pts.push([flat[i], flat[i + 1]]);
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts.flat();
  const cross = (o: [number, number], a: [number, number], b: [number, number]) =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)].flat();
}

/**
 * The measurements by the names QuPath gives them (its measurement lists and GeoJSON
 * `measurements`: "Perimeter µm", "Circularity", "Centroid X µm", "Hematoxylin OD mean"…), in µm
 * with mpp, else in px ("Perimeter px"). The area is "Mask area" (the cell's pixels), as the GeoJSON
 * export has always named it beside the area of its rounded polygon. Intensities only when measured.
 */
export function measurementRecord(measures: CellMeasures, microns: boolean): Record<string, number> {
  const length = microns ? 'µm' : 'px';
  return {
    [`Mask area ${length}^2`]: measures.area,
    [`Perimeter ${length}`]: measures.perimeter,
    Circularity: measures.circularity,
    Eccentricity: measures.eccentricity,
    Solidity: measures.solidity,
    [`Centroid X ${length}`]: measures.centroidX,
    [`Centroid Y ${length}`]: measures.centroidY,
    ...(measures.meanProbability !== undefined ? { 'Probability mean': measures.meanProbability } : {}),
    ...(measures.haematoxylinOd !== undefined ? { 'Hematoxylin OD mean': measures.haematoxylinOd } : {}),
    ...(measures.eosinOd !== undefined ? { 'Eosin OD mean': measures.eosinOd } : {}),
  };
}
