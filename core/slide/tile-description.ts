/**
 * A slide served as image tiles (Deep Zoom, IIIF Image API, or whole images per level), described
 * as plain data so that a worker can rebuild every tile's URL itself: the description crosses
 * postMessage, OpenSeadragon's tile source objects do not.
 */

/** One level, largest first in `TileImagesDescription.levels`. */
export interface TileLevelDescription {
  readonly width: number;
  readonly height: number;
  /** Relative to level 0. */
  readonly downsample: number;
  /** The tile grid's step in this level's pixels (DZI: without the overlap). */
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** The level's number in tile URLs: DZI's level, or OpenSeadragon's level for IIIF. */
  readonly urlLevel: number;
  /** For the 'images' scheme: the one image that is this whole level. */
  readonly url?: string;
}

export type TileUrlScheme =
  /** `<tilesUrl><level>/<col>_<row>.<format><query>`; each tile carries `overlap` extra pixels on its inner sides. */
  | {
      readonly kind: 'dzi';
      readonly tilesUrl: string;
      readonly format: string;
      readonly overlap: number;
      readonly query?: string;
    }
  /**
   * IIIF Image API `<id>/<region>/<size>/0/<quality>.<format>`, built exactly as OpenSeadragon's
   * IIIFTileSource does: a level-0 (static) server only has the URLs the viewer asks for.
   */
  | {
      readonly kind: 'iiif';
      readonly id: string;
      readonly version: 1 | 2 | 3;
      readonly quality: string;
      readonly format: string;
      /** Level-0 compliance: sizes as `w,` (before version 3). */
      readonly level0: boolean;
      /** OpenSeadragon's maxLevel: level `maxLevel - k` is scale 2^-k. */
      readonly maxLevel: number;
    }
  /** Each level is one image at `level.url` (a single image, or IIIF `sizes` without tiles). */
  | { readonly kind: 'images' };

export interface TileImagesDescription {
  readonly kind: 'tiles';
  readonly name: string;
  /** Level 0. */
  readonly width: number;
  readonly height: number;
  readonly mpp?: { readonly x: number; readonly y: number };
  readonly levels: readonly TileLevelDescription[];
  readonly scheme: TileUrlScheme;
}

/** Where one tile's image lies in its level's pixels, and the part of it that is its own (no overlap). */
export interface TilePlacement {
  readonly url: string;
  /** The image's top-left corner in level pixels (DZI: the overlap before the tile's own area). */
  readonly imageX: number;
  readonly imageY: number;
  /** The size the image should have. */
  readonly imageWidth: number;
  readonly imageHeight: number;
  /** The tile's own area in level pixels: every level pixel belongs to exactly one tile. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export function tilePlacement(
  description: TileImagesDescription,
  levelIndex: number,
  col: number,
  row: number,
): TilePlacement {
  const level = description.levels[levelIndex];
  const x = col * level.tileWidth;
  const y = row * level.tileHeight;
  const width = Math.min(level.tileWidth, level.width - x);
  const height = Math.min(level.tileHeight, level.height - y);
  const scheme = description.scheme;
  if (scheme.kind === 'dzi') {
    const o = scheme.overlap;
    const imageX = Math.max(0, x - o);
    const imageY = Math.max(0, y - o);
    return {
      url: `${scheme.tilesUrl}${level.urlLevel}/${col}_${row}.${scheme.format}${scheme.query ?? ''}`,
      imageX,
      imageY,
      imageWidth: Math.min(level.width, x + width + o) - imageX,
      imageHeight: Math.min(level.height, y + height + o) - imageY,
      x,
      y,
      width,
      height,
    };
  }
  const url = scheme.kind === 'iiif' ? iiifTileUrl(description, scheme, level, col, row) : level.url!;
  return { url, imageX: x, imageY: y, imageWidth: width, imageHeight: height, x, y, width, height };
}

/** OpenSeadragon 6's IIIFTileSource.getTileUrl, over the plain description. */
function iiifTileUrl(
  description: TileImagesDescription,
  scheme: Extract<TileUrlScheme, { kind: 'iiif' }>,
  level: TileLevelDescription,
  col: number,
  row: number,
): string {
  const { width: fullWidth, height: fullHeight } = description;
  const { version } = scheme;
  const scale = 0.5 ** (scheme.maxLevel - level.urlLevel);
  const { width: levelWidth, height: levelHeight, tileWidth, tileHeight } = level;
  let region: string;
  let size: string;
  if (levelWidth < tileWidth && levelHeight < tileHeight) {
    if (version === 2 && levelWidth === fullWidth) size = 'full';
    else if (version === 3 && levelWidth === fullWidth && levelHeight === fullHeight) size = 'max';
    else if (version === 3) size = `${levelWidth},${levelHeight}`;
    else size = `${levelWidth},`;
    region = 'full';
  } else {
    const regionTileWidth = Math.round(tileWidth / scale);
    const regionTileHeight = Math.round(tileHeight / scale);
    const rx = col * regionTileWidth;
    const ry = row * regionTileHeight;
    const rw = Math.min(regionTileWidth, fullWidth - rx);
    const rh = Math.min(regionTileHeight, fullHeight - ry);
    region = col === 0 && row === 0 && rw === fullWidth && rh === fullHeight ? 'full' : `${rx},${ry},${rw},${rh}`;
    const sw = Math.min(tileWidth, levelWidth - col * tileWidth);
    const sh = Math.min(tileHeight, levelHeight - row * tileHeight);
    if (version === 2 && sw === fullWidth) size = 'full';
    else if (version === 3 && sw === fullWidth && sh === fullHeight) size = 'max';
    else if (scheme.level0 && version < 3) size = `${sw},`;
    else size = `${sw},${sh}`;
  }
  return [scheme.id, region, size, '0', `${scheme.quality}.${scheme.format}`].join('/');
}
