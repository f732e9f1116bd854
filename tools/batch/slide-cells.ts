import { createHash } from 'node:crypto';
import { cellContours } from '../../core/cells/cell-contours.js';
import { cellsToGeoJsonReport, type CellFeatureCollection } from '../../core/cells/geojson-export.js';
import { maskPlacement } from '../../core/cells/mask-placement.js';
import { gridToLevel0, type InferenceGrid } from '../../core/inference/inference-grid.js';
import type { Rect } from '../../core/math/rect.js';
import type { TileStore } from './tile-store.js';

/**
 * A slide's cells as QuPath GeoJSON, whole across tile seams: the stored tiles' masks joined into
 * one mask over their bounds, traced once — what a session's exportGeoJson() does with its
 * finished tiles (core/session/session.ts: a mosaic over the results' bounds, cellContours,
 * cellsToGeoJsonReport with the same placement, classification, µm/px and 2 decimals), so a batch
 * gives the cells a region run in the viewer gives. The mask is one byte per grid pixel (the
 * sample slide's 16384² grid: 256 MiB); tracing only needs the binary mask, so the float
 * probabilities are never put together. Feature ids are UUIDs made from the slide's name and the
 * cell's index: a rerun writes the same file.
 */

export interface SlideCellsOptions {
  readonly grid: InferenceGrid;
  readonly tiles: TileStore;
  /** The tiles to join (every tile of the slide's plan, all stored). */
  readonly rects: readonly Rect[];
  readonly slideName: string;
  readonly className: string;
  readonly color: readonly [number, number, number];
}

export interface SlideCells {
  readonly collection: CellFeatureCollection;
  readonly droppedCells: number;
  readonly droppedHoles: number;
}

/** A UUID (version-5 layout) from a name: the same name, the same id. */
export function nameUuid(name: string): string {
  const bytes = createHash('sha1').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The smallest rectangle holding every one of `rects`; undefined for none. */
export function boundsOf(rects: readonly Rect[]): Rect | undefined {
  if (rects.length === 0) return undefined;
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const r of rects) {
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.width);
    y1 = Math.max(y1, r.y + r.height);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function slideCells(options: SlideCellsOptions): SlideCells {
  const { grid, tiles, rects, slideName, className, color } = options;
  const bounds = boundsOf(rects);
  if (!bounds) return { collection: { type: 'FeatureCollection', features: [] }, droppedCells: 0, droppedHoles: 0 };
  const mask = new Uint8Array(bounds.width * bounds.height);
  for (const rect of rects) {
    const stored = tiles.get(rect).mask;
    for (let row = 0; row < rect.height; row++) {
      const from = row * rect.width;
      mask.set(stored.subarray(from, from + rect.width), (rect.y - bounds.y + row) * bounds.width + rect.x - bounds.x);
    }
  }
  const found = cellContours(mask, bounds.width, bounds.height);
  const origin = gridToLevel0(grid, bounds);
  const report = cellsToGeoJsonReport(found, {
    placement: maskPlacement(origin.x, origin.y, grid.scaleX, grid.scaleY),
    classification: { name: className, color: [color[0], color[1], color[2]] },
    ...(grid.mppSource !== 'assumed' ? { mpp: grid.slideMpp } : {}),
    decimals: 2,
    id: (_cell, index) => nameUuid(`${slideName}\n${index}`),
  });
  return report;
}
