import { test } from 'node:test';
import assert from 'node:assert/strict';
import { thresholdMask } from '../../../core/cells/cell-contours.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { patchChanges, prefillLabels } from '../../../core/support-set/prefill.js';
import {
  createSupportSet,
  LABEL_BACKGROUND,
  LABEL_CLASS,
  LABEL_IGNORE,
  type SupportSetChange,
} from '../../../core/support-set/support-set.js';

const slide = { name: 'case-3.svs', width: 5000, height: 4000, mpp: 0.5 };
const N = 256;

/** Probabilities with values right at the threshold and either side of it, as a head gives (float32). */
function probabilities(seed: number, threshold: number): Float32Array {
  const random = new SeededRandom(seed);
  const t = Math.fround(threshold);
  return Float32Array.from({ length: N * N }, (_, i) => {
    if (i % 97 === 0) return t;
    if (i % 101 === 0) return t + 1e-7;
    return random.next();
  });
}

/** Pixels where two label arrays differ, counted the plain way. */
function differing(a: Uint8Array, b: Uint8Array): number {
  return [...a].filter((v, i) => v !== b[i]).length;
}

test('a fill is class where p > threshold and background elsewhere, as the overlay and exports cut it', () => {
  for (const threshold of [0.5, 0.3, 0.85]) {
    const p = probabilities(Math.round(threshold * 100), threshold);
    const labels = prefillLabels(p, threshold);
    // Independent: the cell tracer's own mask (1 cell, 0 not), mapped to the store's label values.
    const cells = thresholdMask(p, threshold);
    assert.equal(labels.length, N * N);
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] !== (cells[i] ? LABEL_CLASS : LABEL_BACKGROUND))
        assert.fail(`pixel ${i}: p ${p[i]} at threshold ${threshold} gave label ${labels[i]}`);
    }
    const classPixels = [...p].filter((v) => v > threshold).length;
    assert.equal(
      labels.reduce((n, v) => n + v, 0),
      classPixels,
    );
    assert.ok(classPixels > 0 && classPixels < N * N);
    assert.ok(!labels.includes(LABEL_IGNORE), 'the prediction leaves nothing ignored');
  }
  assert.throws(() => prefillLabels(new Float32Array(4), 1), /strictly between 0 and 1/);
  assert.throws(() => prefillLabels(new Float32Array(4), 0), /strictly between 0 and 1/);
});

test('changes count the pixels whose label differs from the fill', () => {
  const random = new SeededRandom(7);
  const fill = Uint8Array.from({ length: N * N }, () => (random.next() < 0.3 ? LABEL_CLASS : LABEL_BACKGROUND));
  const mask = fill.slice();
  assert.deepEqual(patchChanges(fill, mask), { pixels: 0, fraction: 0 });
  const values = [LABEL_BACKGROUND, LABEL_CLASS, LABEL_IGNORE];
  for (let k = 0; k < 5000; k++) mask[random.int(N * N)] = values[random.int(3)];
  const pixels = differing(fill, mask);
  assert.ok(pixels > 1000);
  assert.deepEqual(patchChanges(fill, mask), { pixels, fraction: pixels / (N * N) });
  assert.throws(() => patchChanges(fill, new Uint8Array(10)), /not the same patch/);
});

test('a pre-fill is one undo step after the placement; the changed count follows brush and erase', () => {
  const store = createSupportSet({ slide, extractorMpp: 0.25 });
  const id = store.addPatch({ x: 1000, y: 800 });
  assert.equal(store.changes(id), undefined, 'not pre-filled: no count');
  const fill = prefillLabels(probabilities(11, 0.5), 0.5);
  const heard: SupportSetChange[] = [];
  store.addEventListener('change', (e) => heard.push(e.detail));
  assert.equal(store.prefillPatch(id, fill), true);
  const patch = store.patch(id)!;
  assert.deepEqual([...patch.mask], [...fill]);
  assert.deepEqual(patch.prefill && [...patch.prefill], [...fill]);
  assert.notEqual(patch.prefill, fill, 'the store keeps a copy');
  assert.deepEqual(store.changes(id), { pixels: 0, fraction: 0 });
  assert.equal(heard.at(-1)?.type, 'mask');
  assert.equal(store.undoLabel, 'prefill');

  // The user corrects: a class stroke and an erase stroke.
  store.paintStroke(id, { label: 'class', size: 30 }, [
    [20, 20],
    [120, 60],
  ]);
  store.paintStroke(id, { label: 'background', size: 12 }, [
    [200, 10],
    [200, 250],
  ]);
  const changed = differing(fill, patch.mask);
  assert.ok(changed > 500, `${changed} pixels corrected`);
  assert.deepEqual(store.changes(id), { pixels: changed, fraction: changed / (N * N) });

  // Undo the two strokes, then the fill (one step): the empty patch as placed, no count.
  store.undo();
  store.undo();
  assert.deepEqual(store.changes(id), { pixels: 0, fraction: 0 });
  assert.equal(store.undo(), true);
  assert.ok(
    patch.mask.every((v) => v === LABEL_BACKGROUND),
    'undoing the fill leaves the empty patch',
  );
  assert.equal(store.changes(id), undefined);
  assert.equal(store.patch(id)?.prefill, undefined);
  assert.equal(store.undoLabel, 'add patch', 'the placement is the step before');
  // Redo brings the fill and its baseline back.
  store.redo();
  assert.deepEqual([...patch.mask], [...fill]);
  assert.deepEqual(store.changes(id), { pixels: 0, fraction: 0 });

  // An all-background prediction on an empty patch still sets the baseline, undoably.
  const other = store.addPatch({ x: 3000, y: 2000 });
  assert.equal(store.prefillPatch(other, new Uint8Array(N * N)), true);
  assert.deepEqual(store.changes(other), { pixels: 0, fraction: 0 });
  store.undo();
  assert.equal(store.changes(other), undefined);

  assert.throws(() => store.prefillPatch(id, new Uint8Array(10)), /256×256 labels/);
  assert.throws(() => store.prefillPatch(id, new Uint8Array(N * N).fill(7)), /not a label/);
  assert.throws(() => store.prefillPatch('nope', fill), /no support patch/);
});

test('a pre-fill is refused while the user paints that patch, and leaves a stroke elsewhere going', () => {
  const store = createSupportSet({ slide, extractorMpp: 0.25 });
  const a = store.addPatch({ x: 0, y: 0 });
  const b = store.addPatch({ x: 2000, y: 2000 });
  const fill = prefillLabels(probabilities(3, 0.5), 0.5);
  store.beginStroke(a, { label: 'class', size: 10 }, [50, 50]);
  const painted = store.patch(a)!.mask.slice();
  assert.equal(store.prefillPatch(a, fill), false);
  assert.deepEqual([...store.patch(a)!.mask], [...painted], 'the stroke is untouched');
  assert.equal(store.stroking, true);
  // Another patch's fill arrives mid-stroke: the stroke goes on and is its own undo step.
  assert.equal(store.prefillPatch(b, fill), true);
  assert.equal(store.stroking, true);
  store.extendStroke([60, 80]);
  assert.equal(store.endStroke(), true);
  assert.equal(store.undoLabel, 'paint');
  store.undo();
  assert.equal(store.undoLabel, 'prefill');
});

test("'add' says when a patch comes back by undo or redo rather than being placed", () => {
  const store = createSupportSet({ slide, extractorMpp: 0.25 });
  const adds: SupportSetChange[] = [];
  store.addEventListener('change', (e) => e.detail.type === 'add' && adds.push(e.detail));
  const id = store.addPatch({ x: 100, y: 100 });
  store.undo();
  store.redo();
  store.deletePatch(id);
  store.undo();
  assert.deepEqual(adds, [
    { type: 'add', id },
    { type: 'add', id, restored: true },
    { type: 'add', id, restored: true },
  ]);
});
