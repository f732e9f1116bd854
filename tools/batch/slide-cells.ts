import { createHash } from 'node:crypto';
import { bandedCells, type ReadBand } from '../../core/cells/banded-cells.js';
import { cellsToGeoJsonReport } from '../../core/cells/geojson-export.js';
import { maskPlacement } from '../../core/cells/mask-placement.js';
import { gridToLevel0, type InferenceGrid } from '../../core/inference/inference-grid.js';
import { boundsOf } from '../../core/inference/patch-grid.js';
import type { Rect } from '../../core/math/rect.js';
import { CellSums } from './cohort-summary.js';
import { writeGzipFile } from './gzip-file.js';
import type { StoredTile, TileStore } from './tile-store.js';

/**
 * A slide's cells as QuPath GeoJSON, whole across tile seams: the stored tiles' masks split into
 * instances and measured — what a session's exportGeoJson() does with its finished tiles
 * (core/session/session.ts: a mosaic over the results' bounds, cellInstances, measureCells,
 * cellsToGeoJsonReport with the same placement, classification, µm/px and 2 decimals), so a batch
 * gives the cells and measurements a region run in the viewer gives. The stored probabilities are
 * 8-bit, so "Probability mean" agrees with the viewer's within 1/255. The tiles are read one row
 * of tiles at a time (core/cells/banded-cells.ts), which gives the same cells, measurements and
 * bytes as the tiles joined into one map but holds only that row and the cells still open across
 * its lower edge (~6 bytes per pixel of those rows, against 15–19 per pixel of the slide joined:
 * README.md). The cells are written as they are final, gzipped (gzip-file.ts), so neither they
 * nor the GeoJSON's text are held whole: the file is the bytes of JSON.stringify of the whole
 * collection. Feature ids are UUIDs made from the slide's name and the cell's index: a rerun
 * writes the same file.
 */

export interface SlideCellsOptions {
  readonly grid: InferenceGrid;
  readonly tiles: TileStore;
  /** The tiles to join (every tile of the slide's plan, all stored). */
  readonly rects: readonly Rect[];
  readonly slideName: string;
  readonly className: string;
  readonly color: readonly [number, number, number];
  /** Grid rows read at a time; default the tallest tile's (one row of tiles). */
  readonly bandHeight?: number;
  /** The `.geojson.gz` to write (through a temporary name). */
  readonly file: string;
}

export interface SlideCells {
  /** Of the features written (for the summary row). */
  readonly sums: CellSums;
  /** Cells and holes that rounding to 2 decimals made invalid, left out. */
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

export async function writeSlideCells(options: SlideCellsOptions): Promise<SlideCells> {
  const { grid, tiles, rects, slideName, className, color } = options;
  const sums = new CellSums();
  let droppedCells = 0;
  let droppedHoles = 0;
  await writeGzipFile(options.file, async (write) => {
    await write('{"type":"FeatureCollection","features":[');
    if (rects.length > 0) {
      const bounds = boundsOf(rects);
      const origin = gridToLevel0(grid, bounds);
      const placement = maskPlacement(origin.x, origin.y, grid.scaleX, grid.scaleY);
      const mpp = grid.mppSource !== 'assumed' ? grid.slideMpp : undefined;
      let index = 0;
      await bandedCells({
        width: bounds.width,
        height: bounds.height,
        bandHeight: options.bandHeight ?? Math.max(...rects.map((r) => r.height)),
        read: bandReader(tiles, rects, bounds),
        placement,
        mpp,
        emit: async (cells, measures) => {
          const report = cellsToGeoJsonReport(cells, {
            placement,
            classification: { name: className, color: [color[0], color[1], color[2]] },
            mpp,
            measures,
            decimals: 2,
            id: (_cell, k) => nameUuid(`${slideName}\n${index + k}`),
          });
          const text = report.collection.features.map((feature) => {
            sums.add(feature);
            return JSON.stringify(feature);
          });
          if (text.length > 0) await write(`${sums.count > text.length ? ',' : ''}${text.join(',')}`);
          index += cells.length;
          droppedCells += report.droppedCells;
          droppedHoles += report.droppedHoles;
        },
      });
    }
    await write(']}');
  });
  return { sums, droppedCells, droppedHoles };
}

/**
 * Fills a band of rows of `bounds` from the stored tiles that cross it (later tiles over earlier
 * ones where they overlap; 0 where no tile is). A tile that goes on below the band is kept
 * decoded until the band that ends it, so each tile is inflated once.
 */
function bandReader(tiles: TileStore, rects: readonly Rect[], bounds: Rect): ReadBand {
  const open = new Map<Rect, StoredTile>();
  return (y0, y1, mask, probability) => {
    for (const rect of rects) {
      const top = Math.max(y0, rect.y - bounds.y);
      const bottom = Math.min(y1, rect.y - bounds.y + rect.height);
      if (top >= bottom) continue;
      const stored = open.get(rect) ?? tiles.get(rect);
      if (bottom < rect.y - bounds.y + rect.height) open.set(rect, stored);
      else open.delete(rect);
      for (let y = top; y < bottom; y++) {
        const from = (y - (rect.y - bounds.y)) * rect.width;
        const to = (y - y0) * bounds.width + rect.x - bounds.x;
        mask.set(stored.mask.subarray(from, from + rect.width), to);
        probability.set(stored.probability.subarray(from, from + rect.width), to);
      }
    }
  };
}
