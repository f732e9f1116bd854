import OpenSeadragon from 'openseadragon';
import type { TileImagesDescription, TileLevelDescription } from '../../core/slide/tile-description.js';

export interface DescribeTileSourceOptions {
  /** For messages and saved support sets; default the source's URL. */
  readonly name?: string;
  /** Microns per pixel at full resolution: DZI, IIIF and plain images do not say. */
  readonly mpp?: number | { readonly x: number; readonly y: number };
}

/** Fields OpenSeadragon sets on its tile sources but leaves out of its type declarations. */
interface LooseTileSource {
  readonly width?: number;
  readonly height?: number;
  readonly url?: string | null;
  readonly _id?: string;
  readonly '@id'?: string;
  readonly id?: string;
  readonly emulateLegacyImagePyramid?: boolean;
  readonly levels?: readonly { readonly url?: string; readonly width: number; readonly height: number }[];
}

/**
 * What the workers need to read the pixels of a slide that an OpenSeadragon viewer shows from a
 * Deep Zoom (DZI), IIIF Image API or single-image tile source: the tile URLs as a plain-data
 * scheme, so each worker fetches and decodes the tiles itself. TIFF/SVS slides are not tile
 * sources OpenSeadragon can read: give those as `{ kind: 'url' | 'blob' }` descriptions.
 */
export function describeTileSource(
  tileSource: OpenSeadragon.TileSource,
  options: DescribeTileSourceOptions = {},
): TileImagesDescription {
  const loose = tileSource as unknown as LooseTileSource;
  if (!tileSource.ready)
    throw new Error('the tile source has not finished loading (wait for the viewer\'s "open" event)');
  const width = loose.width ?? tileSource.dimensions.x;
  const height = loose.height ?? tileSource.dimensions.y;
  const mpp = typeof options.mpp === 'number' ? { x: options.mpp, y: options.mpp } : options.mpp;
  const base = typeof document !== 'undefined' ? document.baseURI : undefined;
  // Workers resolve relative URLs against their own script, not the page: make them absolute.
  const absolute = (url: string) => new URL(url, base).href;

  if (tileSource instanceof OpenSeadragon.DziTileSource) {
    const tilesUrl = absolute(tileSource.tilesUrl);
    return {
      kind: 'tiles',
      name: options.name ?? tileSource.url ?? tilesUrl,
      width,
      height,
      mpp,
      levels: pyramidLevels(tileSource, width, height, (level) => ({
        width: Math.ceil(width * tileSource.getLevelScale(level)),
        height: Math.ceil(height * tileSource.getLevelScale(level)),
      })),
      scheme: {
        kind: 'dzi',
        tilesUrl,
        format: tileSource.fileFormat,
        overlap: tileSource.tileOverlap,
        query: String(tileSource.queryParams ?? ''),
      },
    };
  }

  if (tileSource instanceof OpenSeadragon.IIIFTileSource) {
    const rawId = loose._id ?? loose['@id'] ?? loose.id;
    if (!rawId) throw new Error('the IIIF tile source has no id');
    const id = absolute(rawId);
    const name = options.name ?? id;
    if (loose.emulateLegacyImagePyramid) {
      // info.json with `sizes` but no tiles: each size is one whole image.
      const sizes = [...(loose.levels ?? [])].sort((a, b) => b.width - a.width);
      return {
        kind: 'tiles',
        name,
        width: sizes[0].width,
        height: sizes[0].height,
        mpp,
        levels: sizes.map((s, i) => ({
          width: s.width,
          height: s.height,
          downsample: sizes[0].width / s.width,
          tileWidth: s.width,
          tileHeight: s.height,
          urlLevel: sizes.length - 1 - i,
          url: absolute(s.url!),
        })),
        scheme: { kind: 'images' },
      };
    }
    const version = tileSource.version;
    if (version !== 1 && version !== 2 && version !== 3)
      throw new Error(`IIIF Image API version ${version} is not one of 1, 2, 3`);
    const scaleFactors = tileSource.scale_factors;
    return {
      kind: 'tiles',
      name,
      width,
      height,
      mpp,
      levels: pyramidLevels(
        tileSource,
        width,
        height,
        (level) => {
          const scale = 0.5 ** (tileSource.maxLevel - level);
          const sized = tileSource.levelSizes?.[level];
          return sized
            ? { width: sized.width, height: sized.height }
            : { width: Math.ceil(width * scale), height: Math.ceil(height * scale) };
        },
        // A level-0 (static) server has tiles only at its advertised scale factors.
        (level) => !scaleFactors || scaleFactors.includes(2 ** (tileSource.maxLevel - level)),
      ),
      scheme: {
        kind: 'iiif',
        id,
        version,
        quality: tileSource.tileQuality ?? (version === 1 ? 'native' : 'default'),
        format: tileSource.tileFormat,
        level0: tileSource.isLevel0,
        maxLevel: tileSource.maxLevel,
      },
    };
  }

  if (tileSource instanceof OpenSeadragon.ImageTileSource) {
    if (!loose.url) throw new Error('the image tile source has no URL');
    const url = absolute(loose.url);
    return {
      kind: 'tiles',
      name: options.name ?? url,
      width,
      height,
      mpp,
      // OpenSeadragon's smaller levels are canvases it scaled itself, not images anyone serves.
      levels: [
        { width, height, downsample: 1, tileWidth: width, tileHeight: height, urlLevel: tileSource.maxLevel, url },
      ],
      scheme: { kind: 'images' },
    };
  }

  // OpenSeadragon's constructors are anonymous functions: find the name it exports each under.
  const osd = OpenSeadragon as unknown as Record<string, unknown>;
  const type =
    Object.keys(osd).find((key) => key.endsWith('TileSource') && osd[key] === tileSource.constructor) ??
    (tileSource.constructor?.name || 'tile source of an unknown type');
  throw new Error(
    `describeTileSource reads DziTileSource, IIIFTileSource and ImageTileSource; this is a ${type}. ` +
      "Give a TIFF/SVS/OME-TIFF slide as { kind: 'url', url } or { kind: 'blob', blob: file } instead.",
  );
}

/**
 * OpenSeadragon's levels from full resolution down to the first that fits in one tile (smaller
 * ones are of no use to the workers), as PixelSource levels: largest first, downsample a power of two.
 */
function pyramidLevels(
  tileSource: OpenSeadragon.TileSource,
  width: number,
  height: number,
  sizeOf: (level: number) => { width: number; height: number },
  available: (level: number) => boolean = () => true,
): TileLevelDescription[] {
  const levels: TileLevelDescription[] = [];
  for (let level = tileSource.maxLevel; level >= tileSource.minLevel; level--) {
    if (!available(level)) continue;
    const size = sizeOf(level);
    const tileWidth = tileSource.getTileWidth(level);
    const tileHeight = tileSource.getTileHeight(level);
    levels.push({ ...size, downsample: 2 ** (tileSource.maxLevel - level), tileWidth, tileHeight, urlLevel: level });
    if (size.width <= tileWidth && size.height <= tileHeight) break;
  }
  if (levels.length === 0 || levels[0].width !== width || levels[0].height !== height) {
    throw new Error(`the tile source has no full-resolution level of ${width}×${height}`);
  }
  return levels;
}
