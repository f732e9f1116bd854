import type { Selection } from '../core/active/selection-simulation.js';
import type { PlotClass } from './dice-plot.js';
import { quartiles, type Quartiles } from './evaluation-summary.js';

/**
 * The numbers of the selection simulation (tools/evaluate-selection.ts): Dice on the test images
 * against K for each selection, median [quartiles] over draws, and the annotation effort — the
 * pixels the simulated user changes in the pre-filled windows against those painted from
 * scratch (the windows' class pixels) — over rounds 2…K (the first window has no head to
 * pre-fill it, the same for both selections).
 */

export interface RoundRecord {
  readonly shots: number;
  readonly window: { readonly image: string; readonly x: number; readonly y: number };
  readonly classPixels: number;
  readonly changedPixels: number | null;
  readonly skipped: number;
  readonly seconds: { readonly select: number; readonly prefill: number; readonly adapt: number };
  /** Pooled over the test images; null until scored. */
  readonly dice: number | null;
}

export interface SelectionRun {
  readonly target: string;
  readonly selection: Selection;
  readonly draw: number;
  readonly rounds: readonly RoundRecord[];
}

/** Per target, per K, per selection: quartiles of Dice over draws (for the table and dicePlot). */
export function selectionResults(
  runs: readonly SelectionRun[],
  targets: readonly string[],
  shots: readonly number[],
): PlotClass<Selection>[] {
  return targets.map((name) => {
    const byShots: Record<string, Partial<Record<Selection, Quartiles>>> = {};
    for (const k of shots) {
      const entry: Partial<Record<Selection, Quartiles>> = {};
      for (const selection of ['random', 'active'] as const) {
        const values = runs
          .filter((r) => r.target === name && r.selection === selection)
          .flatMap((r) => r.rounds.filter((x) => x.shots === k && x.dice !== null).map((x) => x.dice!));
        if (values.length > 0) entry[selection] = quartiles(values);
      }
      byShots[k] = entry;
    }
    return { name, shots: byShots, upperBound: quartiles([]) };
  });
}

const percent = (x: number) => (100 * x).toFixed(1);
const cell = (q: Quartiles | undefined) =>
  !q || q.n === 0 ? '–' : `${percent(q.median)} [${percent(q.q1)}–${percent(q.q3)}]`;

function markdown(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Dice %, median [quartiles]: a row per class and selection, a column per K. */
export function selectionTable(classes: readonly PlotClass<Selection>[], shots: readonly number[]): string {
  const rows = classes.flatMap((c) =>
    (['random', 'active'] as const).map((s) => [c.name, s, ...shots.map((k) => cell(c.shots[k]?.[s]))]),
  );
  return markdown(['class', 'selection', ...shots.map((k) => `K=${k}`)], rows);
}

export interface EffortSummary {
  readonly target: string;
  readonly selection: Selection;
  readonly draws: number;
  /** Over draws, of the sum over rounds 2…K. */
  readonly changed: Quartiles;
  readonly fromScratch: Quartiles;
  /** 1 − changed / fromScratch, per draw. */
  readonly saved: Quartiles;
  /**
   * Σ min(changed, class pixels): the fill is one undo step, so a user who finds a window
   * mostly wrong can drop it and paint from scratch.
   */
  readonly fillOrScratch: Quartiles;
  /** Proposals skipped per draw (active: windows that did not show the class). */
  readonly skipped: Quartiles;
}

export function effortSummary(runs: readonly SelectionRun[]): EffortSummary[] {
  const keys = [...new Set(runs.map((r) => `${r.target}\u0000${r.selection}`))];
  return keys.map((key) => {
    const [target, selection] = key.split('\u0000') as [string, Selection];
    const mine = runs.filter((r) => r.target === target && r.selection === selection);
    const later = (r: SelectionRun) => r.rounds.filter((x) => x.changedPixels !== null);
    const changed = mine.map((r) => later(r).reduce((s, x) => s + x.changedPixels!, 0));
    const scratch = mine.map((r) => later(r).reduce((s, x) => s + x.classPixels, 0));
    const either = mine.map((r) => later(r).reduce((s, x) => s + Math.min(x.changedPixels!, x.classPixels), 0));
    return {
      target,
      selection,
      draws: mine.length,
      changed: quartiles(changed),
      fromScratch: quartiles(scratch),
      saved: quartiles(changed.map((c, i) => (scratch[i] === 0 ? 0 : 1 - c / scratch[i]))),
      fillOrScratch: quartiles(either),
      skipped: quartiles(mine.map((r) => r.rounds.reduce((s, x) => s + x.skipped, 0))),
    };
  });
}

const count = (q: Quartiles) => (q.n === 0 ? '–' : `${Math.round(q.median)} [${Math.round(q.q1)}–${Math.round(q.q3)}]`);

/** Pixels changed with pre-fill and painted from scratch over rounds 2…K, median [quartiles] over draws. */
export function effortTable(rows: readonly EffortSummary[]): string {
  return markdown(
    [
      'class',
      'selection',
      'pixels changed (pre-fill)',
      'pixels painted (from scratch)',
      'saved %',
      'the lesser, per window',
      'skipped',
    ],
    rows.map((r) => [
      r.target,
      r.selection,
      count(r.changed),
      count(r.fromScratch),
      cell(r.saved),
      count(r.fillOrScratch),
      count(r.skipped),
    ]),
  );
}

/** Median seconds of each phase of a round, per selection and K, over every target and draw. */
export function roundSeconds(
  runs: readonly SelectionRun[],
): Record<string, Record<string, { select: number; prefill: number; adapt: number }>> {
  const out: Record<string, Record<string, { select: number; prefill: number; adapt: number }>> = {};
  for (const selection of new Set(runs.map((r) => r.selection))) {
    const rounds = runs.filter((r) => r.selection === selection).flatMap((r) => r.rounds);
    const byK: Record<string, { select: number; prefill: number; adapt: number }> = {};
    for (const k of new Set(rounds.map((x) => x.shots))) {
      const at = rounds.filter((x) => x.shots === k);
      const med = (pick: (x: RoundRecord) => number) => Number(quartiles(at.map(pick)).median.toFixed(2));
      byK[k] = {
        select: med((x) => x.seconds.select),
        prefill: med((x) => x.seconds.prefill),
        adapt: med((x) => x.seconds.adapt),
      };
    }
    out[selection] = byK;
  }
  return out;
}
