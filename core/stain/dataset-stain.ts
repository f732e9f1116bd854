import { percentile } from '../math/percentile.js';
import { macenkoStats } from './macenko.js';
import { reinhardStats } from './reinhard.js';
import type { MacenkoStats, StainStats, Triple } from './stain-stats.js';
import { MIN_STAIN_PIXELS } from './stain-normaliser.js';

/**
 * The stain of a set of images (a bundle's training tiles): what normalisation maps slides to.
 * Reinhard's statistics pooled over every tissue pixel — the colour distribution the networks
 * were trained on. Macenko's per image, then the median of each component (vectors renormalised):
 * pooled, images of different stain planes make one plane that is none of theirs, and its extreme
 * angles are mixtures. Measured on CoNSeP's 23 training tiles: pooled, the "eosin" vector came out
 * (0.47, 0.60, 0.65), nearly grey; the per-tile median is (0.29, 0.88, 0.38), and single tiles
 * range over (0.14–0.49, 0.70–0.89, 0.11–0.70) (six test tiles).
 */
export function datasetStain(images: readonly Uint8Array[]): StainStats | undefined {
  const pooled = new Uint8Array(images.reduce((s, im) => s + im.length, 0));
  let at = 0;
  for (const im of images) {
    pooled.set(im, at);
    at += im.length;
  }
  const reinhard = reinhardStats(pooled);
  if (reinhard.pixels < MIN_STAIN_PIXELS) return undefined;
  const each = images.flatMap((im) => macenkoStats(im, MIN_STAIN_PIXELS)?.stats ?? []);
  if (each.length === 0) return undefined;
  return { reinhard: reinhard.stats, macenko: medianMacenko(each), pixels: reinhard.pixels };
}

/** Component-wise medians of stain vectors (renormalised) and of the concentrations. */
export function medianMacenko(each: readonly MacenkoStats[]): MacenkoStats {
  const median = (values: number[]) => percentile(values, 50);
  const vector = (k: 0 | 1): Triple => {
    const v = [0, 1, 2].map((c) => median(each.map((s) => s.stains[k][c])));
    const n = Math.hypot(...v);
    return [v[0] / n, v[1] / n, v[2] / n];
  };
  return {
    stains: [vector(0), vector(1)],
    maxConcentrations: [
      median(each.map((s) => s.maxConcentrations[0])),
      median(each.map((s) => s.maxConcentrations[1])),
    ],
  };
}
