/**
 * Which rows of a cell table show, in what order: those whose every filtered column lies in its
 * range, sorted by one column. Columnar (one Float64Array per measurement) so that sorting and
 * filtering 100 000 cells is a pass over typed arrays, not over row objects.
 */

/** Inclusive bounds; a missing bound is open. */
export interface ValueRange {
  readonly min?: number;
  readonly max?: number;
}

export interface TableQuery {
  /** The column to sort by (an index into `columns`); none: the rows' own order. */
  readonly sortBy?: number;
  readonly descending?: boolean;
  /** Per column index, the range its values must lie in (NaN never does). */
  readonly ranges?: ReadonlyMap<number, ValueRange>;
}

/** The shown rows' indices, in order. Ties (and NaN, always last) keep the rows' own order. */
export function tableView(columns: readonly Float64Array[], rows: number, query: TableQuery = {}): Uint32Array {
  for (const c of columns)
    if (c.length !== rows) throw new RangeError(`a column has ${c.length} values for ${rows} rows`);
  const filters = [...(query.ranges ?? new Map<number, ValueRange>())].map(([column, range]) => {
    const values = columns[column];
    if (!values) throw new RangeError(`no column ${column} to filter (${columns.length} columns)`);
    return { values, min: range.min ?? -Infinity, max: range.max ?? Infinity };
  });
  const kept = new Uint32Array(rows);
  let n = 0;
  for (let r = 0; r < rows; r++) {
    let keep = true;
    for (const f of filters) {
      const v = f.values[r];
      // Written so that NaN fails.
      if (!(v >= f.min && v <= f.max)) {
        keep = false;
        break;
      }
    }
    if (keep) kept[n++] = r;
  }
  const shown = kept.slice(0, n);
  if (query.sortBy === undefined) return shown;
  const values = columns[query.sortBy];
  if (!values) throw new RangeError(`no column ${query.sortBy} to sort by (${columns.length} columns)`);
  const sign = query.descending ? -1 : 1;
  return shown.sort((a, b) => {
    const va = values[a];
    const vb = values[b];
    const na = Number.isNaN(va);
    const nb = Number.isNaN(vb);
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    return va === vb ? a - b : va < vb ? -sign : sign;
  });
}
