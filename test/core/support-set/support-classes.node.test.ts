import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRunLength } from '../../../core/support-set/mask-run-length.js';
import { DEFAULT_SUPPORT_CLASS, maskWithoutClass, oneVsRestMask } from '../../../core/support-set/support-classes.js';
import { importSupportSet, parseSupportSet, supportSetToText } from '../../../core/support-set/support-set-file.js';
import { SupportSetFileError } from '../../../core/support-set/support-set-file-error.js';
import { supportProblem } from '../../../core/support-set/support-patches.js';
import { createSupportSet } from '../../../core/support-set/support-set.js';

const slide = { name: 'case-3.svs', width: 3000, height: 2000, mpp: 0.25 };
const tumour = { name: 'Tumour', color: '#ff0000' };
const immune = { name: 'Immune', color: '#0000ff' };

/** A version-1 file as the product wrote it before classes: labels 0, 1, 255 and no `classes`. */
function versionOneText(): string {
  const mask = new Uint8Array(16 * 16);
  mask.fill(1, 0, 40);
  mask.fill(255, 200, 210);
  return JSON.stringify({
    format: 'openseadragon-fewshot/support-set',
    version: 1,
    slide,
    extractorMpp: 0.25,
    patchSize: 16,
    patches: [{ id: 'p1', x: 10, y: 20, scale: 1, mask: encodeRunLength(mask) }],
  });
}

test('a store without classes has the one default class; brushes paint the label of their class', () => {
  const one = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16 });
  assert.deepEqual(one.classes, [DEFAULT_SUPPORT_CLASS]);
  const s = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16, classes: [tumour, immune] });
  const id = s.addPatch({ x: 0, y: 0 });
  s.paintStroke(id, { label: 'class', size: 1 }, [[0, 0]]);
  s.paintStroke(id, { label: 'class', size: 1, classLabel: 2 }, [[5, 0]]);
  s.fillPolygon(
    id,
    [
      [
        [0, 8],
        [16, 8],
        [16, 16],
        [0, 16],
      ],
    ],
    'class',
    2,
  );
  const mask = s.patch(id)!.mask;
  assert.equal(mask[0], 1);
  assert.equal(mask[5], 2);
  assert.ok(mask.subarray(8 * 16).every((v) => v === 2));
  assert.throws(() => s.paintStroke(id, { label: 'class', size: 1, classLabel: 3 }, [[1, 1]]), /class label 3/);
});

test('classes are added, renamed, recoloured and removed as undo steps; removing relabels the masks', () => {
  const s = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16, classes: [tumour] });
  let replaced = 0;
  s.addEventListener('change', (e) => void (e.detail.type === 'replace' && replaced++));
  assert.equal(s.addClass(immune), 2);
  assert.equal(s.addClass({ name: 'Stroma', color: '#00ff00' }), 3);
  assert.throws(() => s.addClass({ name: 'Immune', color: '#123456' }), /two classes are named "Immune"/);
  const id = s.addPatch({ x: 0, y: 0 });
  s.paintStroke(id, { label: 'class', size: 1, classLabel: 1 }, [[0, 0]]);
  s.paintStroke(id, { label: 'class', size: 1, classLabel: 2 }, [[1, 0]]);
  s.paintStroke(id, { label: 'class', size: 1, classLabel: 3 }, [[2, 0]]);
  s.paintStroke(id, { label: 'ignore', size: 1 }, [[3, 0]]);
  assert.equal(s.updateClass(2, { color: '#ffff00' }), true);
  assert.equal(s.updateClass(2, { color: '#ffff00' }), false, 'no change, no step');
  assert.deepEqual(s.classes[1], { name: 'Immune', color: '#ffff00' });
  s.removeClass(2);
  assert.deepEqual(
    s.classes.map((c) => c.name),
    ['Tumour', 'Stroma'],
  );
  assert.deepEqual([...s.patch(id)!.mask.subarray(0, 4)], [1, 0, 2, 255], 'immune → background, stroma 3 → 2');
  assert.ok(s.undo());
  assert.deepEqual([...s.patch(id)!.mask.subarray(0, 4)], [1, 2, 3, 255]);
  assert.equal(s.classes.length, 3);
  assert.ok(s.undo());
  assert.equal(s.classes[1].color, '#0000ff');
  assert.ok(s.redo() && s.redo());
  assert.equal(s.classes.length, 2);
  assert.ok(replaced >= 6, 'every class change is announced as a replace');
  const lone = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16 });
  assert.throws(() => lone.removeClass(1), /last class/);
});

test('mask helpers: removing a class and one-vs-rest, against a per-pixel rule', () => {
  const mask = Uint8Array.from([0, 1, 2, 3, 255, 2, 1, 0]);
  assert.deepEqual([...maskWithoutClass(mask, 2)], [0, 1, 0, 2, 255, 0, 1, 0]);
  assert.deepEqual([...oneVsRestMask(mask, 2)], [0, 0, 1, 0, 255, 1, 0, 0]);
  const single = Uint8Array.from([0, 1, 255, 1]);
  assert.deepEqual(oneVsRestMask(single, 1), single, 'one class: the mask as it is');
});

test('a version-2 file keeps the classes and their labels; a version-1 file loads as one class', () => {
  const s = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16, classes: [tumour, immune] });
  const id = s.addPatch({ x: 0, y: 0 });
  s.paintStroke(id, { label: 'class', size: 3, classLabel: 2 }, [[8, 8]]);
  const text = supportSetToText(s.state());
  assert.equal(JSON.parse(text).version, 2);
  const back = parseSupportSet(text);
  assert.deepEqual(back.classes, [tumour, immune]);
  assert.deepEqual([...back.patches[0].mask], [...s.patch(id)!.mask]);

  const old = parseSupportSet(versionOneText());
  assert.deepEqual(old.classes, [DEFAULT_SUPPORT_CLASS]);
  assert.equal(old.patches[0].mask.filter((v) => v === 1).length, 40);
  // Imported into a store, it is the store's first class, name and colour kept.
  const store = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16, classes: [tumour, immune] });
  assert.equal(importSupportSet(store, versionOneText()), 1);
  assert.deepEqual(store.classes, [tumour]);
  assert.ok(store.undo());
  assert.deepEqual(store.classes, [tumour, immune], 'undoing the import brings the classes back');
  // A version-2 import brings its classes.
  const other = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16 });
  importSupportSet(other, text);
  assert.deepEqual(other.classes, [tumour, immune]);
});

test('a file whose masks hold labels beyond its classes, or bad classes, is refused', () => {
  const s = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16, classes: [tumour, immune] });
  const id = s.addPatch({ x: 0, y: 0 });
  s.paintStroke(id, { label: 'class', size: 3, classLabel: 2 }, [[8, 8]]);
  const json = JSON.parse(supportSetToText(s.state()));
  const refused = (j: unknown, code: string, message: RegExp) =>
    assert.throws(
      () => parseSupportSet(j),
      (err: unknown) => err instanceof SupportSetFileError && err.code === code && message.test(err.message),
    );
  refused({ ...json, classes: [tumour] }, 'bad-mask', /value 2/);
  refused({ ...json, classes: [] }, 'bad-field', /1 to 254 classes/);
  refused({ ...json, classes: [tumour, tumour] }, 'bad-field', /two classes/);
  refused({ ...json, classes: [{ name: '', color: '#fff' }] }, 'bad-field', /class name/);
  const { classes: _omitted, ...missing } = json;
  refused(missing, 'bad-field', /classes must be an array/);
  // A version-1 file only ever had labels 0, 1 and 255.
  const v1 = JSON.parse(versionOneText());
  const two = new Uint8Array(256).fill(2, 0, 3);
  refused({ ...v1, patches: [{ ...v1.patches[0], mask: encodeRunLength(two) }] }, 'bad-mask', /value 2/);
});

test('supportProblem names a class that has no painted pixel', () => {
  const s = createSupportSet({ slide, extractorMpp: 0.25, patchSize: 16, classes: [tumour, immune] });
  const id = s.addPatch({ x: 0, y: 0 });
  s.paintStroke(id, { label: 'class', size: 1 }, [[0, 0]]);
  assert.match(supportProblem(s.state())!, /class "Immune"/);
  s.paintStroke(id, { label: 'class', size: 1, classLabel: 2 }, [[4, 4]]);
  assert.equal(supportProblem(s.state()), null);
});
