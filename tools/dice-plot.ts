import type { Quartiles } from './evaluation-summary.js';

/**
 * Dice against shots as an SVG (the paper's Fig. 4.3): one panel per class, the median of the
 * logistic-only and the BFGS-refined heads with their interquartile ranges as bars, and the
 * class's own extractor as a dashed upper bound. Plain SVG so it renders in a README and any
 * browser without a plotting library.
 */

const PANEL = { width: 260, height: 220, left: 44, right: 12, top: 28, bottom: 40 };
/** One line of the plot: which entry of each shot's results, and how it is drawn. */
export interface PlotSeries<S extends string> {
  readonly key: S;
  readonly label: string;
  readonly color: string;
  /** Horizontal offset (px), so that the interquartile bars of two series do not hide each other. */
  readonly dx: number;
}

const SERIES: readonly PlotSeries<'logistic' | 'bfgs'>[] = [
  { key: 'logistic', label: 'logistic regression', color: '#1f77b4', dx: -4 },
  { key: 'bfgs', label: 'BFGS (Dice + λ‖W‖)', color: '#d62728', dx: 4 },
];

/** A panel: a class's results by shots, each with an entry per series (evaluation-summary.ts's ClassResult). */
export interface PlotClass<S extends string> {
  readonly name: string;
  readonly shots: Readonly<Record<string, Partial<Readonly<Record<S, Quartiles>>>>>;
  /** Drawn dashed when n > 0. */
  readonly upperBound: Quartiles;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f = (x: number) => x.toFixed(1);

export function dicePlot<S extends string = 'logistic' | 'bfgs'>(
  classes: readonly PlotClass<S>[],
  shots: readonly number[],
  title: string,
  series: readonly PlotSeries<S>[] = SERIES as unknown as readonly PlotSeries<S>[],
): string {
  const width = PANEL.width * classes.length;
  const height = PANEL.height + 30;
  const innerW = PANEL.width - PANEL.left - PANEL.right;
  const innerH = PANEL.height - PANEL.top - PANEL.bottom;
  // Shots are spaced evenly (1, 5, 10 would crowd on a linear axis).
  const xAt = (i: number) => PANEL.left + (shots.length === 1 ? innerW / 2 : (i * innerW) / (shots.length - 1));
  const yAt = (dice: number) => PANEL.top + innerH * (1 - dice);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="14" text-anchor="middle" font-size="12">${escape(title)}</text>`,
  ];
  classes.forEach((c, p) => {
    const g: string[] = [`<g transform="translate(${p * PANEL.width},6)">`];
    g.push(
      `<text x="${PANEL.left + innerW / 2}" y="${PANEL.top - 8}" text-anchor="middle" ` +
        `font-weight="bold">${escape(c.name)}</text>`,
    );
    for (let t = 0; t <= 10; t += 2) {
      const y = yAt(t / 10);
      g.push(`<line x1="${PANEL.left}" x2="${PANEL.left + innerW}" y1="${f(y)}" y2="${f(y)}" stroke="#e5e5e5"/>`);
      g.push(`<text x="${PANEL.left - 4}" y="${f(y + 4)}" text-anchor="end">${(t / 10).toFixed(1)}</text>`);
    }
    g.push(`<line x1="${PANEL.left}" x2="${PANEL.left}" y1="${PANEL.top}" y2="${PANEL.top + innerH}" stroke="#333"/>`);
    shots.forEach((k, i) =>
      g.push(`<text x="${f(xAt(i))}" y="${PANEL.top + innerH + 14}" text-anchor="middle">${k}</text>`),
    );
    g.push(`<text x="${PANEL.left + innerW / 2}" y="${PANEL.top + innerH + 30}" text-anchor="middle">shots</text>`);
    if (p === 0)
      g.push(`<text transform="translate(12,${PANEL.top + innerH / 2}) rotate(-90)" text-anchor="middle">Dice</text>`);
    if (c.upperBound.n > 0) {
      const y = f(yAt(c.upperBound.median));
      g.push(
        `<line x1="${PANEL.left}" x2="${PANEL.left + innerW}" y1="${y}" y2="${y}" ` +
          `stroke="#2ca02c" stroke-dasharray="5 3"/>`,
      );
    }
    for (const s of series) {
      const points = shots
        .map((k, i) => ({ x: xAt(i) + s.dx, q: c.shots[k]?.[s.key] }))
        .filter((pt) => pt.q && pt.q.n > 0);
      for (const { x, q } of points) {
        g.push(
          `<line x1="${f(x)}" x2="${f(x)}" y1="${f(yAt(q!.q1))}" y2="${f(yAt(q!.q3))}" ` +
            `stroke="${s.color}" stroke-width="2"/>`,
        );
        g.push(`<circle cx="${f(x)}" cy="${f(yAt(q!.median))}" r="3" fill="${s.color}"/>`);
      }
      if (points.length > 1)
        g.push(
          `<polyline fill="none" stroke="${s.color}" ` +
            `points="${points.map(({ x, q }) => `${f(x)},${f(yAt(q!.median))}`).join(' ')}"/>`,
        );
    }
    g.push('</g>');
    parts.push(...g);
  });
  const legendY = height - 8;
  const legend = [
    ...series.map((s) => ({ label: s.label, color: s.color, dash: '' })),
    ...(classes.some((c) => c.upperBound.n > 0)
      ? [{ label: 'own extractor (upper bound)', color: '#2ca02c', dash: '5 3' }]
      : []),
  ];
  legend.forEach((l, i) => {
    const x = 10 + i * 200;
    parts.push(
      `<line x1="${x}" x2="${x + 20}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${l.color}" ` +
        `stroke-width="2"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/>`,
    );
    parts.push(`<text x="${x + 25}" y="${legendY}">${escape(l.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
