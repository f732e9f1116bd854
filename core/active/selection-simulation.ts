import { adapt } from '../adaptation/adapt.js';
import { serializeHead, type HeadJson } from '../adaptation/head.js';
import type { SupportPatch } from '../adaptation/support-patch.js';
import { supportPatchFeatures, type PatchFeatures } from '../adaptation/support-row-features.js';
import { imageFeatureRows, rowProbabilities } from '../inference/image-features.js';
import { receptiveMargin } from '../inference/receptive-field.js';
import { SeededRandom } from '../math/seeded-random.js';
import type { ExtractorClass } from '../msd/bundle.js';
import type { SampledRaster, SquareWindow } from './window-sums.js';
import type { CandidatePool, PoolImage } from './candidate-pool.js';
import { rankedWindows } from './rank-windows.js';
import { windowBenefits } from './window-benefit.js';

/**
 * The annotation loop of issue 14, simulated on a labelled image pool (item 4): start from one
 * random window that shows the class, then, round by round up to K windows, fit a head to the
 * windows so far, pick the next window, pre-fill it from the head, and let the simulated user
 * correct it to the ground truth. Two ways to pick:
 *
 * - 'random': the next window of a seeded shuffle of the windows that show the class (≥
 *   minPositive class pixels), as the evaluation draws its support sets;
 * - 'active': the product's proposal (rank-windows.ts over every candidate window of the pool,
 *   by the current head's uncertainty where the class is likely and diversity from the windows
 *   placed). The simulated user accepts the first proposal that shows the class and skips the
 *   others ("another key skips to the next"): the same pool of acceptable windows as random's,
 *   and the skips are counted.
 *
 * The first window is the same for both with the same seed, so the two are paired. The effort of
 * a round is the pixels the user changes: the pre-fill against the truth (painting from scratch
 * instead would be the truth's class pixels; an empty patch is all background). The pre-fill is
 * the head's prediction of the window computed as the product's 'whole' tiles are (one forward
 * over the window and the extractors' receptive-field margin, mirror padding at the image's
 * edges only); the support patch the head is fitted on is the window alone, as the evaluation
 * cuts it.
 */

export type Selection = 'random' | 'active';
export const SELECTIONS: readonly Selection[] = ['random', 'active'];

export interface SimulationOptions {
  readonly pool: CandidatePool;
  readonly images: readonly PoolImage[];
  /** The fixed extractors, in the head's feature order. */
  readonly extractors: readonly ExtractorClass[];
  readonly selection: Selection;
  /** K: windows at the end. */
  readonly shots: number;
  readonly seed: number;
  readonly threshold: number;
  readonly lambda: number;
  /**
   * The uncertainty of p over an image's sampled raster (e.g. an ensemble's disagreement);
   * binary entropy of p when absent.
   */
  readonly uncertainty?: (p: Float32Array, image: number, raster: SampledRaster) => Float32Array;
  readonly signal?: AbortSignal;
  readonly onRound?: (round: SimulationRound) => void;
}

export interface SimulationRound {
  /** Windows in the support set after this round (1…K). */
  readonly shots: number;
  readonly window: SquareWindow;
  /** Pixels painted from scratch: the truth's class pixels in the window. */
  readonly classPixels: number;
  /** Pixels whose pre-filled label the user changes; undefined for the first window (no head yet). */
  readonly changedPixels: number | undefined;
  /** Proposals skipped before this one (always 0 for 'random'). */
  readonly skipped: number;
  /** The head fitted on the `shots` windows (BFGS-refined). */
  readonly head: HeadJson;
  readonly seconds: { readonly select: number; readonly prefill: number; readonly adapt: number };
}

/** The window's RGB and truth mask, cut from its image. */
function cutWindow(image: PoolImage, w: SquareWindow): SupportPatch {
  const n = w.size;
  const rgb = new Uint8Array(n * n * 3);
  const mask = new Uint8Array(n * n);
  for (let r = 0; r < n; r++) {
    const s = (w.y + r) * image.width + w.x;
    rgb.set(image.rgb.subarray(3 * s, 3 * (s + n)), 3 * r * n);
    mask.set(image.truth.subarray(s, s + n), r * n);
  }
  return { rgb, mask, width: n, height: n };
}

/** The head's labels over the window (class where p > threshold), from a forward over the window and its margin. */
export function prefillWindow(
  image: PoolImage,
  w: SquareWindow,
  extractors: readonly ExtractorClass[],
  head: { readonly W: readonly number[]; readonly b: number; readonly threshold: number },
): Uint8Array {
  const weights = extractors.map((e) => e.weights);
  const m = receptiveMargin(weights);
  const x0 = Math.max(0, w.x - m);
  const y0 = Math.max(0, w.y - m);
  const x1 = Math.min(image.width, w.x + w.size + m);
  const y1 = Math.min(image.height, w.y + w.size + m);
  const cw = x1 - x0;
  const ch = y1 - y0;
  const rgb = new Uint8Array(cw * ch * 3);
  for (let r = 0; r < ch; r++) {
    const s = (y0 + r) * image.width + x0;
    rgb.set(image.rgb.subarray(3 * s, 3 * (s + cw)), 3 * r * cw);
  }
  const pixels = new Int32Array(w.size * w.size);
  for (let r = 0; r < w.size; r++)
    for (let c = 0; c < w.size; c++) pixels[r * w.size + c] = (w.y - y0 + r) * cw + (w.x - x0 + c);
  const { rows, channels } = imageFeatureRows(weights, { rgb, width: cw, height: ch }, pixels);
  const p = rowProbabilities(rows, channels, head);
  return Uint8Array.from(p, (v) => (v > head.threshold ? 1 : 0));
}

/** Pixels where two 0/1 label arrays differ. */
export function changedPixels(fill: Uint8Array, truth: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < fill.length; i++) if (fill[i] !== truth[i]) n++;
  return n;
}

export async function simulateSelection(o: SimulationOptions): Promise<SimulationRound[]> {
  const { pool, images, extractors, shots } = o;
  if (pool.classWindows.length === 0) throw new Error('no window of the pool shows the class');
  const rng = new SeededRandom(o.seed);
  const order = rng.shuffle([...pool.classWindows]);
  const placed: number[] = [];
  const rounds: SimulationRound[] = [];
  let head: HeadJson | undefined;
  const patches: SupportPatch[] = [];
  const features: PatchFeatures[] = [];
  for (let k = 1; k <= shots; k++) {
    o.signal?.throwIfAborted();
    const t0 = performance.now();
    let next: number | undefined;
    let skipped = 0;
    if (k === 1 || o.selection === 'random') {
      next = order.find((i) => !placed.includes(i));
    } else {
      const ranked = rankedWindows(
        activeCandidates(o, head!),
        placed.map((i) => ({
          window: pool.windows[i],
          descriptor: pool.descriptors[i],
        })),
      );
      // The proposals in order, as the user's "skip" key walks them, up to the first that shows the class.
      for (const r of ranked) {
        if (pool.classPixels[r.index] >= pool.options.minPositive) {
          next = r.index;
          break;
        }
        skipped++;
      }
    }
    if (next === undefined) throw new Error(`no window left that shows the class after ${k - 1} rounds`);
    const picked = pool.windows[next];
    const image = images[picked.group];
    const patch = cutWindow(image, picked);
    const t1 = performance.now();
    const changed = head ? changedPixels(prefillWindow(image, picked, extractors, head), patch.mask) : undefined;
    const t2 = performance.now();
    placed.push(next);
    patches.push(patch);
    // Each window's features once, not once per round: the same rows adapt() would compute
    // (its own writer on the same engine), and rounds 2…10 then pay for one forward each.
    features.push(...(await supportPatchFeatures([patch], extractors, {}, { signal: o.signal })));
    const result = await adapt(
      patches,
      extractors,
      { lambda: o.lambda, threshold: o.threshold, metadata: { shots: k, selection: o.selection } },
      { signal: o.signal, features },
    );
    head = serializeHead(result.head);
    const round: SimulationRound = {
      shots: k,
      window: picked,
      classPixels: pool.classPixels[next],
      changedPixels: changed,
      skipped,
      head,
      seconds: { select: (t1 - t0) / 1000, prefill: (t2 - t1) / 1000, adapt: (performance.now() - t2) / 1000 },
    };
    rounds.push(round);
    o.onRound?.(round);
  }
  return rounds;
}

/** Every candidate window with its benefit under `head` and its descriptor. */
function activeCandidates(o: SimulationOptions, head: HeadJson) {
  const { pool } = o;
  const benefits = new Float64Array(pool.windows.length);
  pool.rasters.forEach(({ raster, rows }, i) => {
    const p = rowProbabilities(rows, pool.channels, head);
    const uncertainty = o.uncertainty?.(p, i, raster);
    const [from, to] = pool.ranges[i];
    benefits.set(windowBenefits({ ...raster, p, uncertainty }, pool.windows.slice(from, to)), from);
  });
  return pool.windows.map((w, i) => ({ window: w, benefit: benefits[i], descriptor: pool.descriptors[i] }));
}
