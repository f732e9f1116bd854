/**
 * Whole-forward against patch tiling on the same heads: the evaluation state holds, per tiling,
 * each adaptation's counts on each test image, so the two tilings are compared pair by pair (one
 * head, two ways of predicting the test images) rather than as two unrelated medians.
 */
import { dice, quartiles, type Quartiles } from './evaluation-summary.js';
import { adaptationKey, countsKey, type EvaluationState } from './evaluation-state.js';
import type { Tiling } from '../core/inference/tiling.js';

export type Method = 'logistic' | 'bfgs';

export interface TilingCell {
  readonly target: string;
  readonly shots: number;
  readonly method: Method;
  readonly whole: Quartiles;
  readonly patches: Quartiles;
  /** Whole − patches, Dice of the same head, over the heads scored both ways. */
  readonly difference: Quartiles;
}

/** Dice of one adaptation's head over every test image predicted with `tiling`, or undefined if any is missing. */
function headDice(
  state: EvaluationState,
  tiling: Tiling,
  images: readonly string[],
  key: string,
  target: string,
  instance: number,
  method: Method,
): number | undefined {
  let overlap = 0;
  let predicted = 0;
  let truth = 0;
  for (const image of images) {
    const counts = state.counts[countsKey(tiling, instance, image)];
    const head = counts?.heads[key];
    if (!head) return undefined;
    overlap += head[method][0];
    predicted += head[method][1];
    truth += counts.truth[target];
  }
  return dice({ overlap, predicted, truth });
}

/** One cell per target × shots × method, over the adaptations scored with both tilings on every test image. */
export function compareTilings(state: EvaluationState, images: readonly string[]): TilingCell[] {
  const cells: TilingCell[] = [];
  for (const { name: target } of state.protocol.targets) {
    const shotList = [...new Set(Object.values(state.adaptations).map((a) => a.shots))].sort((a, b) => a - b);
    for (const shots of shotList) {
      for (const method of ['logistic', 'bfgs'] as const) {
        const whole: number[] = [];
        const patches: number[] = [];
        for (const a of Object.values(state.adaptations)) {
          if (a.target !== target || a.shots !== shots) continue;
          const key = adaptationKey(a);
          const w = headDice(state, 'whole', images, key, target, a.instance, method);
          const p = headDice(state, 'patches', images, key, target, a.instance, method);
          if (w === undefined || p === undefined) continue;
          whole.push(w);
          patches.push(p);
        }
        if (!whole.length) continue;
        cells.push({
          target,
          shots,
          method,
          whole: quartiles(whole),
          patches: quartiles(patches),
          difference: quartiles(whole.map((w, i) => w - patches[i])),
        });
      }
    }
  }
  return cells;
}

const points = (q: Quartiles, sign = false) => {
  const f = (v: number) => `${sign && v > 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
  return `${f(q.median)} [${f(q.q1)}–${f(q.q3)}]`;
};

/** A Markdown table: one row per target × shots × method, Dice % as median [quartiles]. */
export function tilingTable(cells: readonly TilingCell[]): string {
  const rows = cells.map(
    (c) =>
      `| ${c.target} | ${c.shots} | ${c.method} | ${points(c.whole)} | ${points(c.patches)} | ` +
      `${points(c.difference, true)} | ${c.difference.n} |`,
  );
  return [
    '| class | shots | fit | whole | patches | whole − patches (same head) | heads |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
