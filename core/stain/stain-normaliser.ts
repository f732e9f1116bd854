import type { PixelSource } from '../slide/pixel-source.js';
import { macenkoApply, macenkoStats } from './macenko.js';
import { reinhardApply, reinhardStats } from './reinhard.js';
import type { StainMethod, StainStats } from './stain-stats.js';

/** Pixels (interleaved RGB) in, the same pixels in the target's stain out. */
export type StainTransform = (rgb: Uint8Array) => Uint8Array;

/** Fewer tissue pixels than this say too little about a stain to normalise by. */
export const MIN_STAIN_PIXELS = 1000;

/** Both methods' statistics of the tissue in `rgb`; undefined when it holds too little tissue. */
export function estimateStain(rgb: Uint8Array): StainStats | undefined {
  const reinhard = reinhardStats(rgb);
  if (reinhard.pixels < MIN_STAIN_PIXELS) return undefined;
  const macenko = macenkoStats(rgb, MIN_STAIN_PIXELS);
  if (!macenko) return undefined;
  return { reinhard: reinhard.stats, macenko: macenko.stats, pixels: reinhard.pixels };
}

/** The transform that brings pixels stained as `from` to `to`'s stain by `method`; undefined for 'none'. */
export function stainTransform(method: StainMethod, from: StainStats, to: StainStats): StainTransform | undefined {
  switch (method) {
    case 'none':
      return undefined;
    case 'reinhard':
      return (rgb) => reinhardApply(rgb, from.reinhard, to.reinhard);
    case 'macenko':
      return (rgb) => macenkoApply(rgb, from.macenko, to.macenko);
  }
}

/**
 * `source` with every read passed through `transform`. A pixel's output depends only on its own
 * input (both methods are per-pixel maps with fixed statistics), so a tile read alone equals the
 * same pixels inside a larger read: whole-forward tiles stay seamless.
 */
export function stainNormalisedSource(source: PixelSource, transform: StainTransform): PixelSource {
  return {
    name: source.name,
    levels: source.levels,
    ...(source.mpp ? { mpp: source.mpp } : {}),
    readRegion: async (request) => transform(await source.readRegion(request)),
  };
}
