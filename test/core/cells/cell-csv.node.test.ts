import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellsToCsv, parseCellsCsv, type CellRow } from '../../../core/cells/cell-csv.js';
import { cellInstances } from '../../../core/cells/cell-instances.js';
import { measureCells, measurementRecord } from '../../../core/cells/cell-measurements.js';
import { maskPlacement } from '../../../core/cells/mask-placement.js';

test('measured cells round-trip through CSV exactly, header first, one row per cell', () => {
  const width = 64,
    height = 40;
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if ((x - 14) ** 2 + (y - 20) ** 2 < 100 || (x - 30) ** 2 + (y - 20) ** 2 < 81) mask[y * width + x] = 1;
      if (x > 45 && x < 60 && y > 5 && y < 12) mask[y * width + x] = 1;
    }
  const probabilities = Float32Array.from(mask, (m, i) => (m ? 0.6 + (i % 9) / 30 : 0.2));
  const instances = cellInstances(probabilities, width, height);
  const measures = measureCells(instances, {
    placement: maskPlacement(100, 200, 2),
    mpp: { x: 0.2501, y: 0.2499 },
    probabilities,
  });
  const rows: CellRow[] = measures.map((m, k) => ({
    id: `cell-${k}`,
    className: k === 0 ? 'Tumour, "odd" name' : 'Tumour',
    measurements: measurementRecord(m, true),
  }));
  assert.equal(rows.length, 3);
  const csv = cellsToCsv(rows);
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(lines.length, 4);
  assert.ok(lines[0].startsWith('Object ID,Class,Mask area µm^2,Perimeter µm,Circularity'));
  assert.ok(lines[1].startsWith('cell-0,"Tumour, ""odd"" name",'));
  assert.deepEqual(parseCellsCsv(csv), rows);
});

test('a measurement a row lacks is an empty field and stays absent; a malformed file is refused', () => {
  const rows: CellRow[] = [
    { id: 'a', className: 'X', measurements: { 'Area px^2': 12, Solidity: 1 } },
    { id: 'b', className: 'X', measurements: { 'Area px^2': 3.5, 'Eosin OD mean': 0.125 } },
  ];
  const csv = cellsToCsv(rows);
  assert.equal(csv, 'Object ID,Class,Area px^2,Solidity,Eosin OD mean\r\na,X,12,1,\r\nb,X,3.5,,0.125\r\n');
  assert.deepEqual(parseCellsCsv(csv), rows);
  assert.throws(() => parseCellsCsv('id,name\r\n'), /does not start/);
  assert.throws(() => parseCellsCsv('Object ID,Class,A\r\nx,y\r\n'), /row 2 has 2 fields/);
});
