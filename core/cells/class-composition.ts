import { cellInstances, type CellInstanceOptions, type CellInstances } from './cell-instances.js';
import type { CellRow } from './cell-csv.js';
import { measureCells, measurementRecord, type CellMeasures, type MeasureOptions } from './cell-measurements.js';
import {
  cellsToGeoJsonReport,
  type CellClass,
  type CellFeatureCollection,
  type GeoJsonExportOptions,
} from './geojson-export.js';

/**
 * Several new classes in one map (issue 15): each class's head gives a probability per pixel; a
 * pixel goes to the most probable class whose probability is above that class's own threshold
 * (p > t, as one class's mask is cut), and to background (0) when none is. Label k is the k-th
 * class (1-based), as in the support set's masks; an exact tie goes to the lower label. Cells,
 * their measurements and their exports are then per class, each class's cells found in its own
 * pixels of the composition.
 */
export function composeClasses(probabilities: readonly Float32Array[], thresholds: readonly number[]): Uint8Array {
  if (probabilities.length === 0 || probabilities.length > 254)
    throw new RangeError(`${probabilities.length} classes; 1 to 254 are composed`);
  if (thresholds.length !== probabilities.length)
    throw new RangeError(`${thresholds.length} thresholds for ${probabilities.length} classes`);
  const n = probabilities[0].length;
  if (probabilities.some((p) => p.length !== n)) throw new RangeError('the classes’ maps differ in size');
  const labels = new Uint8Array(n);
  const best = new Float32Array(n);
  probabilities.forEach((p, k) => {
    const t = thresholds[k];
    for (let i = 0; i < n; i++) {
      const v = p[i];
      // NaN (unknown) is above no threshold.
      if (v > t && (labels[i] === 0 || v > best[i])) {
        labels[i] = k + 1;
        best[i] = v;
      }
    }
  });
  return labels;
}

/** Class `label`'s probabilities on its own pixels of the composition, 0 elsewhere: what its cells are cut from. */
export function classMap(labels: Uint8Array, probabilities: Float32Array, label: number): Float32Array {
  if (labels.length !== probabilities.length) throw new RangeError('labels and probabilities differ in size');
  const out = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) if (labels[i] === label) out[i] = probabilities[i];
  return out;
}

/** One class's cells in a composed map, measured. */
export interface ClassCells {
  readonly classification: CellClass;
  readonly instances: CellInstances;
  readonly measures: CellMeasures[];
}

/**
 * Every class's cells (instances, touching nuclei split) and their measurements, from the classes'
 * probability maps of one width × height region: composed, then each class's map (classMap) cut
 * at its threshold. Mean probability is the class's own.
 */
export function measureClassCells(
  classes: readonly (CellClass & { readonly threshold: number; readonly probabilities: Float32Array })[],
  width: number,
  height: number,
  options: Omit<MeasureOptions, 'probabilities'> & { readonly instances?: Omit<CellInstanceOptions, 'threshold'> },
): ClassCells[] {
  const labels = composeClasses(
    classes.map((c) => c.probabilities),
    classes.map((c) => c.threshold),
  );
  return classes.map((c, k) => {
    const map = classMap(labels, c.probabilities, k + 1);
    const instances = cellInstances(map, width, height, { ...options.instances, threshold: c.threshold });
    const measures = measureCells(instances, { ...options, probabilities: map });
    return { classification: { name: c.name, color: c.color }, instances, measures };
  });
}

/** All classes' cells as one QuPath FeatureCollection, each feature classified by its class (name, colour). */
export function classCellsToGeoJson(
  classes: readonly ClassCells[],
  options: Omit<GeoJsonExportOptions, 'classification' | 'measures'>,
): { collection: CellFeatureCollection; droppedCells: number; droppedHoles: number } {
  let droppedCells = 0;
  let droppedHoles = 0;
  const features = classes.flatMap((c) => {
    const report = cellsToGeoJsonReport(c.instances.cells, {
      ...options,
      classification: c.classification,
      measures: c.measures,
    });
    droppedCells += report.droppedCells;
    droppedHoles += report.droppedHoles;
    return report.collection.features;
  });
  return { collection: { type: 'FeatureCollection', features }, droppedCells, droppedHoles };
}

/** All classes' cells as CSV rows (cell-csv.ts): ids 1… over all classes, the class in its column. */
export function classCellRows(classes: readonly ClassCells[], micrometres: boolean): CellRow[] {
  let id = 0;
  return classes.flatMap((c) =>
    c.measures.map((m) => ({
      id: String(++id),
      className: c.classification.name,
      measurements: measurementRecord(m, micrometres),
    })),
  );
}
