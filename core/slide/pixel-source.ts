import type { TileImagesDescription } from './tile-description.js';

/** One resolution level of a slide. `downsample` is relative to level 0 (level 0 has 1). */
export interface PixelLevel {
  readonly width: number;
  readonly height: number;
  readonly downsample: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
}

export interface RegionRequest {
  /** Index into `levels`. */
  readonly level: number;
  /** Top-left corner in that level's pixel coordinates. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly signal?: AbortSignal;
}

/**
 * Random access to the RGB pixels of a multi-resolution image. Modelled on Viv's
 * `PixelSource.getTile({x, y, signal})`, but reads arbitrary rectangles: inference patches
 * do not line up with the file's tiles.
 */
export interface PixelSource {
  /** The file name or URL, for messages. */
  readonly name: string;
  /** Largest first. */
  readonly levels: readonly PixelLevel[];
  /** Microns per pixel at level 0, when the file says so. */
  readonly mpp?: { readonly x: number; readonly y: number };
  /** Width × height × 3 bytes, interleaved RGB, row-major. */
  readRegion(request: RegionRequest): Promise<Uint8Array>;
}

/** A TIFF/SVS/OME-TIFF file: by URL (the server must answer Range requests) or as a Blob. */
export type FileSlideDescription =
  | { readonly kind: 'url'; readonly url: string; readonly name?: string }
  | { readonly kind: 'blob'; readonly blob: Blob; readonly name?: string };

/**
 * What a worker needs to open the same slide itself: a file's URL or Blob, or how to fetch the
 * image tiles of a DZI, IIIF or single-image source (all survive postMessage), never decoded
 * pixels.
 */
export type SlideDescription = FileSlideDescription | TileImagesDescription;

export function slideName(slide: SlideDescription): string {
  if (slide.name) return slide.name;
  if (slide.kind === 'tiles') return 'tiles';
  if (slide.kind === 'url') return slide.url;
  return (slide.blob as Partial<File>).name ?? 'blob';
}

/** What opening a slide tells: its levels and scale, and the id it is open under (in a worker). */
export interface SlideInfo {
  readonly slideId: number;
  readonly name: string;
  readonly levels: readonly PixelLevel[];
  readonly mpp?: { readonly x: number; readonly y: number };
}
