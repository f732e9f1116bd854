/**
 * A small adaptation problem shared by the Node and browser tests: two tiny seeded extractors
 * and two support patches of odd sizes (not multiples of 8, so padding is exercised) with
 * painted discs of a "new class", a distractor colour, noise, and an unlabelled stripe.
 * Small enough to adapt in a second on any backend, hard enough that BFGS has work to do.
 */
import type { ExtractorClass } from '../../../core/msd/bundle.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import type { SupportPatch } from '../../../core/adaptation/support-patch.js';
import { randomWeights } from '../msd/msd-test-cases.js';

export function smallExtractors(): ExtractorClass[] {
  return [
    { name: 'alpha', weights: randomWeights(3, 4, 71) },
    { name: 'beta', weights: randomWeights(3, 3, 72) },
  ];
}

export function smallPatch(width: number, height: number, seed: number): SupportPatch {
  const rng = new SeededRandom(seed);
  const rgb = new Uint8Array(width * height * 3);
  const mask = new Uint8Array(width * height);
  const discs = Array.from({ length: 4 }, (_, k) => ({
    x: rng.next() * width,
    y: rng.next() * height,
    r: 3 + 4 * rng.next(),
    // Two discs are the class (dark purple), two are a distractor of similar darkness.
    colour: k % 2 === 0 ? [90, 40, 140] : [70, 60, 80],
    cls: k % 2 === 0 ? 1 : 0,
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let colour = [230, 170, 200];
      let cls = 0;
      for (const d of discs) {
        if ((x - d.x) ** 2 + (y - d.y) ** 2 <= d.r * d.r) {
          colour = d.colour;
          cls = d.cls;
        }
      }
      const i = y * width + x;
      for (let c = 0; c < 3; c++)
        rgb[3 * i + c] = Math.max(0, Math.min(255, Math.round(colour[c] + 25 * rng.gaussian())));
      // A stripe the annotator left unlabelled.
      mask[i] = x >= 2 && x < 5 ? 255 : cls;
    }
  }
  return { rgb, mask, width, height };
}

export function smallSupport(): SupportPatch[] {
  return [smallPatch(45, 38, 5), smallPatch(29, 33, 6)];
}

/** Where the Node test keeps the head it computed, for the browser test to compare with. */
export const SMALL_HEAD_FIXTURE = 'test/core/adaptation/adapt-small-head.json';

/** Options of the small case: fixed so that Node and browser fit the same objective. */
export const SMALL_OPTIONS = { lambda: 1e-3, maxBfgsIterations: 300 } as const;

/** Relative difference ‖a − b‖ / ‖b‖. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
