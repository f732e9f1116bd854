import OpenSeadragon from 'openseadragon';
import type { PixelSource } from '../../core/slide/pixel-source.js';
import { readScaled } from '../../core/slide/read-scaled.js';
import { isAbortError } from '../../core/slide/slide-error.js';

export interface PixelTileSourceOptions {
  /** Edge of the tiles OpenSeadragon asks for, in screen-level pixels. */
  readonly tileSize?: number;
  /** Called with each tile that failed to read (not with aborted ones). */
  readonly onError?: (error: unknown) => void;
}

type Job = OpenSeadragon.ImageJob & {
  postData: { level: number; x: number; y: number };
  userData: { controller?: AbortController };
};

/**
 * An OpenSeadragon tile source over any PixelSource. OpenSeadragon's levels are powers of two;
 * each tile is read from the slide level closest above it and box-averaged down when the
 * slide has no level of exactly that scale. Pixels go straight from the decoder into the
 * tile's canvas: no re-encoding to JPEG or PNG on the way.
 */
export function pixelTileSource(source: PixelSource, options: PixelTileSourceOptions = {}): OpenSeadragon.TileSource {
  const tileSize = options.tileSize ?? 256;
  const { width, height } = source.levels[0];
  const maxLevel = Math.ceil(Math.log2(Math.max(width, height)));
  const minLevel = Math.max(0, maxLevel - Math.ceil(Math.log2(Math.max(width, height) / tileSize)));
  const scaleOf = (level: number) => 2 ** (level - maxLevel);

  const overrides = {
    width,
    height,
    tileSize,
    tileOverlap: 0,
    minLevel,
    maxLevel,
    getTileUrl(level: number, x: number, y: number) {
      return `pixel-source:${source.name}#${level}/${x}_${y}`;
    },
    getTilePostData(level: number, x: number, y: number) {
      return { level, x, y };
    },
    getTileHashKey(level: number, x: number, y: number) {
      return `pixel-source:${source.name}#${level}/${x}_${y}`;
    },
    downloadTileStart(job: Job) {
      const { level, x, y } = job.postData;
      const scale = scaleOf(level);
      const levelWidth = Math.ceil(width * scale);
      const levelHeight = Math.ceil(height * scale);
      const px0 = x * tileSize;
      const py0 = y * tileSize;
      const outWidth = Math.min(tileSize, levelWidth - px0);
      const outHeight = Math.min(tileSize, levelHeight - py0);
      const x0 = px0 / scale;
      const y0 = py0 / scale;
      const controller = new AbortController();
      job.userData.controller = controller;
      readScaled(source, {
        x: x0,
        y: y0,
        width: Math.min(outWidth / scale, width - x0),
        height: Math.min(outHeight / scale, height - y0),
        outWidth,
        outHeight,
        signal: controller.signal,
      }).then(
        (rgb) => job.finish(toCanvasContext(rgb, outWidth, outHeight), null, 'context2d'),
        (err) => {
          if (isAbortError(err)) return; // OpenSeadragon already failed the job in abort()
          options.onError?.(err);
          job.fail(err instanceof Error ? err.message : String(err), null);
        },
      );
    },
    downloadTileAbort(job: Job) {
      job.userData.controller?.abort();
    },
  };
  return new OpenSeadragon.TileSource(overrides as unknown as OpenSeadragon.TileSourceOptions);
}

function toCanvasContext(rgb: Uint8Array, width: number, height: number): CanvasRenderingContext2D {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgba[j] = rgb[i];
    rgba[j + 1] = rgb[i + 1];
    rgba[j + 2] = rgb[i + 2];
    rgba[j + 3] = 255;
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d')!;
  context.putImageData(new ImageData(rgba, width, height), 0, 0);
  return context;
}
