import fs from 'node:fs';
import type { InferenceGrid } from '../../core/inference/inference-grid.js';
import type { Rect } from '../../core/math/rect.js';
import { buildPyramid, downsample2x, levelSizes, type Raster } from '../sample/pyramid.js';
import { createTiffFile } from '../sample/tiff.js';
import { temporaryName, type TileStore } from './tile-store.js';

/**
 * A slide's probabilities as a tiled pyramidal TIFF (8-bit grey, round(255·p), 0 where nothing
 * was computed), written with the sample slide's TIFF writer (tools/sample/tiff.ts): 256² Deflate
 * tiles, every level halving down to a 256-pixel thumbnail, the µm/px of each level in its
 * resolution tags. Its level 0 is the inference grid (the extractors' scale: 0.25 µm/px for the
 * shipped ones), not the slide's level 0: the probabilities as computed, not resampled, which a
 * viewer lays over the slide by µm/px (QuPath, or this package's openTiff as a layer). Level 0
 * is written one tile row at a time and only its half-size level is held (a quarter of the grid's
 * pixels, one byte each), then reduced further in memory.
 */

const SOFTWARE = 'openseadragon-fewshot batch';
const TIFF_TILE = 256;

export interface OverlayOptions {
  readonly grid: InferenceGrid;
  readonly tiles: TileStore;
  readonly rects: readonly Rect[];
  /** Written through a temporary file and a rename. */
  readonly file: string;
  readonly description: string;
}

export function writeOverlayTiff(options: OverlayOptions): void {
  const { grid, tiles, rects, file, description } = options;
  const { width, height } = grid;
  const levels = levelSizes(width, height);
  // Tiles by the grid row they start on; the plan's tiles are whole rows of the output grid.
  const byRow = new Map<number, Rect[]>();
  for (const r of rects) byRow.set(r.y, [...(byRow.get(r.y) ?? []), r]);
  const temporary = temporaryName(file);
  const tiff = createTiffFile(temporary);
  const mpp = grid.mpp.x;
  const imageOptions = (level: number) => ({
    width: levels[level].width,
    height: levels[level].height,
    samplesPerPixel: 1 as const,
    compression: 'deflate' as const,
    predictor: true,
    tileSize: TIFF_TILE,
    reduced: level > 0,
    mpp: mpp * levels[level].downsample,
    description,
    software: SOFTWARE,
  });
  try {
    const level0 = tiff.writer.startImage(imageOptions(0));
    const half: Raster | undefined =
      levels.length > 1
        ? {
            width: levels[1].width,
            height: levels[1].height,
            channels: 1,
            data: new Uint8Array(levels[1].width * levels[1].height),
          }
        : undefined;
    const rowStarts = [...new Set([0, ...rects.map((r) => r.y), ...rects.map((r) => r.y + r.height)])]
      .filter((y) => y < height)
      .sort((a, b) => a - b);
    for (let k = 0; k < rowStarts.length; k++) {
      const y = rowStarts[k];
      const bandHeight = (rowStarts[k + 1] ?? height) - y;
      const band = new Uint8Array(width * bandHeight);
      for (const r of byRow.get(y) ?? []) {
        const p = tiles.get(r).probability;
        const rows = Math.min(r.height, bandHeight);
        for (let row = 0; row < rows; row++)
          band.set(p.subarray(row * r.width, (row + 1) * r.width), row * width + r.x);
      }
      level0.writeRows(band);
      // Bands start on even rows (tiles are 512), so each halves into whole rows of level 1.
      if (half) {
        const reduced = downsample2x({ width, height: bandHeight, channels: 1, data: band });
        half.data.set(reduced.data, (y / 2) * half.width);
      }
    }
    level0.finish();
    if (half) {
      buildPyramid(half).forEach((raster, i) => {
        const image = tiff.writer.startImage(imageOptions(i + 1));
        image.writeRows(raster.data);
        image.finish();
      });
    }
    tiff.writer.finish();
  } finally {
    tiff.close();
  }
  fs.renameSync(temporary, file);
}
