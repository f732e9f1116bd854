// Deterministic randomness that depends only on (seed, salt, integer coordinates), never on
// the order in which regions are rendered: that is what makes any region equal to the
// corresponding crop of the whole slide.
import { SeededRandom } from '../../core/math/seeded-random.js';

/** 32-bit avalanche mix (lowbias32); good enough to decorrelate neighbouring lattice points. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unsigned 32-bit hash of three integers. */
export function hash3(a: number, b: number, c: number): number {
  return mix(mix(mix(a ^ 0x9e3779b9) ^ b) ^ c);
}

/** Uniform in [0, 1) from three integers. */
export function hashUnit(a: number, b: number, c: number): number {
  return hash3(a, b, c) / 4294967296;
}

/** A small seeded generator (the training code's mulberry32) for per-cell object layouts. */
export class Rng {
  private readonly random: SeededRandom;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }

  next(): number {
    return this.random.next();
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(lo: number, hiInclusive: number): number {
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }

  /** Approximately normal (Irwin–Hall of 3), cheap and bounded to ±3 sd. */
  normal(mean: number, sd: number): number {
    return mean + sd * (this.next() + this.next() + this.next() - 1.5) * 2;
  }

  /** Poisson-distributed count; the means used here are small, so Knuth's method is fine. */
  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/**
 * Smooth value noise in [0, 1] at lattice coordinates (x, y): hashed lattice values,
 * smoothstep-interpolated. Depends only on absolute coordinates, so any crop matches.
 */
export function valueNoise(salt: number, x: number, y: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = x - ix;
  const fy = y - iy;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const a = hashUnit(salt, ix, iy);
  const b = hashUnit(salt, ix + 1, iy);
  const c = hashUnit(salt, ix, iy + 1);
  const d = hashUnit(salt, ix + 1, iy + 1);
  const top = a + (b - a) * sx;
  const bottom = c + (d - c) * sx;
  return top + (bottom - top) * sy;
}

/** Two octaves of value noise, rescaled so the result spreads over roughly [0, 1]. */
export function fractalNoise(salt: number, x: number, y: number): number {
  const n = 0.67 * valueNoise(salt, x, y) + 0.33 * valueNoise(salt + 1, x * 2.03, y * 2.03);
  // The sum of two uniforms clusters around 0.5; stretch it so thresholds behave intuitively.
  const stretched = 0.5 + (n - 0.5) * 1.6;
  return stretched < 0 ? 0 : stretched > 1 ? 1 : stretched;
}
