import { briefValue } from '../json/brief-value.js';
import { readBoundedJson } from '../json/bounded-json.js';
import { decodeRunLength, encodeRunLength } from './mask-run-length.js';
import {
  checkSupportClasses,
  copyClasses,
  DEFAULT_SUPPORT_CLASS,
  labelsOf,
  type SupportClass,
} from './support-classes.js';
import {
  placementProblem,
  type SlideIdentity,
  type SupportSetPatch,
  type SupportSetState,
  type SupportSetStore,
} from './support-set.js';
import { SupportSetFileError } from './support-set-file-error.js';

/**
 * The support set as a versioned JSON file, for export/import and for the browser's automatic
 * save:
 *
 *   { "format": "openseadragon-fewshot/support-set", "version": 2,
 *     "slide": { "name", "width", "height", "mpp"? },      level-0 size, µm per level-0 pixel
 *     "extractorMpp": 0.25, "patchSize": 256,
 *     "classes": [ { "name", "color" } ],                   label k is classes[k − 1]
 *     "patches": [ { "id", "x", "y", "scale", "mask" } ] }  level-0 top-left, level-0 px per patch px
 *
 * `mask` is patchSize² labels (0 background, k the k-th class, 255 ignore), row-major, run-length
 * encoded and base64'd (mask-run-length.ts). Version 1 had no `classes` (labels 0, 1, 255): it
 * reads as one class, `legacyClass` (default DEFAULT_SUPPORT_CLASS, the session's defaults).
 * Reading checks everything before anything is used, so a bad file is refused whole, with a
 * message naming its first defect.
 */
export const SUPPORT_SET_FORMAT = 'openseadragon-fewshot/support-set';
export const SUPPORT_SET_VERSION = 2;
/** The versions this reader knows: 1 (one class, no `classes`) and 2. */
export const SUPPORT_SET_VERSIONS: readonly number[] = [1, 2];

export interface SupportSetPatchJson {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly scale: number;
  readonly mask: string;
}

export interface SupportSetJson {
  readonly format: typeof SUPPORT_SET_FORMAT;
  readonly version: typeof SUPPORT_SET_VERSION;
  readonly slide: SlideIdentity;
  readonly extractorMpp: number;
  readonly patchSize: number;
  readonly classes: readonly SupportClass[];
  readonly patches: readonly SupportSetPatchJson[];
}

/** What the file must fit to be used here; each part is checked when given. */
export interface SupportSetExpectation {
  readonly slide?: SlideIdentity;
  readonly extractorMpp?: number;
  readonly patchSize?: number;
  /** The one class a version-1 file (from before classes) is read as; default DEFAULT_SUPPORT_CLASS. */
  readonly legacyClass?: SupportClass;
}

/** Patch edges above this are refused: a file must not make the reader allocate without bound. */
export const MAX_PATCH_SIZE = 2048;
/** Mask pixels over all patches: 4096 patches of 256². */
export const MAX_TOTAL_PIXELS = 4096 * 256 * 256;

export function serializeSupportSet(state: SupportSetState): SupportSetJson {
  const { name, width, height, mpp } = state.slide;
  return {
    format: SUPPORT_SET_FORMAT,
    version: SUPPORT_SET_VERSION,
    slide: mpp === undefined ? { name, width, height } : { name, width, height, mpp },
    extractorMpp: state.extractorMpp,
    patchSize: state.patchSize,
    classes: copyClasses(state.classes ?? [DEFAULT_SUPPORT_CLASS]),
    patches: state.patches.map((p) => ({ id: p.id, x: p.x, y: p.y, scale: p.scale, mask: encodeRunLength(p.mask) })),
  };
}

/** The file's text. */
export function supportSetToText(state: SupportSetState): string {
  return JSON.stringify(serializeSupportSet(state));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => briefValue(v);

function positive(value: unknown, path: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw new SupportSetFileError('bad-field', `${path} is ${show(value)}; it must be a positive number`);
  return value;
}

function positiveInteger(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new SupportSetFileError('bad-field', `${path} is ${show(value)}; it must be a positive integer`);
  return value;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new SupportSetFileError('bad-field', `${path} is ${show(value)}; it must be a finite number`);
  return value;
}

/**
 * The last segment of a URL or path, without query or fragment: the same slide opened from a
 * server or as a local file keeps its file name but not its URL.
 */
export function slideBaseName(name: string): string {
  const path = name.replace(/[?#].*$/, '');
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  try {
    return decodeURIComponent(base);
  } catch {
    return base;
  }
}

function sameRatio(a: number, b: number, tolerance: number): boolean {
  return Math.abs(a - b) <= tolerance * Math.max(a, b);
}

function describeSlide(s: SlideIdentity): string {
  return (
    `${briefValue(slideBaseName(s.name))} ` + `(${s.width}×${s.height}${s.mpp === undefined ? '' : `, ${s.mpp} µm/px`})`
  );
}

/**
 * Reads a support set file (text or parsed JSON), checking all of it and, with `expect`, that it
 * belongs to this slide and these extractors. Throws a SupportSetFileError naming the problem.
 */
export function parseSupportSet(input: unknown, expect: SupportSetExpectation = {}): SupportSetState {
  const read = readBoundedJson(input);
  if (read.problem) {
    const code = read.problem.kind === 'too-deep' ? 'too-deep' : 'not-json';
    throw new SupportSetFileError(
      code,
      code === 'too-deep' ? read.problem.message : `not JSON (${read.problem.message})`,
    );
  }
  const json = read.value;
  if (!isRecord(json)) throw new SupportSetFileError('bad-field', 'a support set file must be a JSON object');
  if (json.format !== SUPPORT_SET_FORMAT)
    throw new SupportSetFileError('wrong-format', `format is ${show(json.format)}, expected "${SUPPORT_SET_FORMAT}"`);
  if (typeof json.version !== 'number' || !SUPPORT_SET_VERSIONS.includes(json.version)) {
    throw new SupportSetFileError(
      'unsupported-version',
      `version ${show(json.version)} is not supported (this reader knows versions ${SUPPORT_SET_VERSIONS.join(', ')})`,
    );
  }
  let classes: SupportClass[];
  if (json.version === 1) classes = copyClasses([expect.legacyClass ?? DEFAULT_SUPPORT_CLASS]);
  else {
    if (!Array.isArray(json.classes)) throw new SupportSetFileError('bad-field', 'classes must be an array');
    try {
      checkSupportClasses(json.classes as SupportClass[]);
    } catch (err) {
      throw new SupportSetFileError('bad-field', `classes: ${(err as Error).message}`);
    }
    classes = copyClasses(json.classes as SupportClass[]);
  }
  const allowed = labelsOf(classes.length);

  if (!isRecord(json.slide))
    throw new SupportSetFileError('bad-field', 'slide must be an object with name, width and height');
  if (typeof json.slide.name !== 'string')
    throw new SupportSetFileError('bad-field', `slide.name is ${show(json.slide.name)}; it must be a string`);
  const slide: SlideIdentity = {
    name: json.slide.name,
    width: positiveInteger(json.slide.width, 'slide.width'),
    height: positiveInteger(json.slide.height, 'slide.height'),
    ...(json.slide.mpp === undefined ? {} : { mpp: positive(json.slide.mpp, 'slide.mpp') }),
  };
  const extractorMpp = positive(json.extractorMpp, 'extractorMpp');
  const patchSize = positiveInteger(json.patchSize, 'patchSize');
  if (patchSize > MAX_PATCH_SIZE)
    throw new SupportSetFileError('too-large', `patchSize is ${patchSize}; at most ${MAX_PATCH_SIZE} is accepted`);

  if (expect.slide) {
    const here = expect.slide;
    const differs =
      slide.width !== here.width ||
      slide.height !== here.height ||
      slideBaseName(slide.name) !== slideBaseName(here.name) ||
      (slide.mpp !== undefined && here.mpp !== undefined && !sameRatio(slide.mpp, here.mpp, 0.01));
    if (differs)
      throw new SupportSetFileError(
        'wrong-slide',
        `it was made on slide ${describeSlide(slide)}, not on the open slide ${describeSlide(here)}`,
      );
  }
  if (expect.extractorMpp !== undefined && !sameRatio(extractorMpp, expect.extractorMpp, 1e-6)) {
    throw new SupportSetFileError(
      'wrong-resolution',
      `its patches are cut for extractors at ${extractorMpp} µm/px; the extractors in use work at ` +
        `${expect.extractorMpp} µm/px`,
    );
  }
  if (expect.patchSize !== undefined && patchSize !== expect.patchSize) {
    throw new SupportSetFileError(
      'wrong-resolution',
      `its patches are ${patchSize}×${patchSize}; here they are ${expect.patchSize}×${expect.patchSize}`,
    );
  }

  if (!Array.isArray(json.patches)) throw new SupportSetFileError('bad-field', 'patches must be an array');
  if (json.patches.length * patchSize * patchSize > MAX_TOTAL_PIXELS) {
    throw new SupportSetFileError(
      'too-large',
      `${json.patches.length} patches of ${patchSize}×${patchSize} exceed the ${MAX_TOTAL_PIXELS} mask pixels accepted`,
    );
  }
  const ids = new Set<string>();
  const patches = json.patches.map((entry: unknown, k: number): SupportSetPatch => {
    const where = `patches[${k}]`;
    if (!isRecord(entry))
      throw new SupportSetFileError('bad-field', `${where} must be an object with id, x, y, scale and mask`);
    if (typeof entry.id !== 'string' || entry.id === '')
      throw new SupportSetFileError('bad-field', `${where}.id is ${show(entry.id)}; it must be a non-empty string`);
    if (ids.has(entry.id))
      throw new SupportSetFileError(
        'duplicate-id',
        `${where}.id ${briefValue(entry.id)} is used by an earlier patch too`,
      );
    ids.add(entry.id);
    const x = finite(entry.x, `${where}.x`);
    const y = finite(entry.y, `${where}.y`);
    const scale = positive(entry.scale, `${where}.scale`);
    const problem = placementProblem(slide, patchSize, x, y, scale);
    if (problem) throw new SupportSetFileError('outside-slide', `${where}: ${problem}`);
    let mask: Uint8Array;
    try {
      mask = decodeRunLength(entry.mask as string, patchSize * patchSize, allowed);
    } catch (err) {
      throw new SupportSetFileError('bad-mask', `${where}.mask ${(err as Error).message}`, { cause: err });
    }
    return { id: entry.id, x, y, scale, mask };
  });
  return { slide, extractorMpp, patchSize, patches, classes };
}

/**
 * Replaces the store's patches by the file's, as one undoable step, after checking that the file
 * is whole and belongs to the store's slide, extractors and patch size. On any problem it throws
 * a SupportSetFileError and the store is untouched. Returns the number of patches read.
 */
export function importSupportSet(store: SupportSetStore, input: unknown): number {
  const state = parseSupportSet(input, {
    slide: store.slide,
    extractorMpp: store.extractorMpp,
    patchSize: store.patchSize,
    // A file from before classes is the store's first class (its name and colour kept).
    legacyClass: store.classes[0],
  });
  store.replacePatches(state.patches, { classes: state.classes });
  return state.patches.length;
}
