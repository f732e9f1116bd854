/**
 * The stain statistics of a set of H&E pixels: what Reinhard and Macenko normalisation map one
 * image's colours from and to (reinhard.ts, macenko.ts). A bundle stores its training data's
 * (models/FORMAT.md#stain); a slide's are estimated from a sample of its tissue (slide-stain.ts).
 */

export const STAIN_METHODS = ['none', 'reinhard', 'macenko'] as const;
/** How input pixels are brought to the training data's stain before the extractors see them. */
export type StainMethod = (typeof STAIN_METHODS)[number];
/** What attachFewShot, the panel and `npm run evaluate` use unless told (README "Stain normalisation"). */
export const DEFAULT_STAIN: StainMethod = 'none';

export type Triple = readonly [number, number, number];

/** Mean and standard deviation of L*, a*, b* over the tissue pixels (Reinhard et al. 2001, in CIELAB). */
export interface ReinhardStats {
  readonly mean: Triple;
  readonly std: Triple;
}

/**
 * Macenko et al. 2009: the unit optical-density vectors of haematoxylin and eosin (that order),
 * and each stain's 99th-percentile concentration over the tissue pixels.
 */
export interface MacenkoStats {
  readonly stains: readonly [Triple, Triple];
  readonly maxConcentrations: readonly [number, number];
}

export interface StainStats {
  readonly reinhard: ReinhardStats;
  readonly macenko: MacenkoStats;
  /** Tissue pixels the statistics were computed from. */
  readonly pixels: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function triple(v: unknown): v is Triple {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** What is wrong with `value` as StainStats (a short sentence), or undefined when nothing is. */
export function stainStatsProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'must be an object with reinhard, macenko and pixels';
  const { reinhard, macenko, pixels } = value;
  if (!isRecord(reinhard) || !triple(reinhard.mean) || !triple(reinhard.std))
    return '.reinhard must be { mean: 3 numbers, std: 3 numbers }';
  if (reinhard.std.some((s) => !(s > 0))) return '.reinhard.std must be positive';
  if (!isRecord(macenko) || !Array.isArray(macenko.stains) || macenko.stains.length !== 2)
    return '.macenko.stains must be two optical-density vectors';
  for (const v of macenko.stains) {
    if (!triple(v) || Math.abs(Math.hypot(...v) - 1) > 1e-6) return '.macenko.stains must be unit vectors of 3 numbers';
  }
  const max = macenko.maxConcentrations;
  if (!Array.isArray(max) || max.length !== 2 || !max.every((x) => typeof x === 'number' && x > 0 && x < 1e6))
    return '.macenko.maxConcentrations must be two positive numbers';
  if (typeof pixels !== 'number' || !Number.isInteger(pixels) || pixels < 1)
    return '.pixels must be a positive integer';
  return undefined;
}

/** A copy holding only the fields above (what a bundle writes). */
export function plainStainStats(s: StainStats): StainStats {
  return {
    reinhard: { mean: [...s.reinhard.mean], std: [...s.reinhard.std] },
    macenko: {
      stains: [[...s.macenko.stains[0]], [...s.macenko.stains[1]]],
      maxConcentrations: [...s.macenko.maxConcentrations],
    },
    pixels: s.pixels,
  };
}
