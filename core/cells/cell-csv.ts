/**
 * Cells as CSV, one row per cell, for a spreadsheet, R or pandas: an `Object ID`, the `Class`,
 * then one column per measurement (cell-measurements.ts's measurementRecord names, the union
 * over the rows in first-seen order; a cell without one leaves it empty). Numbers as JavaScript
 * writes them (the shortest text that reads back to the same double), so a file reads back
 * exactly; text fields quoted as RFC 4180 when they need it. `parseCellsCsv` reads it back.
 */
export interface CellRow {
  readonly id: string;
  readonly className: string;
  readonly measurements: Readonly<Record<string, number>>;
}

const ID = 'Object ID';
const CLASS = 'Class';

export function cellsToCsv(rows: readonly CellRow[]): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows)
    for (const name of Object.keys(row.measurements))
      if (!seen.has(name)) {
        seen.add(name);
        columns.push(name);
      }
  const lines = [[ID, CLASS, ...columns].map(field).join(',')];
  for (const row of rows) {
    const values = columns.map((c) => {
      const v = row.measurements[c];
      return v === undefined ? '' : Number.isFinite(v) ? String(v) : 'NaN';
    });
    lines.push([field(row.id), field(row.className), ...values].join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

function field(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The rows of a cellsToCsv file (empty cells are left out of `measurements`). */
export function parseCellsCsv(text: string): CellRow[] {
  const records = parseRecords(text);
  if (records.length === 0) throw new Error('the CSV is empty');
  const [header, ...rest] = records;
  if (header[0] !== ID || header[1] !== CLASS) throw new Error(`the CSV does not start with "${ID},${CLASS}"`);
  return rest.map((record, k) => {
    if (record.length !== header.length)
      throw new Error(`row ${k + 2} has ${record.length} fields, the header ${header.length}`);
    const measurements: Record<string, number> = {};
    for (let c = 2; c < header.length; c++) if (record[c] !== '') measurements[header[c]] = Number(record[c]);
    return { id: record[0], className: record[1], measurements };
  });
}

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks. */
function parseRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let fieldText = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        fieldText += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else fieldText += c;
      i++;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(fieldText);
      fieldText = '';
    } else if (c === '\n' || c === '\r') {
      record.push(fieldText);
      records.push(record);
      record = [];
      fieldText = '';
      if (c === '\r' && text[i + 1] === '\n') i++;
    } else fieldText += c;
    i++;
  }
  if (fieldText !== '' || record.length > 0) {
    record.push(fieldText);
    records.push(record);
  }
  return records;
}
