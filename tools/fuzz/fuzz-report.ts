import type { FuzzOutcome, FuzzReport } from './run-fuzz.js';

const ORDER: readonly FuzzOutcome[] = ['opened', 'typed', 'untyped', 'late-abort', 'hang', 'crash'];

/** The outcome table: a row per outcome (and per typed code) with count and share; then examples. */
export function formatReport(report: FuzzReport, examples = 5): string {
  const pct = (k: number) => `${((100 * k) / report.n).toFixed(1).padStart(5)} %`;
  const row = (label: string, k: number) => `  ${label.padEnd(28)} ${String(k).padStart(6)}  ${pct(k)}`;
  const lines = [`${report.kind}: ${report.n} mutants of ${report.seeds} seeds`];
  for (const outcome of ORDER) {
    lines.push(row(outcome === 'typed' ? 'typed error' : outcome, report.counts[outcome]));
    if (outcome === 'typed') {
      for (const [code, k] of Object.entries(report.codes).sort((a, b) => b[1] - a[1])) lines.push(row(`  ${code}`, k));
      if (report.truncatedFullLength) lines.push(row('  (truncated, full length)', report.truncatedFullLength));
    }
  }
  for (const outcome of ORDER.slice(2)) {
    const some = report.failures.filter((f) => f.outcome === outcome).slice(0, examples);
    if (some.length === 0) continue;
    lines.push(`${outcome}, e.g.:`);
    for (const f of some) lines.push(`  #${f.index} (seed ${f.seedIndex}): ${(f.message ?? '').slice(0, 300)}`);
  }
  return lines.join('\n');
}
