import { dilationOf, type MsdWeights } from '../msd/weights.js';

/**
 * How far into a region an MSD network's features are still touched by its borders: Σ of the
 * layers' dilations. Layer j reads every earlier map at offsets up to its dilation d_j, so a map
 * that is exact at distance ≥ c from a region's edge gives a next map exact at distance ≥ c + d_j;
 * the input is exact everywhere inside the region (c = 0), hence c = Σ_j d_j after the last layer.
 * Depth 25 with dilations 1…10 cycling: 2·55 + 15 = 125 px; depth 50: 275; depth 100: 550.
 * Features of a region read with this margin of real pixels around a tile therefore equal, over
 * the tile, those of a forward over the whole image (mirror padding happens only at the image's
 * own edges, where the region's edge is the image's).
 */
export function receptiveMargin(extractors: readonly Pick<MsdWeights, 'layers'>[]): number {
  let margin = 0;
  for (const e of extractors) {
    let sum = 0;
    for (let i = 0; i < e.layers.length; i++) sum += dilationOf(i);
    margin = Math.max(margin, sum);
  }
  return margin;
}

/** The same margin from the extractors' depths alone (what a pool is told when they load). */
export function receptiveMarginOfDepths(depths: readonly number[]): number {
  return receptiveMargin(depths.map((depth) => ({ layers: Array.from({ length: depth }) as MsdWeights['layers'] })));
}
