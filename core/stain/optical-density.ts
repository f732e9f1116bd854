/**
 * Optical density (Beer–Lambert), the space where stains add: a pixel's OD per channel is
 * −ln(I / 255), I clamped to ≥ 1 so black stays finite; 0 for white light, 5.54 for black.
 */

/** −ln(max(v, 1) / 255) for each byte value. */
export const OD = Float64Array.from({ length: 256 }, (_, v) => -Math.log(Math.max(v, 1) / 255));

/**
 * Below this mean OD a pixel is glass or blank background, not tissue (Macenko et al. 2009's β,
 * 0.15: a grey of 219 of 255). Used by both methods' statistics, so the share of glass, which
 * varies from image to image, does not pull them to white. On the mean over channels, not on
 * every channel as Macenko's code has it: pale eosin lets red through (R OD ≈ 0.07 on
 * Ruifrok's vector) and would never count, and then the eosin end of the stain plane is
 * estimated from mixtures (measured on a synthetic image: the eosin vector 13° off).
 */
export const OD_BETA = 0.15;

/** A pixel is tissue when its mean optical density reaches OD_BETA. */
export const isTissue = (r: number, g: number, b: number) => OD[r] + OD[g] + OD[b] >= 3 * OD_BETA;
