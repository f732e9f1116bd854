import { createHash } from 'node:crypto';
import { cellInstances } from '../../core/cells/cell-instances.js';
import { measureCells } from '../../core/cells/cell-measurements.js';
import { cellsToGeoJsonReport, type CellFeatureCollection } from '../../core/cells/geojson-export.js';
import { maskPlacement } from '../../core/cells/mask-placement.js';
import { gridToLevel0, type InferenceGrid } from '../../core/inference/inference-grid.js';
import { boundsOf } from '../../core/inference/patch-grid.js';
import type { Rect } from '../../core/math/rect.js';
import type { TileStore } from './tile-store.js';

/**
 * A slide's cells as QuPath GeoJSON, whole across tile seams: the stored tiles joined into one map
 * over their bounds, split into instances and measured — what a session's exportGeoJson() does with
 * its finished tiles (core/session/session.ts: a mosaic over the results' bounds, cellInstances,
 * measureCells, cellsToGeoJsonReport with the same placement, classification, µm/px and 2 decimals),
 * so a batch gives the cells and measurements a region run in the viewer gives. The stored
 * probabilities are 8-bit, so "Probability mean" agrees with the viewer's within 1/255.
 * Memory is the joined map (mask, probabilities, labels: 9 bytes per grid pixel of the bounds);
 * a banded version (one tile row at a time, as git history's core/cells/banded-contours.ts
 * did for connected components) is the way to bound it. Feature ids are UUIDs made from
 * the slide's name and the cell's index: a rerun writes the same file.
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

export function slideCells(options: SlideCellsOptions): SlideCells {
  const { grid, tiles, rects, slideName, className, color } = options;
  if (rects.length === 0)
    return { collection: { type: 'FeatureCollection', features: [] }, droppedCells: 0, droppedHoles: 0 };
  const bounds = boundsOf(rects);
  const { mask, probabilities } = joinedTiles(tiles, rects, bounds);
  const instances = cellInstances(mask, bounds.width, bounds.height);
  const origin = gridToLevel0(grid, bounds);
  const placement = maskPlacement(origin.x, origin.y, grid.scaleX, grid.scaleY);
  const mpp = grid.mppSource !== 'assumed' ? grid.slideMpp : undefined;
  const report = cellsToGeoJsonReport(instances.cells, {
    placement,
    classification: { name: className, color: [color[0], color[1], color[2]] },
    mpp,
    measures: measureCells(instances, { placement, mpp, probabilities }),
    decimals: 2,
    id: (_cell, index) => nameUuid(`${slideName}\n${index}`),
  });
  return report;
}

/** The stored tiles' masks and probabilities (8-bit, as p = byte / 255) joined over `bounds`; 0 where no tile is. */
function joinedTiles(tiles: TileStore, rects: readonly Rect[], bounds: Rect) {
  const mask = new Uint8Array(bounds.width * bounds.height);
  const probabilities = new Float32Array(mask.length);
  for (const rect of rects) {
    const stored = tiles.get(rect);
    for (let y = 0; y < rect.height; y++) {
      const from = y * rect.width;
      const to = (rect.y - bounds.y + y) * bounds.width + rect.x - bounds.x;
      mask.set(stored.mask.subarray(from, from + rect.width), to);
      for (let x = 0; x < rect.width; x++) probabilities[to + x] = stored.probability[from + x] / 255;
    }
  }
  return { mask, probabilities };
}
