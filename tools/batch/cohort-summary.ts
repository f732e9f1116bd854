import type { CellFeature, CellFeatureCollection } from '../../core/cells/geojson-export.js';
import type { TissueMask } from '../../core/slide/tissue-mask.js';

/**
 * One row per slide of the cohort's CSV: the count of cells, the tissue's area, cells per mm² of
 * tissue, and the mean of every measurement the GeoJSON's cells carry (area, perimeter and mask
 * area today; whatever core/cells adds later comes along by its name). Plain on purpose: the
 * cells' own measurements live in the GeoJSON; this only sums them per slide.
 */

export interface SummaryRow {
  readonly slide: string;
  readonly cells: number;
  /** Tissue area in mm²; undefined when the slide has no µm/px (the CSV leaves it empty). */
  readonly tissueMm2: number | undefined;
  readonly cellsPerMm2: number | undefined;
  /** Mean of each measurement over the cells, by the measurement's name. */
  readonly means: Readonly<Record<string, number>>;
}

/** The tissue mask's area in mm² (its pixels' level-0 area times µm/px²); undefined without µm/px. */
export function tissueMm2(
  mask: TissueMask,
  mpp: { readonly x: number; readonly y: number } | undefined,
): number | undefined {
  if (!mpp) return undefined;
  let pixels = 0;
  for (let i = 0; i < mask.data.length; i++) pixels += mask.data[i] ? 1 : 0;
  const level0 = pixels * (mask.slideWidth / mask.width) * (mask.slideHeight / mask.height);
  return (level0 * mpp.x * mpp.y) / 1e6;
}

export function summaryRow(slide: string, cells: CellFeatureCollection, area: number | undefined): SummaryRow {
  const sums = new CellSums();
  for (const feature of cells.features) sums.add(feature);
  return sums.row(slide, area);
}

/** What a summary row needs of a slide's cells, added one at a time (a slide's cells are written as they come). */
export class CellSums {
  private readonly sums = new Map<string, { sum: number; n: number }>();
  /** Features added. */
  count = 0;

  add(feature: CellFeature): void {
    this.count++;
    for (const [name, value] of Object.entries(feature.properties.measurements)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const s = this.sums.get(name) ?? { sum: 0, n: 0 };
      s.sum += value;
      s.n++;
      this.sums.set(name, s);
    }
  }

  row(slide: string, area: number | undefined): SummaryRow {
    const means: Record<string, number> = {};
    for (const [name, { sum, n }] of this.sums) means[name] = sum / n;
    const count = this.count;
    return {
      slide,
      cells: count,
      tissueMm2: area,
      cellsPerMm2: area === undefined ? undefined : area > 0 ? count / area : 0,
      means,
    };
  }
}

function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(Number(value.toPrecision(10))) : '';
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The cohort's CSV: `slide,cells,tissue mm2,cells per mm2,mean <measurement>…`, the measurement
 * columns the union of every row's in order of first appearance (empty where a slide has none).
 */
export function cohortCsv(rows: readonly SummaryRow[]): string {
  const measures: string[] = [];
  for (const row of rows) for (const name of Object.keys(row.means)) if (!measures.includes(name)) measures.push(name);
  const header = ['slide', 'cells', 'tissue mm2', 'cells per mm2', ...measures.map((m) => `mean ${m}`)];
  const lines = rows.map((r) =>
    [r.slide, r.cells, r.tissueMm2, r.cellsPerMm2, ...measures.map((m) => r.means[m])].map(csvField).join(','),
  );
  return `${[header.map(csvField).join(','), ...lines].join('\n')}\n`;
}
