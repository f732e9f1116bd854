import type { CellContour } from './cell-contours.js';
import { measurementRecord, type CellMeasures } from './cell-measurements.js';
import { toLevel0, type MaskPlacement } from './mask-placement.js';
import { ringLength, signedArea } from './ring-geometry.js';
import { roundedPolygon } from './rounded-polygon.js';

/**
 * A QuPath classification: the class name and its display colour. The colour may be left out
 * here, but never in the file: QuPath (v0.4–0.7) throws on a classification that has a name and
 * no colour, so the export writes DEFAULT_CLASS_COLOR then.
 */
export interface CellClass {
  readonly name: string;
  readonly color?: readonly [number, number, number];
}

/** The colour of a classification given none: the session's default overlay colour, #00e676. */
export const DEFAULT_CLASS_COLOR: readonly [number, number, number] = [0, 230, 118];

export interface GeoJsonExportOptions {
  /** Where the mask the cells were traced in lies on the slide. */
  readonly placement: MaskPlacement;
  readonly classification: CellClass;
  /** Microns per level-0 pixel. Without it, measurements are in level-0 pixels (and say so). */
  readonly mpp?: { readonly x: number; readonly y: number };
  /** QuPath object type; default "detection" (lightweight objects, as QuPath's own cell detections). */
  readonly objectType?: 'detection' | 'annotation';
  /** Decimal places of the coordinates; default 2, as QuPath writes them. */
  readonly decimals?: number;
  /**
   * Each cell's measurements (cell-measurements.ts's measureCells, same order, same mpp), added to
   * the feature's: circularity, eccentricity, solidity, centroid, mean probability and stain OD.
   */
  readonly measures?: readonly CellMeasures[];
  /** Feature id per cell; default a random UUID (QuPath keeps an id that parses as a UUID). */
  readonly id?: (cell: CellContour, index: number) => string;
}

export type Position = [number, number];

export interface CellFeature {
  readonly type: 'Feature';
  readonly id: string;
  readonly geometry: { readonly type: 'Polygon'; readonly coordinates: Position[][] };
  readonly properties: {
    readonly objectType: 'detection' | 'annotation';
    readonly classification: { readonly name: string; readonly color: [number, number, number] };
    /**
     * With mpp "Area µm^2" (of the polygon as written, holes subtracted), "Perimeter µm" (of its
     * outer ring as written) and "Mask area µm^2" (the cell's mask pixels: exact for the mask);
     * without, the same in level-0 pixels: "Area px^2", "Perimeter px", "Mask area px^2"; with
     * `measures`, also cell-measurements.ts's measurementRecord ("Circularity", "Centroid X µm"…).
     */
    readonly measurements: Readonly<Record<string, number>>;
  };
}

export interface CellFeatureCollection {
  readonly type: 'FeatureCollection';
  readonly features: CellFeature[];
}

/** What rounding to `decimals` left out (core/cells/rounded-polygon.ts): cells and holes. */
export interface GeoJsonExportReport {
  readonly collection: CellFeatureCollection;
  /** Cells whose outer ring collapsed or crossed itself once rounded: not written. */
  readonly droppedCells: number;
  /** Holes left out for the same reason (their cell is written without them). */
  readonly droppedHoles: number;
}

/**
 * Cells as a GeoJSON FeatureCollection that QuPath imports (File › Import objects, or drag and
 * drop): one Feature per cell with a Polygon in level-0 pixel coordinates (x right, y down, as
 * QuPath's image space), its classification and its measurements.
 *
 * Rings are closed (last position = first) as GeoJSON and JTS require; the outer ring has
 * positive signed area in these coordinates, i.e. counter-clockwise by RFC 7946's right-hand
 * rule read with y up, and holes the opposite way (QuPath itself accepts either orientation).
 * Every polygon is valid as written (OGC, as JTS checks it), after rounding to `decimals`: rings
 * that rounding collapsed or made cross are repaired or dropped by the rule of
 * core/cells/rounded-polygon.ts, and cellsToGeoJsonReport counts what was dropped. Area and
 * perimeter are those of the polygon as written; "Mask area" is the cell's pixel count times the
 * level-0 area of a mask pixel, exact for the mask (the simplified outline differs by a few %).
 */
export function cellsToGeoJson(cells: readonly CellContour[], options: GeoJsonExportOptions): CellFeatureCollection {
  return cellsToGeoJsonReport(cells, options).collection;
}

/** cellsToGeoJson, with how many cells and holes rounding made invalid and the export left out. */
export function cellsToGeoJsonReport(
  cells: readonly CellContour[],
  options: GeoJsonExportOptions,
): GeoJsonExportReport {
  const { placement, classification, mpp, objectType = 'detection', decimals = 2, id = randomUuid, measures } = options;
  if (measures && measures.length !== cells.length)
    throw new RangeError(`${measures.length} measurements for ${cells.length} cells`);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 12)
    throw new RangeError(`decimals is ${decimals}; it is an integer 0…12`);
  if (typeof classification?.name !== 'string' || classification.name === '')
    throw new RangeError('the classification needs a non-empty name');
  const given = classification.color ?? DEFAULT_CLASS_COLOR;
  if (!Array.isArray(given) || given.length !== 3) throw new RangeError('a colour is three components [r, g, b]');
  const color = given.map((c) => {
    if (!Number.isInteger(c) || c < 0 || c > 255) throw new RangeError(`colour component ${c} is not an integer 0…255`);
    return c;
  }) as [number, number, number];
  if (mpp && !(mpp.x > 0 && mpp.y > 0 && Number.isFinite(mpp.x) && Number.isFinite(mpp.y)))
    throw new RangeError(`microns per pixel ${mpp.x}×${mpp.y} are not positive finite numbers`);
  const unitX = mpp ? mpp.x : 1;
  const unitY = mpp ? mpp.y : 1;
  const areaName = mpp ? 'Area µm^2' : 'Area px^2';
  const maskAreaName = mpp ? 'Mask area µm^2' : 'Mask area px^2';
  const perimeterName = mpp ? 'Perimeter µm' : 'Perimeter px';
  const factor = 10 ** decimals;
  const round = (v: number): number => Math.round(v * factor) / factor;
  const pixelArea = placement.scaleX * placement.scaleY * unitX * unitY;

  let droppedCells = 0;
  let droppedHoles = 0;
  const features: CellFeature[] = [];
  cells.forEach((cell, index) => {
    const { rings, holesDropped } = roundedPolygon(
      cell.rings.map((ring) => toLevel0(placement, ring)),
      round,
    );
    droppedHoles += holesDropped;
    if (!rings) {
      droppedCells++;
      return;
    }
    const coordinates = rings.map((ring) => {
      const positions: Position[] = [];
      for (let i = 0; i < ring.length; i += 2) positions.push([ring[i], ring[i + 1]]);
      positions.push([ring[0], ring[1]]);
      return positions;
    });
    const area = rings.reduce((sum, ring) => sum + signedArea(ring), 0) * unitX * unitY;
    features.push({
      type: 'Feature',
      id: id(cell, index),
      geometry: { type: 'Polygon', coordinates },
      properties: {
        objectType,
        classification: { name: classification.name, color: [...color] },
        measurements: {
          ...(measures ? measurementRecord(measures[index], mpp !== undefined) : {}),
          [areaName]: area,
          [perimeterName]: ringLength(rings[0], unitX, unitY),
          [maskAreaName]: cell.area * pixelArea,
        },
      },
    });
  });
  return { collection: { type: 'FeatureCollection', features }, droppedCells, droppedHoles };
}

/**
 * A version-4 UUID. Not crypto.randomUUID: browsers offer that only in secure contexts, and a
 * viewer served over plain HTTP on a lab network must still export.
 */
function randomUuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
