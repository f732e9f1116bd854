/**
 * The numbers of the paper's evaluation: Dice from pooled counts, median and quartiles over
 * draws × extractor instances, and the table in the layout of the paper's Table 4.2
 * (classes down, shots across, logistic and BFGS side by side).
 */

/** Pixels predicted and true, their overlap, summed over every test image. */
export interface DiceCounts {
  readonly overlap: number;
  readonly predicted: number;
  readonly truth: number;
}

/** 2|P∩G| / (|P| + |G|); 1 when both are empty (nothing to find, nothing found). */
export function dice({ overlap, predicted, truth }: DiceCounts): number {
  return predicted + truth === 0 ? 1 : (2 * overlap) / (predicted + truth);
}

/**
 * Dice of each image alone, averaged over the images that hold the class (those without it are
 * left out, as the reference implementation does); NaN when none does. Pooled Dice weighs
 * images by their class pixels, this weighs them equally, so the two differ where a few images
 * hold most of the class.
 */
export function perImageMeanDice(images: readonly DiceCounts[]): number {
  const holding = images.filter((c) => c.truth > 0);
  return holding.length === 0 ? NaN : holding.reduce((s, c) => s + dice(c), 0) / holding.length;
}

export interface Quartiles {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly n: number;
}

/** The p-quantile of sorted values by linear interpolation between order statistics (numpy's default). */
function quantile(sorted: readonly number[], p: number): number {
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function quartiles(values: readonly number[]): Quartiles {
  if (values.length === 0) return { median: NaN, q1: NaN, q3: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), n: sorted.length };
}

export interface ShotResult {
  readonly logistic: Quartiles;
  readonly bfgs: Quartiles;
}

export interface ClassResult {
  readonly name: string;
  /** By number of shots. */
  readonly shots: Readonly<Record<string, ShotResult>>;
  /** The class's own extractor on the same test images, over instances. */
  readonly upperBound: Quartiles;
}

const percent = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : '–');
const cell = (q: Quartiles) => (q.n === 0 ? '–' : `${percent(q.median)} [${percent(q.q1)}–${percent(q.q3)}]`);

/** A Markdown table: Dice in %, median [first–third quartile]. */
export function resultTable(classes: readonly ClassResult[], shots: readonly number[]): string {
  const header = ['class', ...shots.flatMap((k) => [`${k}-shot logistic`, `${k}-shot BFGS`]), 'upper bound'];
  const rows = classes.map((c) => [
    c.name,
    ...shots.flatMap((k) => [cell(c.shots[k].logistic), cell(c.shots[k].bfgs)]),
    cell(c.upperBound),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
