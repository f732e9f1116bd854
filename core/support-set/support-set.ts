import { withEvents } from '../events/event-handle.js';
import { Emitter, type TypedEventTarget } from '../events/typed-events.js';
import { strokeSegmentSpans } from './brush.js';
import { applyRowDiff, diffRowRange, recordRows, type MaskRowDiff, type RowRecorder } from './mask-row-diff.js';
import { rasterisePolygon } from '../cells/polygon-raster.js';
import { patchChanges, type PatchChanges } from './prefill.js';
import { createUndoStack, DEFAULT_UNDO_LIMITS, type UndoLimits, type UndoStep } from './undo-stack.js';
import {
  checkSupportClasses,
  copyClasses,
  DEFAULT_SUPPORT_CLASS,
  maskWithoutClass,
  supportClassProblem,
  type SupportClass,
} from './support-classes.js';

/**
 * The support set a user annotates (docs/ARCHITECTURE.md#data-flow, step 3): square patches of
 * `patchSize` pixels at the extractors' resolution, placed on the slide, each with a label per
 * patch pixel. A framework-free store in the manner of Annotorious v3: a factory returning an
 * interface, every edit undoable, a change event after each so any UI can re-render. No DOM: it
 * runs on the main thread under the panel and equally in Node for tests and tools.
 *
 * Labels use adapt()'s mask values (support-features.ts: 0 background, 1 class, 255 ignored), so
 * handing the masks of one class to adaptation needs no translation; with several classes
 * (support-classes.ts) label k is the k-th class, and each class's head sees its one-vs-rest mask.
 * They are repeated here rather than imported because support-features.ts loads TF.js, which the main thread must not.
 */
export const LABEL_BACKGROUND = 0;
export const LABEL_CLASS = 1;
export const LABEL_IGNORE = 255;

export type SupportLabel = 'background' | 'class' | 'ignore';

export const LABEL_VALUES: Readonly<Record<SupportLabel, number>> = {
  background: LABEL_BACKGROUND,
  class: LABEL_CLASS,
  ignore: LABEL_IGNORE,
};

/** Which slide a support set belongs to. */
export interface SlideIdentity {
  /** File name or URL, as the pixel source names it. */
  readonly name: string;
  /** Level-0 size in pixels. */
  readonly width: number;
  readonly height: number;
  /** Microns per level-0 pixel, when the slide says. */
  readonly mpp?: number;
}

/**
 * One support patch. It covers the level-0 rectangle from (x, y) of patchSize·scale pixels on a
 * side, so it stays put on the slide whatever the viewer's zoom. `mask` is patchSize² labels,
 * row-major; it is the store's own array: read it, never write it.
 */
export interface SupportSetPatch {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  /** Level-0 pixels per patch pixel (extractor mpp / slide mpp). */
  readonly scale: number;
  readonly mask: Uint8Array;
  /**
   * The labels the patch was pre-filled with (prefillPatch: the head's prediction), the baseline
   * `changes` counts the user's corrections against; undefined when it was not pre-filled (or the
   * fill was undone). The store's own array. Not saved in the support-set file.
   */
  readonly prefill?: Uint8Array;
}

export interface SupportSetState {
  readonly slide: SlideIdentity;
  /** Microns per pixel of the extractors the patches are cut for. */
  readonly extractorMpp: number;
  readonly patchSize: number;
  readonly patches: readonly SupportSetPatch[];
  /** The classes, label k the k-th (support-classes.ts); absent: one, DEFAULT_SUPPORT_CLASS. */
  readonly classes?: readonly SupportClass[];
}

export type SupportSetChange =
  /** `restored`: put back by undo or redo (not a new placement, so nothing pre-fills it). */
  | { readonly type: 'add'; readonly id: string; readonly restored?: boolean }
  | { readonly type: 'remove'; readonly id: string }
  /** Rows first…last (inclusive) of the patch's mask changed. */
  | { readonly type: 'mask'; readonly id: string; readonly rows: readonly [number, number] }
  | { readonly type: 'select'; readonly id: string | null }
  /**
   * Every patch and the class list may have changed (an import, a class added, edited or removed,
   * or undoing one): one event for all, so a view written before classes re-renders them too.
   */
  | { readonly type: 'replace' };

/** `store.addEventListener('change', (e) => e.detail.type)`: after every change, what changed. */
export type SupportSetEvents = {
  change: SupportSetChange;
};

export interface Brush {
  readonly label: SupportLabel;
  /** Diameter in patch pixels. */
  readonly size: number;
  /** With label 'class': which class, as its label (1-based index in `classes`); default 1. */
  readonly classLabel?: number;
}

export type Point = readonly [number, number];
/** Polygon rings (outer boundary, then holes) in patch pixel coordinates. */
export type Rings = readonly (readonly Point[])[];

export interface SupportSetStore extends TypedEventTarget<SupportSetEvents> {
  readonly slide: SlideIdentity;
  readonly extractorMpp: number;
  readonly patchSize: number;
  /** The scale new patches get unless told otherwise. */
  readonly defaultScale: number;
  /** In the order they were added. */
  readonly patches: readonly SupportSetPatch[];
  patch(id: string): SupportSetPatch | undefined;
  readonly selectedId: string | null;
  /** Grows with every change of content (not of selection): a cheap "is it saved?" test. */
  readonly revision: number;
  /** The current content; masks are the live arrays (serialise it before editing again). */
  state(): SupportSetState;
  /** The classes; label k (1-based) of a mask is classes[k − 1]. At least one. */
  readonly classes: readonly SupportClass[];
  /** Adds a class at the end, as one undo step; returns its label. */
  addClass(c: SupportClass): number;
  /** Renames and/or recolours the class of `label`, as one undo step; false when nothing changed. */
  updateClass(label: number, change: Partial<SupportClass>): boolean;
  /**
   * Removes the class of `label` as one undo step: its pixels become background and the later
   * classes' labels move down by one in every mask. The last class cannot be removed.
   */
  removeClass(label: number): void;

  /** Adds a patch with its top-left corner at level-0 (x, y), all background, and selects it. */
  addPatch(
    origin: { readonly x: number; readonly y: number },
    options?: { readonly scale?: number; readonly id?: string; readonly select?: boolean },
  ): string;
  /** The top-left corner that centres a patch on level-0 (x, y), moved inside the slide. */
  originCentredAt(x: number, y: number, scale?: number): { x: number; y: number };
  /** The patch whose box contains level-0 (x, y), the most recently added first; for clicks. */
  patchAt(x: number, y: number): SupportSetPatch | undefined;
  deletePatch(id: string): boolean;
  select(id: string | null): void;

  /** Starts a stroke at `point` (patch pixels); it paints as it goes and is one undo step. */
  beginStroke(id: string, brush: Brush, point: Point): void;
  extendStroke(point: Point): void;
  /** Ends the stroke; true when it changed any pixel (and so became an undo step). */
  endStroke(): boolean;
  /** Ends the stroke putting back every pixel it painted. */
  cancelStroke(): void;
  readonly stroking: boolean;
  /** A whole stroke at once. */
  paintStroke(id: string, brush: Brush, points: readonly Point[]): boolean;
  /** Sets every pixel inside the polygon (patch pixel coordinates) to `label` (of class `classLabel`, default 1). */
  fillPolygon(id: string, rings: Rings, label: SupportLabel, classLabel?: number): boolean;
  /** Sets every pixel of the patch to background. */
  clearPatch(id: string): boolean;
  /**
   * Paints the whole patch with `labels` (patchSize² label values; copied), the head's prediction
   * of it, as one undo step ('prefill'), and keeps them as the patch's `prefill` baseline. Undoing
   * it puts back the labels from before (the empty patch, as placed) and forgets the baseline; the
   * placement is the step before. Refused (false, nothing changes) while a stroke is being painted
   * on this patch: the caller drops a fill the user has started to paint over.
   */
  prefillPatch(id: string, labels: Uint8Array): boolean;
  /** How many of the patch's pixels differ from its pre-fill; undefined when it has none. */
  changes(id: string): PatchChanges | undefined;
  /**
   * Replaces all patches by these (copied), as one undo step: how an imported file comes in.
   * Each must fit this set's slide and patch size. `label` names the undo step (default 'import');
   * `classes`, when given, replace the class list in the same step (an imported file's).
   */
  replacePatches(
    patches: readonly SupportSetPatch[],
    options?: { readonly label?: string; readonly classes?: readonly SupportClass[] },
  ): void;

  undo(): boolean;
  redo(): boolean;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  readonly undoLabel: string | undefined;
  readonly redoLabel: string | undefined;
  /** Bytes the undo history holds. */
  readonly historyBytes: number;
}

export interface SupportSetOptions {
  readonly slide: SlideIdentity;
  readonly extractorMpp: number;
  /** Default 256 (docs/ARCHITECTURE.md#few-shot-adaptation). */
  readonly patchSize?: number;
  /** Level-0 pixels per patch pixel; default extractorMpp / slide.mpp (required when the slide has no mpp). */
  readonly scale?: number;
  readonly history?: UndoLimits;
  /** Initial content (e.g. restored after a reload), not undoable. Copied. */
  readonly patches?: readonly SupportSetPatch[];
  /** The classes (support-classes.ts); default one, DEFAULT_SUPPORT_CLASS. Copied. */
  readonly classes?: readonly SupportClass[];
}

export const DEFAULT_PATCH_SIZE = 256;

/** Why a placement is impossible, or null when the patch lies inside the slide. */
export function placementProblem(
  slide: SlideIdentity,
  patchSize: number,
  x: number,
  y: number,
  scale: number,
): string | null {
  if (!Number.isFinite(x) || !Number.isFinite(y)) return `position (${x}, ${y}) is not a pair of finite numbers`;
  if (!(scale > 0 && Number.isFinite(scale))) return `scale ${scale} is not a positive number`;
  const side = patchSize * scale;
  // Sub-pixel slack: positions computed from a centre and a fractional scale round.
  const slack = 1e-6 * Math.max(slide.width, slide.height);
  if (x < -slack || y < -slack || x + side > slide.width + slack || y + side > slide.height + slack) {
    return `a patch of ${side}×${side} level-0 pixels at (${x}, ${y}) leaves the ${slide.width}×${slide.height} slide`;
  }
  return null;
}

export function checkSlideIdentity(slide: SlideIdentity): void {
  if (typeof slide?.name !== 'string') throw new TypeError('slide.name must be a string');
  if (!(Number.isInteger(slide.width) && slide.width > 0 && Number.isInteger(slide.height) && slide.height > 0)) {
    throw new RangeError(`slide size ${slide.width}×${slide.height} must be positive integers`);
  }
  if (slide.mpp !== undefined && !(slide.mpp > 0 && Number.isFinite(slide.mpp)))
    throw new RangeError(`slide mpp ${slide.mpp} must be a positive number`);
}

/** Level-0 coordinates of a point given in a patch's pixel coordinates. */
export function patchToLevel0(
  patch: Pick<SupportSetPatch, 'x' | 'y' | 'scale'>,
  px: number,
  py: number,
): [number, number] {
  return [patch.x + px * patch.scale, patch.y + py * patch.scale];
}

/** A patch's pixel coordinates of a level-0 point (outside [0, patchSize) when it is off the patch). */
export function level0ToPatch(
  patch: Pick<SupportSetPatch, 'x' | 'y' | 'scale'>,
  x: number,
  y: number,
): [number, number] {
  return [(x - patch.x) / patch.scale, (y - patch.y) / patch.scale];
}

interface PatchRecord {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly scale: number;
  readonly mask: Uint8Array;
  prefill?: Uint8Array;
}

interface Stroke {
  readonly patch: PatchRecord;
  readonly value: number;
  readonly size: number;
  readonly recorder: RowRecorder;
  last: Point;
}

/** A step that says which patch it concerns, so undoing it can show that patch. */
type Step = UndoStep & { readonly focus: string | null };

export function createSupportSet(options: SupportSetOptions): SupportSetStore {
  const { slide, extractorMpp } = options;
  checkSlideIdentity(slide);
  if (!(extractorMpp > 0 && Number.isFinite(extractorMpp)))
    throw new RangeError(`extractorMpp ${extractorMpp} must be a positive number`);
  const patchSize = options.patchSize ?? DEFAULT_PATCH_SIZE;
  if (!(Number.isInteger(patchSize) && patchSize >= 1))
    throw new RangeError(`patchSize ${patchSize} must be a positive integer`);
  const defaultScale = options.scale ?? (slide.mpp ? extractorMpp / slide.mpp : NaN);
  if (!(defaultScale > 0 && Number.isFinite(defaultScale))) {
    throw new RangeError(
      `no scale: slide ${slide.name} has no microns per pixel, so the level-0 pixels per patch pixel must be ` +
        `given (got ${options.scale})`,
    );
  }

  const history = createUndoStack<Step>(options.history ?? DEFAULT_UNDO_LIMITS);
  const events = new Emitter<SupportSetEvents>();
  let patches: PatchRecord[] = [];
  let selectedId: string | null = null;
  let revision = 0;
  let stroke: Stroke | null = null;
  let counter = 0;
  const maskBytes = patchSize * patchSize;
  let classes: SupportClass[] = copyClasses(options.classes ?? [DEFAULT_SUPPORT_CLASS]);
  checkSupportClasses(classes);
  /** Whether `v` is a label of this set's classes (0, 1…n, 255). */
  const isLabel = (v: number, count = classes.length) => v === LABEL_IGNORE || v <= count;

  const emit = (change: SupportSetChange) => {
    if (change.type !== 'select') revision++;
    events.emit('change', change);
  };
  const find = (id: string) => patches.find((p) => p.id === id);
  const need = (id: string) => {
    const p = find(id);
    if (!p) throw new RangeError(`no support patch with id ${JSON.stringify(id)}`);
    return p;
  };
  const newId = () => {
    let id: string;
    do id = `p${++counter}`;
    while (find(id));
    return id;
  };
  const setSelected = (id: string | null) => {
    if (id === selectedId) return;
    selectedId = id;
    emit({ type: 'select', id });
  };
  const copyPatch = (p: SupportSetPatch, count: number): PatchRecord => {
    const problem = placementProblem(slide, patchSize, p.x, p.y, p.scale);
    if (problem) throw new RangeError(`support patch ${p.id}: ${problem}`);
    if (!(p.mask instanceof Uint8Array) || p.mask.length !== maskBytes)
      throw new RangeError(`support patch ${p.id}: its mask must be ${patchSize}×${patchSize} bytes`);
    for (const v of p.mask) {
      if (!isLabel(v, count)) throw new RangeError(`support patch ${p.id}: mask value ${v} is not a label`);
    }
    return { id: p.id, x: p.x, y: p.y, scale: p.scale, mask: p.mask.slice() };
  };
  const copyAll = (list: readonly SupportSetPatch[], count = classes.length): PatchRecord[] => {
    const ids = new Set<string>();
    return list.map((p) => {
      if (typeof p.id !== 'string' || p.id === '')
        throw new RangeError('a support patch id must be a non-empty string');
      if (ids.has(p.id)) throw new RangeError(`two support patches share the id ${JSON.stringify(p.id)}`);
      ids.add(p.id);
      return copyPatch(p, count);
    });
  };
  const checkPoint = (point: Point) => {
    if (!Array.isArray(point) || !Number.isFinite(point[0]) || !Number.isFinite(point[1]))
      throw new RangeError(`stroke point ${JSON.stringify(point)} is not a pair of finite numbers`);
  };
  const labelValue = (label: SupportLabel, classLabel = LABEL_CLASS) => {
    const value = LABEL_VALUES[label];
    if (value === undefined)
      throw new RangeError(`label ${JSON.stringify(label)} is not one of background, class, ignore`);
    if (label !== 'class') return value;
    if (!(Number.isInteger(classLabel) && classLabel >= 1 && classLabel <= classes.length))
      throw new RangeError(`class label ${classLabel} is not one of the ${classes.length} classes (1…)`);
    return classLabel;
  };
  const needClass = (label: number) => {
    if (!(Number.isInteger(label) && label >= 1 && label <= classes.length))
      throw new RangeError(`no class with label ${label} (there are ${classes.length})`);
  };
  /** Sets the class list (and, with `masks`, every patch's mask) as one undo step. */
  const commitClasses = (next: SupportClass[], label: string, masks?: Uint8Array[]) => {
    const before = classes;
    const beforeMasks = masks ? patches.map((p) => p.mask.slice()) : undefined;
    const held = patches;
    const apply = (list: SupportClass[], m: Uint8Array[] | undefined) => {
      classes = list;
      if (m) held.forEach((p, i) => p.mask.set(m[i]));
      emit({ type: 'replace' });
    };
    apply(next, masks);
    history.push({
      label,
      bytes: 256 + (masks ? 2 * masks.length * maskBytes : 0),
      focus: null,
      undo: () => apply(before, beforeMasks),
      redo: () => apply(next, masks),
    });
  };

  /** Records a mask edit as an undo step (when it changed anything) and announces it. */
  const commitMaskEdit = (patch: PatchRecord, diff: MaskRowDiff | null, label: string): boolean => {
    if (!diff) return false;
    const rows = diffRowRange(diff);
    history.push({
      label,
      bytes: diff.bytes,
      focus: patch.id,
      undo: () => {
        applyRowDiff(patch.mask, patchSize, diff, 'before');
        emit({ type: 'mask', id: patch.id, rows });
      },
      redo: () => {
        applyRowDiff(patch.mask, patchSize, diff, 'after');
        emit({ type: 'mask', id: patch.id, rows });
      },
    });
    return true;
  };

  const paintSegment = (s: Stroke, from: Point | null, to: Point) => {
    let first = Infinity;
    let last = -Infinity;
    strokeSegmentSpans(patchSize, patchSize, from, to, s.size, (row, x0, x1) => {
      s.recorder.touch(row);
      s.patch.mask.fill(s.value, row * patchSize + x0, row * patchSize + x1 + 1);
      first = Math.min(first, row);
      last = Math.max(last, row);
    });
    s.last = to;
    if (first <= last) emit({ type: 'mask', id: s.patch.id, rows: [first, last] });
  };

  const finishStroke = (): boolean => {
    const s = stroke;
    if (!s) return false;
    stroke = null;
    return commitMaskEdit(s.patch, s.recorder.finish(), 'paint');
  };

  const afterHistoryMove = (step: Step) => {
    const focus = step.focus;
    if (focus !== null && find(focus)) setSelected(focus);
    else if (selectedId !== null && !find(selectedId)) setSelected(null);
  };

  if (options.patches) patches = copyAll(options.patches);

  const store: SupportSetStore = withEvents(events, {
    slide,
    extractorMpp,
    patchSize,
    defaultScale,
    get patches() {
      return patches;
    },
    patch: find,
    get selectedId() {
      return selectedId;
    },
    get revision() {
      return revision;
    },
    state() {
      return { slide, extractorMpp, patchSize, patches: [...patches], classes: copyClasses(classes) };
    },
    get classes() {
      return classes;
    },

    addClass(c) {
      finishStroke();
      const next = [...classes, { name: c?.name, color: c?.color }];
      checkSupportClasses(next);
      commitClasses(next, 'add class');
      return next.length;
    },

    updateClass(label, change) {
      finishStroke();
      needClass(label);
      const old = classes[label - 1];
      const updated = { name: change.name ?? old.name, color: change.color ?? old.color };
      const problem = supportClassProblem(updated);
      if (problem) throw new RangeError(problem);
      if (updated.name === old.name && updated.color === old.color) return false;
      const next = classes.map((c, i) => (i === label - 1 ? updated : c));
      checkSupportClasses(next);
      commitClasses(next, 'edit class');
      return true;
    },

    removeClass(label) {
      finishStroke();
      needClass(label);
      if (classes.length === 1) throw new RangeError('the last class cannot be removed');
      const next = classes.filter((_, i) => i !== label - 1);
      commitClasses(
        next,
        'remove class',
        patches.map((p) => maskWithoutClass(p.mask, label)),
      );
    },

    addPatch(origin, addOptions = {}) {
      finishStroke();
      const scale = addOptions.scale ?? defaultScale;
      const problem = placementProblem(slide, patchSize, origin.x, origin.y, scale);
      if (problem) throw new RangeError(problem);
      const id = addOptions.id ?? newId();
      if (typeof id !== 'string' || id === '' || find(id))
        throw new RangeError(`patch id ${JSON.stringify(id)} is empty or already in use`);
      const patch: PatchRecord = { id, x: origin.x, y: origin.y, scale, mask: new Uint8Array(maskBytes) };
      const index = patches.length;
      const insert = (restored: boolean) => {
        patches = [...patches.slice(0, index), patch, ...patches.slice(index)];
        emit(restored ? { type: 'add', id, restored } : { type: 'add', id });
      };
      const remove = () => {
        patches = patches.filter((p) => p !== patch);
        emit({ type: 'remove', id });
      };
      insert(false);
      history.push({
        label: 'add patch',
        bytes: maskBytes + 64,
        focus: id,
        undo: remove,
        redo: () => insert(true),
      });
      if (addOptions.select ?? true) setSelected(id);
      return id;
    },

    originCentredAt(x, y, scale = defaultScale) {
      const side = patchSize * scale;
      if (side > slide.width || side > slide.height) {
        throw new RangeError(
          `a patch of ${side}×${side} level-0 pixels does not fit on the ${slide.width}×${slide.height} slide`,
        );
      }
      // Whole level-0 pixels: a patch then reads from the slide without resampling at level 0.
      return {
        x: Math.min(Math.max(Math.round(x - side / 2), 0), Math.floor(slide.width - side)),
        y: Math.min(Math.max(Math.round(y - side / 2), 0), Math.floor(slide.height - side)),
      };
    },

    patchAt(x, y) {
      for (let i = patches.length - 1; i >= 0; i--) {
        const p = patches[i];
        const side = patchSize * p.scale;
        if (x >= p.x && x < p.x + side && y >= p.y && y < p.y + side) return p;
      }
      return undefined;
    },

    deletePatch(id) {
      finishStroke();
      const patch = find(id);
      if (!patch) return false;
      const index = patches.indexOf(patch);
      const remove = () => {
        patches = patches.filter((p) => p !== patch);
        emit({ type: 'remove', id });
      };
      const insert = () => {
        patches = [...patches.slice(0, index), patch, ...patches.slice(index)];
        emit({ type: 'add', id, restored: true });
      };
      remove();
      history.push({ label: 'delete patch', bytes: maskBytes + 64, focus: null, undo: insert, redo: remove });
      if (selectedId === id) setSelected(null);
      return true;
    },

    select(id) {
      if (id !== null) need(id);
      setSelected(id);
    },

    beginStroke(id, brush, point) {
      finishStroke();
      const patch = need(id);
      if (!(brush.size > 0 && Number.isFinite(brush.size)))
        throw new RangeError(`brush size ${brush.size} must be a positive number of patch pixels`);
      checkPoint(point);
      const value = labelValue(brush.label, brush.classLabel);
      stroke = { patch, value, size: brush.size, recorder: recordRows(patch.mask, patchSize, patchSize), last: point };
      paintSegment(stroke, null, point);
    },

    extendStroke(point) {
      if (!stroke) throw new Error('extendStroke without beginStroke');
      checkPoint(point);
      paintSegment(stroke, stroke.last, point);
    },

    endStroke: finishStroke,

    cancelStroke() {
      const s = stroke;
      if (!s) return;
      stroke = null;
      const diff = s.recorder.finish();
      if (!diff) return;
      applyRowDiff(s.patch.mask, patchSize, diff, 'before');
      emit({ type: 'mask', id: s.patch.id, rows: diffRowRange(diff) });
    },

    get stroking() {
      return stroke !== null;
    },

    paintStroke(id, brush, points) {
      if (points.length === 0) throw new RangeError('a stroke needs at least one point');
      store.beginStroke(id, brush, points[0]);
      for (let i = 1; i < points.length; i++) store.extendStroke(points[i]);
      return finishStroke();
    },

    fillPolygon(id, rings, label, classLabel) {
      finishStroke();
      const patch = need(id);
      const value = labelValue(label, classLabel);
      const recorder = recordRows(patch.mask, patchSize, patchSize);
      recorder.touchAll();
      rasterisePolygon(patch.mask, patchSize, patchSize, rings, value);
      const diff = recorder.finish();
      if (diff) emit({ type: 'mask', id, rows: diffRowRange(diff) });
      return commitMaskEdit(patch, diff, 'fill polygon');
    },

    clearPatch(id) {
      finishStroke();
      const patch = need(id);
      const recorder = recordRows(patch.mask, patchSize, patchSize);
      recorder.touchAll();
      patch.mask.fill(LABEL_BACKGROUND);
      const diff = recorder.finish();
      if (diff) emit({ type: 'mask', id, rows: diffRowRange(diff) });
      return commitMaskEdit(patch, diff, 'clear patch');
    },

    prefillPatch(id, labels) {
      const patch = need(id);
      if (!(labels instanceof Uint8Array) || labels.length !== maskBytes)
        throw new RangeError(`a pre-fill of patch ${id} must be ${patchSize}×${patchSize} labels`);
      for (const v of labels) {
        if (!isLabel(v)) throw new RangeError(`pre-fill value ${v} is not a label`);
      }
      // A stroke going on elsewhere goes on (ending it would cut the user's gesture); one on this
      // patch means the user is painting it already.
      if (stroke?.patch === patch) return false;
      const fill = labels.slice();
      const before = patch.prefill;
      const recorder = recordRows(patch.mask, patchSize, patchSize);
      recorder.touchAll();
      patch.mask.set(fill);
      const diff = recorder.finish();
      patch.prefill = fill;
      const all: [number, number] = [0, patchSize - 1];
      // Always a step, even when the prediction equals the patch (all background): the baseline
      // it sets is undone with it.
      const apply = (side: 'before' | 'after') => {
        if (diff) applyRowDiff(patch.mask, patchSize, diff, side);
        patch.prefill = side === 'after' ? fill : before;
        emit({ type: 'mask', id, rows: diff ? diffRowRange(diff) : all });
      };
      emit({ type: 'mask', id, rows: diff ? diffRowRange(diff) : all });
      history.push({
        label: 'prefill',
        bytes: (diff?.bytes ?? 0) + maskBytes,
        focus: id,
        undo: () => apply('before'),
        redo: () => apply('after'),
      });
      return true;
    },

    changes(id) {
      const patch = need(id);
      return patch.prefill ? patchChanges(patch.prefill, patch.mask) : undefined;
    },

    replacePatches(list, replaceOptions = {}) {
      finishStroke();
      const nextClasses = replaceOptions.classes ? copyClasses(replaceOptions.classes) : classes;
      checkSupportClasses(nextClasses);
      const incoming = copyAll(list, nextClasses.length);
      const outgoing = patches;
      const outgoingClasses = classes;
      const apply =
        (next: PatchRecord[], list: SupportClass[] = classes) =>
        () => {
          patches = next;
          classes = list;
          emit({ type: 'replace' });
        };
      apply(incoming, nextClasses)();
      const held = (n: readonly PatchRecord[]) => n.length * (maskBytes + 64);
      history.push({
        label: replaceOptions.label ?? 'import',
        bytes: held(incoming) + held(outgoing),
        focus: null,
        undo: apply(outgoing, outgoingClasses),
        redo: apply(incoming, nextClasses),
      });
      setSelected(null);
    },

    undo() {
      finishStroke();
      const step = history.undo();
      if (step) afterHistoryMove(step);
      return step !== undefined;
    },

    redo() {
      finishStroke();
      const step = history.redo();
      if (step) afterHistoryMove(step);
      return step !== undefined;
    },

    get canUndo() {
      return history.canUndo || stroke !== null;
    },
    get canRedo() {
      return history.canRedo && stroke === null;
    },
    get undoLabel() {
      return stroke ? 'paint' : history.undoLabel;
    },
    get redoLabel() {
      return stroke ? undefined : history.redoLabel;
    },
    get historyBytes() {
      return history.bytes;
    },
  });
  return store;
}
