import { createHash } from 'node:crypto';
import { bandedCellContours } from '../../core/cells/banded-contours.js';
import { cellsToGeoJsonReport, type CellFeatureCollection } from '../../core/cells/geojson-export.js';
import { maskPlacement } from '../../core/cells/mask-placement.js';
import { gridToLevel0, type InferenceGrid } from '../../core/inference/inference-grid.js';
import { boundsOf } from '../../core/inference/patch-grid.js';
import type { Rect } from '../../core/math/rect.js';
import type { TileStore } from './tile-store.js';

/**
 * A slide's cells as QuPath GeoJSON, whole across tile seams: the stored tiles' masks joined into
 * one mask over their bounds, traced once — what a session's exportGeoJson() does with its
 * finished tiles (core/session/session.ts: a mosaic over the results' bounds, cellContours,
 * cellsToGeoJsonReport with the same placement, classification, µm/px and 2 decimals), so a batch
 * gives the cells a region run in the viewer gives. The mask is traced one tile row at a time
 * (core/cells/banded-contours.ts: the same cells as one mask of all the tiles, a cell across a
 * row seam held until it is whole), so memory is a band of the bounds' width, not the slide's
 * grid (the sample slide's 16384² grid would be 256 MiB of mask and 1 GiB of labels; a 512-row
 * band is 8 and 32 MiB). Feature ids are UUIDs made from the slide's name and the
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

export function slideCells(options: SlideCellsOptions): SlideCells {
  const { grid, tiles, rects, slideName, className, color } = options;
  if (rects.length === 0)
    return { collection: { type: 'FeatureCollection', features: [] }, droppedCells: 0, droppedHoles: 0 };
  const bounds = boundsOf(rects);
  const found = bandedCellContours(tileRowBands(tiles, rects, bounds), bounds.width);
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

/**
 * The stored masks as bands between consecutive tile edges (a tile row each, for a plan's
 * tiles), `bounds.width` wide; 0 where no tile is (outside the tissue). A tile of one row is read once.
 */
function* tileRowBands(tiles: TileStore, rects: readonly Rect[], bounds: Rect): Generator<Uint8Array> {
  const edges = [...new Set(rects.flatMap((r) => [r.y, r.y + r.height]))].sort((a, b) => a - b);
  for (let k = 0; k + 1 < edges.length; k++) {
    const y0 = edges[k];
    const y1 = edges[k + 1];
    const band = new Uint8Array(bounds.width * (y1 - y0));
    for (const rect of rects) {
      if (rect.y >= y1 || rect.y + rect.height <= y0) continue;
      const stored = tiles.get(rect).mask;
      for (let y = Math.max(y0, rect.y); y < Math.min(y1, rect.y + rect.height); y++) {
        const from = (y - rect.y) * rect.width;
        band.set(stored.subarray(from, from + rect.width), (y - y0) * bounds.width + rect.x - bounds.x);
      }
    }
    yield band;
  }
}
