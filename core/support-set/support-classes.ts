/**
 * The new classes a support set is painted with (issue 15, several classes at once): each a name
 * (QuPath classification) and a display colour. A patch's mask holds label k for the k-th class
 * (1-based), 0 for background (unpainted) and 255 for ignored; one class is the product as it was
 * before classes existed (label 1 = "the class"), so a mask of one class is unchanged.
 */
export interface SupportClass {
  readonly name: string;
  /** A CSS colour, '#rrggbb' as the panel writes it. */
  readonly color: string;
}

/** The one class of a support set made without classes (and of a version-1 file): the session's defaults. */
export const DEFAULT_SUPPORT_CLASS: SupportClass = { name: 'New class', color: '#00e676' };

/** Label 255 is "ignored", so at most 254 classes fit a byte. */
export const MAX_SUPPORT_CLASSES = 254;
const MAX_TEXT = 200;

/** Why `c` is not a class (a message), or null. */
export function supportClassProblem(c: unknown): string | null {
  if (typeof c !== 'object' || c === null) return 'a class is an object with name and color';
  const { name, color } = c as Record<string, unknown>;
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_TEXT)
    return `class name ${JSON.stringify(name)} must be a non-empty string of at most ${MAX_TEXT} characters`;
  if (typeof color !== 'string' || color.trim() === '' || color.length > MAX_TEXT)
    return `class colour ${JSON.stringify(color)} must be a non-empty string`;
  return null;
}

/** Throws a RangeError unless `classes` is a usable class list: 1…254 classes, names distinct. */
export function checkSupportClasses(classes: readonly SupportClass[]): void {
  if (!Array.isArray(classes) || classes.length < 1 || classes.length > MAX_SUPPORT_CLASSES)
    throw new RangeError(`a support set has 1 to ${MAX_SUPPORT_CLASSES} classes`);
  const names = new Set<string>();
  for (const c of classes) {
    const problem = supportClassProblem(c);
    if (problem) throw new RangeError(problem);
    if (names.has(c.name)) throw new RangeError(`two classes are named ${JSON.stringify(c.name)}`);
    names.add(c.name);
  }
}

/** Copies of the classes (the store's own are never handed out for writing). */
export const copyClasses = (classes: readonly SupportClass[]): SupportClass[] =>
  classes.map((c) => ({ name: c.name, color: c.color }));

/** The labels a mask of `count` classes may hold: 0, 1…count, 255. */
export function labelsOf(count: number): number[] {
  return [0, ...Array.from({ length: count }, (_, k) => k + 1), 255];
}

/**
 * The mask after class `k` (1-based) is removed: its pixels become background, the labels of the
 * classes after it move down by one (so they keep naming the same classes). Returns a new array.
 */
export function maskWithoutClass(mask: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i];
    out[i] = v === 255 ? 255 : v === k ? 0 : v > k ? v - 1 : v;
  }
  return out;
}

/**
 * One-vs-rest labels for class `k` (1-based): its pixels 1, the other classes' 0 (they are
 * background to its head), background 0, ignored 255. Of a one-class mask it is the mask itself.
 */
export function oneVsRestMask(mask: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i];
    out[i] = v === 255 ? 255 : v === k ? 1 : 0;
  }
  return out;
}
