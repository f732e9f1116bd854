import type { PixelSource, RegionRequest } from '../slide/pixel-source.js';

/**
 * A slide level resampled to another size (the inference grid's), as a one-level PixelSource
 * that predictTile reads like any other.
 *
 * Every output pixel is a fixed weighted sum of level pixels that depends only on its own
 * coordinates in the whole output image, never on the rectangle it is read in. That is what keeps
 * a tile computed alone equal to the same pixels computed inside a larger region, bit for bit
 * (read-scaled.ts's box resize works in the coordinates of each read, so one output pixel would
 * get different values in two overlapping reads). Per axis, with r = level pixels per output pixel:
 *  - r > 1 (downsampling): the area average of the level pixels under the output pixel, edges
 *    weighted by how much of them it covers;
 *  - r < 1 (upsampling, e.g. a 0.5 µm/px slide for 0.25 µm/px extractors): linear interpolation
 *    between the two nearest level pixel centres (edges clamped), which does not invent the
 *    staircase that box-replicating pixels would;
 *  - r = 1: the level's own pixels.
 */

/** Per output position along one axis: the first level index, and `taps` weights for consecutive indices. */
interface AxisTaps {
  readonly first: Int32Array;
  readonly weights: Float64Array;
  readonly taps: number;
  /** Span of level indices touched (inclusive lower, exclusive upper). */
  readonly lo: number;
  readonly hi: number;
}

/** The weights of output positions [from, to) along an axis of `outLength`, from a level axis of `length`. */
export function axisTaps(length: number, outLength: number, from: number, to: number): AxisTaps {
  const r = length / outLength;
  const n = to - from;
  // Consecutive level indices per output position: 1 for identity, 2 for interpolation, the
  // box's span (up to ⌈r⌉ + 1 when it straddles pixel edges) for averaging.
  const taps = r === 1 ? 1 : r < 1 ? 2 : Math.ceil(r) + 1;
  const first = new Int32Array(n);
  const weights = new Float64Array(n * taps);
  let lo = Infinity,
    hi = -Infinity;
  for (let k = 0; k < n; k++) {
    const u = from + k;
    let start: number;
    if (r === 1) {
      start = u;
      weights[k] = 1;
    } else if (r < 1) {
      // Centre of output pixel u in level coordinates, clamped so edge pixels repeat outward.
      const c = Math.min(length - 1, Math.max(0, (u + 0.5) * r - 0.5));
      start = Math.min(Math.floor(c), Math.max(0, length - 2));
      const f = c - start;
      weights[k * 2] = 1 - f;
      weights[k * 2 + 1] = f;
    } else {
      const a = u * r,
        b = Math.min(length, (u + 1) * r);
      start = Math.floor(a);
      for (let t = 0; t < taps; t++) {
        const i = start + t;
        const overlap = Math.min(b, i + 1) - Math.max(a, i);
        if (overlap > 0) weights[k * taps + t] = overlap / (b - a);
      }
    }
    first[k] = start;
    lo = Math.min(lo, start);
    let last = start;
    for (let t = taps - 1; t > 0; t--) {
      if (weights[k * taps + t] !== 0) {
        last = start + t;
        break;
      }
    }
    hi = Math.max(hi, Math.min(length, last + 1));
  }
  return { first, weights, taps, lo, hi };
}

/**
 * Resamples interleaved RGB `src` (a `srcWidth`-wide rectangle of the level whose top-left is at
 * level coordinates (x.lo, y.lo)) through per-axis taps: rows first, then columns, in float64.
 */
function resample(src: Uint8Array, srcWidth: number, x: AxisTaps, y: AxisTaps): Uint8Array {
  const outW = x.first.length,
    outH = y.first.length;
  const rows = y.hi - y.lo;
  const horizontal = new Float64Array(rows * outW * 3);
  for (let row = 0; row < rows; row++) {
    const srcRow = row * srcWidth;
    for (let u = 0; u < outW; u++) {
      let r = 0,
        g = 0,
        b = 0;
      for (let t = 0; t < x.taps; t++) {
        const w = x.weights[u * x.taps + t];
        if (w === 0) continue;
        const i = (srcRow + x.first[u] + t - x.lo) * 3;
        r += w * src[i];
        g += w * src[i + 1];
        b += w * src[i + 2];
      }
      const o = (row * outW + u) * 3;
      horizontal[o] = r;
      horizontal[o + 1] = g;
      horizontal[o + 2] = b;
    }
  }
  const out = new Uint8Array(outW * outH * 3);
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      let r = 0,
        g = 0,
        b = 0;
      for (let t = 0; t < y.taps; t++) {
        const w = y.weights[v * y.taps + t];
        if (w === 0) continue;
        const i = ((y.first[v] + t - y.lo) * outW + u) * 3;
        r += w * horizontal[i];
        g += w * horizontal[i + 1];
        b += w * horizontal[i + 2];
      }
      const o = (v * outW + u) * 3;
      out[o] = Math.round(r);
      out[o + 1] = Math.round(g);
      out[o + 2] = Math.round(b);
    }
  }
  return out;
}

/**
 * `level` of `source` resampled to width × height pixels (covering the whole level). When the
 * size is the level's own, reads pass straight through.
 */
export function resampledSource(source: PixelSource, level: number, width: number, height: number): PixelSource {
  const geometry = source.levels[level];
  if (!geometry)
    throw new RangeError(`level ${level} does not exist in ${source.name} (it has ${source.levels.length})`);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) {
    throw new RangeError(`a resampled size must be positive integers, got ${width}×${height}`);
  }
  const level0 = source.levels[0];
  const identity = width === geometry.width && height === geometry.height;
  return {
    name: source.name,
    levels: [{ width, height, downsample: 1, tileWidth: geometry.tileWidth, tileHeight: geometry.tileHeight }],
    mpp: source.mpp && { x: (source.mpp.x * level0.width) / width, y: (source.mpp.y * level0.height) / height },
    async readRegion(request: RegionRequest): Promise<Uint8Array> {
      const { x, y, width: w, height: h, signal } = request;
      if (request.level !== 0) throw new RangeError(`a resampled source has one level, got level ${request.level}`);
      if (
        ![x, y, w, h].every(Number.isInteger) ||
        x < 0 ||
        y < 0 ||
        w < 1 ||
        h < 1 ||
        x + w > width ||
        y + h > height
      ) {
        throw new RangeError(`read ${x},${y} ${w}×${h} is not inside the ${width}×${height} resampled image`);
      }
      if (identity) return source.readRegion({ level, x, y, width: w, height: h, signal });
      const xt = axisTaps(geometry.width, width, x, x + w);
      const yt = axisTaps(geometry.height, height, y, y + h);
      const pixels = await source.readRegion({
        level,
        x: xt.lo,
        y: yt.lo,
        width: xt.hi - xt.lo,
        height: yt.hi - yt.lo,
        signal,
      });
      signal?.throwIfAborted();
      return resample(pixels, xt.hi - xt.lo, xt, yt);
    },
  };
}
