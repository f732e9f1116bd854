import { ByteLru } from '../cache/byte-lru.js';
import type { PixelLevel, PixelSource, RegionRequest } from './pixel-source.js';
import { abortable, isAbortError, SlideError, throwIfAborted } from './slide-error.js';
import { tilePlacement, type TileImagesDescription, type TilePlacement } from './tile-description.js';

export interface OpenTileImagesOptions {
  readonly signal?: AbortSignal;
  /** Tile fetches in flight at once, over all reads of this source. */
  readonly concurrency?: number;
  /** Decoded tiles kept, in bytes of RGBA. */
  readonly cacheBytes?: number;
}

interface DecodedTile {
  readonly rgba: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/** A tile being fetched, shared by every read that needs it; aborted only when all of them gave up. */
interface PendingTile {
  readonly promise: Promise<DecodedTile>;
  readonly controller: AbortController;
  waiters: number;
}

/**
 * A PixelSource over the image tiles of a DZI, IIIF or single-image source. Tiles are decoded
 * by the browser (createImageBitmap, then an OffscreenCanvas's getImageData), which exists in
 * windows and workers alike. PNG tiles come back exact; JPEG tiles as the browser decodes them.
 */
export async function openTileImages(
  description: TileImagesDescription,
  options: OpenTileImagesOptions = {},
): Promise<PixelSource> {
  const name = description.name;
  const { signal } = options;
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') {
    throw new SlideError(
      'unsupported-format',
      name,
      'image-tile sources (DZI, IIIF, single images) need a browser to decode their tiles (createImageBitmap and ' +
        'OffscreenCanvas are missing here); outside a browser open a TIFF instead',
    );
  }
  checkDescription(description);
  throwIfAborted(signal, name);

  const levels: PixelLevel[] = description.levels.map(({ width, height, downsample, tileWidth, tileHeight }) => ({
    width,
    height,
    downsample,
    tileWidth,
    tileHeight,
  }));
  const limit = acquireLimit(options.concurrency ?? 6, name);
  // Room for the largest tile at least: a source of one whole image per level (scheme 'images')
  // has tiles of a whole level, and one not kept would be fetched and decoded again per read.
  const cacheBytes = Math.max(options.cacheBytes ?? 64 * 1024 * 1024, largestTileBytes(description));
  const cache = new ByteLru<string, DecodedTile>(cacheBytes, (t) => t.rgba.byteLength);
  const pending = new Map<string, PendingTile>();
  let canvas: OffscreenCanvas | undefined;

  async function fetchTile(placement: TilePlacement, fetchSignal: AbortSignal): Promise<DecodedTile> {
    const release = await limit(fetchSignal);
    try {
      let response: Response;
      try {
        response = await fetch(placement.url, { signal: fetchSignal });
      } catch (err) {
        if (fetchSignal.aborted || isAbortError(err))
          throw new SlideError('aborted', name, 'the read was aborted', { cause: err });
        throw new SlideError(
          'network',
          name,
          `network error fetching tile ${placement.url}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new SlideError(
          'network',
          name,
          `the server answered HTTP ${[response.status, response.statusText].filter(Boolean).join(' ')} ` +
            `for tile ${placement.url}`,
        );
      }
      let blob: Blob;
      try {
        blob = await response.blob();
      } catch (err) {
        if (fetchSignal.aborted) throw new SlideError('aborted', name, 'the read was aborted', { cause: err });
        throw new SlideError('network', name, `the download of tile ${placement.url} broke off`, { cause: err });
      }
      throwIfAborted(fetchSignal, name);
      let bitmap: ImageBitmap;
      try {
        // No colour management or premultiplication: the pixels the server stored, unchanged.
        bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
      } catch (err) {
        throw new SlideError(
          'corrupt',
          name,
          `tile ${placement.url} is not an image the browser can decode ` +
            `(${blob.type || 'no content type'}, ${blob.size} bytes)`,
          { cause: err },
        );
      }
      try {
        // Servers round scaled sizes their own way (IIIF `w,`): a pixel short is clamped, more is an error.
        if (bitmap.width < placement.imageWidth - 2 || bitmap.height < placement.imageHeight - 2) {
          throw new SlideError(
            'corrupt',
            name,
            `tile ${placement.url} is ${bitmap.width}×${bitmap.height}, ` +
              `smaller than the ${placement.imageWidth}×${placement.imageHeight} its place in the pyramid needs`,
          );
        }
        canvas ??= new OffscreenCanvas(bitmap.width, bitmap.height);
        if (canvas.width < bitmap.width) canvas.width = bitmap.width;
        if (canvas.height < bitmap.height) canvas.height = bitmap.height;
        const context = canvas.getContext('2d', { willReadFrequently: true })!;
        context.clearRect(0, 0, bitmap.width, bitmap.height);
        context.drawImage(bitmap, 0, 0);
        const data = context.getImageData(0, 0, bitmap.width, bitmap.height);
        return { rgba: data.data, width: bitmap.width, height: bitmap.height };
      } finally {
        bitmap.close();
      }
    } finally {
      release();
    }
  }

  async function tile(
    placement: TilePlacement,
    key: string,
    readSignal: AbortSignal | undefined,
  ): Promise<DecodedTile> {
    const cached = cache.get(key);
    if (cached) return cached;
    let entry: PendingTile | undefined = pending.get(key);
    if (!entry) {
      const controller = new AbortController();
      const promise = fetchTile(placement, controller.signal).then(
        (decoded) => {
          if (pending.get(key) === entry) pending.delete(key);
          cache.set(key, decoded);
          return decoded;
        },
        (err: unknown) => {
          if (pending.get(key) === entry) pending.delete(key);
          throw err;
        },
      );
      // Nobody may be waiting when it fails after all waiters left.
      promise.catch(() => {});
      entry = { promise, controller, waiters: 0 };
      pending.set(key, entry);
    }
    const shared = entry;
    shared.waiters++;
    try {
      return await abortable(shared.promise, readSignal, name);
    } finally {
      if (--shared.waiters === 0 && readSignal?.aborted) {
        // A later read of this tile starts a fetch of its own rather than joining the aborted one.
        if (pending.get(key) === shared) pending.delete(key);
        shared.controller.abort(readSignal.reason);
      }
    }
  }

  async function readRegion({ level, x, y, width, height, signal: readSignal }: RegionRequest): Promise<Uint8Array> {
    const geometry = levels[level];
    if (
      !geometry ||
      !(width > 0 && height > 0) ||
      x < 0 ||
      y < 0 ||
      x + width > geometry.width ||
      y + height > geometry.height ||
      ![x, y, width, height].every(Number.isInteger)
    ) {
      throw new SlideError(
        'bad-region',
        name,
        `region ${width}×${height} at (${x}, ${y}) of level ${level} is outside the slide ` +
          (geometry ? `(level size ${geometry.width}×${geometry.height})` : `(it has ${levels.length} levels)`),
      );
    }
    throwIfAborted(readSignal, name);
    const out = new Uint8Array(width * height * 3);
    const jobs: Promise<void>[] = [];
    for (
      let row = Math.floor(y / geometry.tileHeight);
      row <= Math.floor((y + height - 1) / geometry.tileHeight);
      row++
    ) {
      for (
        let col = Math.floor(x / geometry.tileWidth);
        col <= Math.floor((x + width - 1) / geometry.tileWidth);
        col++
      ) {
        const placement = tilePlacement(description, level, col, row);
        jobs.push(
          tile(placement, `${level}/${col}/${row}`, readSignal).then((decoded) =>
            copyTile(decoded, placement, out, x, y, width, height),
          ),
        );
      }
    }
    const results = await Promise.allSettled(jobs);
    throwIfAborted(readSignal, name);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return out;
  }

  // Fetch the smallest level's first tile now, so that an unreachable or undecodable source
  // fails at open rather than half-way through a prediction.
  const smallest = levels.length - 1;
  await tile(tilePlacement(description, smallest, 0, 0), `${smallest}/0/0`, signal);

  return { name, levels, mpp: description.mpp, readRegion };
}

/** Copies the tile's own area (never its overlap) that falls inside the region into the RGB output. */
function copyTile(
  tile: DecodedTile,
  placement: TilePlacement,
  out: Uint8Array,
  x: number,
  y: number,
  width: number,
  height: number,
): void {
  const x0 = Math.max(x, placement.x);
  const x1 = Math.min(x + width, placement.x + placement.width);
  const y0 = Math.max(y, placement.y);
  const y1 = Math.min(y + height, placement.y + placement.height);
  const { rgba } = tile;
  for (let py = y0; py < y1; py++) {
    const ty = Math.min(py - placement.imageY, tile.height - 1);
    let o = ((py - y) * width + (x0 - x)) * 3;
    for (let px = x0; px < x1; px++, o += 3) {
      const i = (ty * tile.width + Math.min(px - placement.imageX, tile.width - 1)) * 4;
      out[o] = rgba[i];
      out[o + 1] = rgba[i + 1];
      out[o + 2] = rgba[i + 2];
    }
  }
}

function checkDescription(d: TileImagesDescription): void {
  const fail = (why: string) => {
    throw new SlideError('unsupported-format', d.name, `the tile description is not usable: ${why}`);
  };
  if (!(d.levels.length > 0)) fail('it has no levels');
  for (const [i, l] of d.levels.entries()) {
    if (![l.width, l.height, l.tileWidth, l.tileHeight].every((v) => Number.isInteger(v) && v > 0))
      fail(`level ${i} has a non-positive or fractional size`);
    if (!(l.downsample >= 1)) fail(`level ${i} has downsample ${l.downsample}`);
    if (d.scheme.kind === 'images' && !l.url) fail(`level ${i} has no image URL`);
  }
  if (d.scheme.kind === 'dzi' && !(Number.isInteger(d.scheme.overlap) && d.scheme.overlap >= 0))
    fail(`overlap ${d.scheme.overlap}`);
}

/** A counting semaphore; a waiter whose signal fires leaves the queue. */
function acquireLimit(slots: number, name: string): (signal: AbortSignal) => Promise<() => void> {
  let free = Math.max(1, slots);
  const queue: (() => void)[] = [];
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else free++;
  };
  return (signal) => {
    throwIfAborted(signal, name);
    if (free > 0) {
      free--;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(release);
      };
      const onAbort = () => {
        queue.splice(queue.indexOf(grant), 1);
        reject(new SlideError('aborted', name, 'the read was aborted', { cause: signal.reason }));
      };
      queue.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  };
}

/** RGBA bytes of the largest tile image of any level, its overlap (DZI) included. */
function largestTileBytes(d: TileImagesDescription): number {
  const overlap = d.scheme.kind === 'dzi' ? d.scheme.overlap : 0;
  let largest = 0;
  for (const l of d.levels) {
    const width = Math.min(l.width, l.tileWidth + 2 * overlap);
    const height = Math.min(l.height, l.tileHeight + 2 * overlap);
    largest = Math.max(largest, width * height * 4);
  }
  return largest;
}
