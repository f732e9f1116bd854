import { downsample2x, levelSizes, buildPyramid, type LevelSize, type Raster } from './pyramid.js';
import { renderRegions, type Region } from './render-pool.js';
import { NUCLEUS_CLASSES, type SlideSpec } from './spec.js';
import { createTiffFile, type TiffCompression } from './tiff.js';

export const TILE_SIZE = 256;
export const SOFTWARE = 'openseadragon-fewshot tools/make-sample-slide.ts';

export interface WriteSlideOptions {
  spec: SlideSpec;
  /** Pyramidal RGB slide. */
  slidePath: string;
  /** Single-level label mask (class ids) of level 0. */
  labelsPath: string;
  compression: Exclude<TiffCompression, 'none'>;
  workers: number;
  onProgress?: (rowsDone: number) => void;
}

export function slideDescription(spec: SlideSpec): string {
  return `openseadragon-fewshot synthetic H&E; seed=${spec.seed}; mpp=${spec.mpp}`;
}

/**
 * Renders the slide in tile-high bands and streams them into the level-0 image and the
 * label mask, keeping only level 1 (a quarter of level 0) in memory for the pyramid.
 * Bands start at even rows, so halving each band gives exactly the halved whole image.
 */
export async function writeSlideFiles(o: WriteSlideOptions): Promise<LevelSize[]> {
  const { spec } = o;
  const levels = levelSizes(spec.width, spec.height);
  const slide = createTiffFile(o.slidePath);
  const labels = createTiffFile(o.labelsPath);
  try {
    const level0 = slide.writer.startImage(levelOptions(o, 0, levels));
    const mask = labels.writer.startImage({
      width: spec.width,
      height: spec.height,
      samplesPerPixel: 1,
      compression: 'deflate',
      tileSize: TILE_SIZE,
      mpp: spec.mpp,
      description:
        `${slideDescription(spec)}; labels: ` +
        `0=background ${NUCLEUS_CLASSES.map((c) => `${c.id}=${c.name}`).join(' ')}`,
      software: SOFTWARE,
    });
    const level1: Raster | null =
      levels.length > 1
        ? {
            width: levels[1].width,
            height: levels[1].height,
            channels: 3,
            data: new Uint8Array(levels[1].width * levels[1].height * 3),
          }
        : null;

    const bands: Region[] = [];
    for (let y = 0; y < spec.height; y += TILE_SIZE)
      bands.push({ x: 0, y, width: spec.width, height: Math.min(TILE_SIZE, spec.height - y) });
    await renderRegions(spec, bands, o.workers, (band, { rgb, labels: ids }) => {
      level0.writeRows(rgb);
      mask.writeRows(ids);
      if (level1) {
        const half = downsample2x({ width: band.width, height: band.height, channels: 3, data: rgb });
        level1.data.set(half.data, (band.y / 2) * level1.width * 3);
      }
      o.onProgress?.(band.y + band.height);
    });
    level0.finish();
    mask.finish();
    labels.writer.finish();

    if (level1) {
      buildPyramid(level1).forEach((raster, i) => {
        const image = slide.writer.startImage(levelOptions(o, i + 1, levels));
        image.writeRows(raster.data);
        image.finish();
      });
    }
    slide.writer.finish();
  } finally {
    slide.close();
    labels.close();
  }
  return levels;
}

function levelOptions(o: WriteSlideOptions, level: number, levels: LevelSize[]) {
  const { width, height, downsample } = levels[level];
  return {
    width,
    height,
    samplesPerPixel: 3 as const,
    compression: o.compression,
    predictor: o.compression === 'deflate',
    tileSize: TILE_SIZE,
    reduced: level > 0,
    mpp: o.spec.mpp * downsample,
    description: slideDescription(o.spec),
    software: SOFTWARE,
  };
}
