import { rasterisePolygon, type PolygonRing } from '../cells/polygon-raster.js';
import { briefValue } from '../json/brief-value.js';
import { readBoundedJson } from '../json/bounded-json.js';
import type { Rect } from '../math/rect.js';
import {
  LABEL_BACKGROUND,
  LABEL_CLASS,
  LABEL_IGNORE,
  type SupportSetPatch,
  type SupportSetStore,
} from './support-set.js';

/**
 * QuPath's objects brought in as support-set labels: a user who already outlined cells or regions
 * in QuPath paints support patches from them instead of by hand.
 *
 * Reading follows what QuPath itself reads (qupath-core, PathObjectTypeAdapters/QuPathTypeAdapters,
 * v0.4–0.7): a FeatureCollection, a single Feature, or an array of Features; each Feature's
 * `geometry` in level-0 pixel coordinates (x right, y down, the full-resolution image's own);
 * `properties.objectType` ('annotation', 'detection', 'cell', 'tile'; missing means annotation,
 * as in QuPath; older files say `object_type`, or keep the type in the id); an optional
 * `properties.classification` `{ name | names, color }`; children under `properties.childObjects`
 * when QuPath exported the hierarchy. Areas come from Polygon and MultiPolygon (holes respected)
 * and the polygons of a GeometryCollection; points and lines have no area and are counted and left out.
 *
 * Unlike QuPath, a classification without a colour is accepted: the colour only paints QuPath's
 * overlay, and refusing a file for it would help nobody here.
 */

export type QuPathImportErrorCode =
  | 'not-json'
  | 'too-deep'
  | 'not-geojson'
  | 'bad-feature'
  | 'bad-geometry'
  | 'bad-classification'
  | 'too-large'
  | 'unknown-class'
  | 'no-patches'
  | 'bad-option';

/** Messages stay short enough for a status line, whatever a file holds (a name may be megabytes). */
export const MAX_MESSAGE_LENGTH = 300;

export class QuPathImportError extends Error {
  readonly code: QuPathImportErrorCode;

  constructor(code: QuPathImportErrorCode, message: string, options?: { cause?: unknown }) {
    const text = `QuPath GeoJSON: ${message}`;
    super(text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text, options);
    this.name = 'QuPathImportError';
    this.code = code;
  }
}

/** Objects (features, children included) a file may hold: QuPath's cell detections of a whole slide. */
export const MAX_OBJECTS = 2_000_000;
/** Vertices over all objects: bounds the memory the polygons take. */
export const MAX_VERTICES = 40_000_000;

/** One polygon: its outer ring, then its holes; level-0 pixel coordinates. */
export type QuPathPolygon = readonly PolygonRing[];

export interface QuPathObject {
  /** The feature's id (QuPath writes a UUID), when it has one. */
  readonly id?: string;
  /** 'annotation', 'detection', 'cell', 'tile', or what else the file says. */
  readonly objectType: string;
  /** The classification's name (a derived class's names joined by ': ', as QuPath shows them); null: unclassified. */
  readonly className: string | null;
  readonly color?: readonly [number, number, number];
  /** Non-empty; a MultiPolygon is several. */
  readonly polygons: readonly QuPathPolygon[];
  /** Level-0 box of every vertex. */
  readonly bounds: Rect;
}

export interface QuPathClass {
  readonly name: string;
  /** The first colour the file gives the class, if any. */
  readonly color?: readonly [number, number, number];
  /** Its objects that have an area. */
  readonly count: number;
}

/** A QuPath GeoJSON file read and checked: what it holds with an area, and what was left out. */
export interface QuPathAnnotations {
  readonly kind: 'qupath-annotations';
  /** With an area, in file order (children after their parent). */
  readonly objects: readonly QuPathObject[];
  /** Every class of those objects, in the order first seen. */
  readonly classes: readonly QuPathClass[];
  /** Objects with an area but no classification. */
  readonly unclassified: number;
  /** Points, lines and empty geometries. */
  readonly withoutArea: number;
  /** TMA cores and root objects: not outlines of anything a patch shows. */
  readonly notOutlines: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as a message shows it: short, whatever it is. */
const show = (v: unknown): string => briefValue(v);

/**
 * Deepest JSON nesting read: each level of QuPath's object hierarchy takes three (childObjects'
 * array, the Feature, its properties), and this reader walks it without recursion, so the bound
 * is far above the shared one: ~300 levels of annotations inside annotations.
 */
export const MAX_GEOJSON_DEPTH = 1000;

const LEGACY_TYPES: Readonly<Record<string, string>> = {
  PathAnnotationObject: 'annotation',
  PathDetectionObject: 'detection',
  PathCellObject: 'cell',
  PathTileObject: 'tile',
  TMACoreObject: 'tmaCore',
  PathRootObject: 'root',
};
const NOT_OUTLINES = new Set(['tmaCore', 'tma_core', 'root']);

/** A Java int colour (QuPath's packed RGB, alpha in the top byte, so often negative) as [r, g, b]. */
function unpackRgb(value: number): [number, number, number] {
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

function readColor(value: unknown, where: string): [number, number, number] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 0xffffffff) return unpackRgb(value);
  if (Array.isArray(value) && value.length === 3 && value.every((c) => Number.isInteger(c) && c >= 0 && c <= 255))
    return [value[0], value[1], value[2]];
  throw new QuPathImportError(
    'bad-classification',
    `${where} is ${show(value)}; a colour is [r, g, b] of integers 0…255 or a packed RGB integer`,
  );
}

function readClassification(value: unknown, where: string): { name: string | null; color?: [number, number, number] } {
  if (value === undefined || value === null) return { name: null };
  if (!isRecord(value))
    throw new QuPathImportError('bad-classification', `${where} is ${show(value)}; it must be an object with a name`);
  let name: string;
  if (typeof value.name === 'string' && value.name !== '') name = value.name;
  else if (Array.isArray(value.names) && value.names.length > 0 && value.names.every((n) => typeof n === 'string'))
    name = value.names.join(': ');
  else
    throw new QuPathImportError(
      'bad-classification',
      `${where} has name ${show(value.name)}; a classification names its class (name, or names for a derived class)`,
    );
  // v0.4+ writes `color` ([r, g, b]); v0.2–0.3 wrote `colorRGB` (a packed integer).
  const color = readColor(value.color ?? value.colorRGB, `${where}.color`);
  return color ? { name, color } : { name };
}

interface Budget {
  vertices: number;
}

function readRing(value: unknown, where: string, budget: Budget): PolygonRing {
  if (!Array.isArray(value) || value.length < 3)
    throw new QuPathImportError(
      'bad-geometry',
      `${where} is ${show(value)}; a ring is an array of at least 3 positions`,
    );
  for (let i = 0; i < value.length; i++) {
    const p: unknown = value[i];
    if (!Array.isArray(p) || p.length < 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1]))
      throw new QuPathImportError(
        'bad-geometry',
        `${where}[${i}] is ${show(p)}; a position is [x, y] of finite numbers`,
      );
  }
  budget.vertices += value.length;
  if (budget.vertices > MAX_VERTICES)
    throw new QuPathImportError('too-large', `the file has more than ${MAX_VERTICES} vertices`);
  // Positions are [x, y] (a z after them is ignored); the closing repeat QuPath writes is
  // harmless to the even-odd fill (a zero-length edge crosses no row).
  return value as PolygonRing;
}

function readPolygon(value: unknown, where: string, budget: Budget): QuPathPolygon | null {
  if (!Array.isArray(value))
    throw new QuPathImportError('bad-geometry', `${where} is ${show(value)}; a polygon is an array of rings`);
  if (value.length === 0) return null; // an empty polygon, as JTS writes one
  return value.map((ring, r) => readRing(ring, `${where}[${r}]`, budget));
}

/** The polygons of a geometry (empty for points and lines), or throws on what is not GeoJSON. */
function readGeometry(value: unknown, where: string, budget: Budget, depth = 0): QuPathPolygon[] {
  if (!isRecord(value))
    throw new QuPathImportError('bad-geometry', `${where} is ${show(value)}; every feature needs a geometry object`);
  const coordinates = value.coordinates;
  switch (value.type) {
    case 'Polygon': {
      const polygon = readPolygon(coordinates, `${where}.coordinates`, budget);
      return polygon ? [polygon] : [];
    }
    case 'MultiPolygon': {
      if (!Array.isArray(coordinates))
        throw new QuPathImportError(
          'bad-geometry',
          `${where}.coordinates is ${show(coordinates)}; a MultiPolygon's is an array of polygons`,
        );
      const out: QuPathPolygon[] = [];
      coordinates.forEach((p, k) => {
        const polygon = readPolygon(p, `${where}.coordinates[${k}]`, budget);
        if (polygon) out.push(polygon);
      });
      return out;
    }
    case 'GeometryCollection': {
      if (!Array.isArray(value.geometries) || depth > 16)
        throw new QuPathImportError(
          'bad-geometry',
          `${where}.geometries is ${show(value.geometries)}; a GeometryCollection's is an array of geometries`,
        );
      return value.geometries.flatMap((g, k) => readGeometry(g, `${where}.geometries[${k}]`, budget, depth + 1));
    }
    case 'Point':
    case 'MultiPoint':
    case 'LineString':
    case 'MultiLineString':
      if (!Array.isArray(coordinates))
        throw new QuPathImportError(
          'bad-geometry',
          `${where}.coordinates is ${show(coordinates)}; it must be an array`,
        );
      return [];
    default:
      throw new QuPathImportError(
        'bad-geometry',
        `${where}.type is ${show(value.type)}; expected a GeoJSON geometry (Polygon, MultiPolygon, Point, …)`,
      );
  }
}

function boundsOf(polygons: readonly QuPathPolygon[]): Rect {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const polygon of polygons)
    for (const ring of polygon)
      for (const [x, y] of ring) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * Reads a QuPath GeoJSON file (its text, or the parsed JSON) and checks all of it before anything
 * is used: a malformed file is refused whole, with a QuPathImportError naming its first defect.
 */
export function parseQuPathGeoJson(input: unknown): QuPathAnnotations {
  // Parsed input is not walked for its depth: this reader never recurses but into geometries (16
  // levels at most), and a whole slide's cells are tens of millions of arrays.
  const read = typeof input === 'string' ? readBoundedJson(input, MAX_GEOJSON_DEPTH) : { value: input };
  if (read.problem) {
    const code = read.problem.kind === 'too-deep' ? 'too-deep' : 'not-json';
    throw new QuPathImportError(
      code,
      code === 'too-deep' ? read.problem.message : `not JSON (${read.problem.message})`,
    );
  }
  const json = read.value;
  let features: unknown[];
  if (Array.isArray(json)) features = json;
  else if (isRecord(json) && json.type === 'FeatureCollection') {
    if (!Array.isArray(json.features))
      throw new QuPathImportError(
        'not-geojson',
        `a FeatureCollection's features is ${show(json.features)}, not an array`,
      );
    features = json.features;
  } else if (isRecord(json) && json.type === 'Feature') features = [json];
  else
    throw new QuPathImportError(
      'not-geojson',
      'expected a FeatureCollection, a Feature or an array of Features; ' +
        `got ${isRecord(json) ? `type ${show(json.type)}` : show(json)}`,
    );

  const objects: QuPathObject[] = [];
  const classes = new Map<string, { name: string; color?: [number, number, number]; count: number }>();
  const budget: Budget = { vertices: 0 };
  let unclassified = 0;
  let withoutArea = 0;
  let notOutlines = 0;
  let seen = 0;
  // Depth first, children right after their parent, without recursion (a hierarchy may be deep).
  const stack: { value: unknown; where: string }[] = [];
  for (let i = features.length - 1; i >= 0; i--) stack.push({ value: features[i], where: `features[${i}]` });
  while (stack.length > 0) {
    const { value: feature, where } = stack.pop()!;
    if (++seen > MAX_OBJECTS) throw new QuPathImportError('too-large', `the file has more than ${MAX_OBJECTS} objects`);
    if (!isRecord(feature) || feature.type !== 'Feature')
      throw new QuPathImportError(
        'bad-feature',
        `${where} is not a Feature (${isRecord(feature) ? `type ${show(feature.type)}` : show(feature)})`,
      );
    const properties = feature.properties ?? {};
    if (!isRecord(properties))
      throw new QuPathImportError('bad-feature', `${where}.properties is ${show(properties)}; it must be an object`);
    const id = typeof feature.id === 'string' || typeof feature.id === 'number' ? String(feature.id) : undefined;
    const typed = properties.objectType ?? properties.object_type ?? properties.type;
    if (typed !== undefined && typeof typed !== 'string')
      throw new QuPathImportError(
        'bad-feature',
        `${where}.properties.objectType is ${show(typed)}; it must be a string`,
      );
    const rawType = typed ?? (id !== undefined && id in LEGACY_TYPES ? id : 'annotation');
    const objectType = LEGACY_TYPES[rawType] ?? rawType;
    const children = properties.childObjects ?? properties.children;
    if (children !== undefined) {
      if (!Array.isArray(children))
        throw new QuPathImportError(
          'bad-feature',
          `${where}.properties.childObjects is ${show(children)}; not an array`,
        );
      for (let k = children.length - 1; k >= 0; k--)
        stack.push({ value: children[k], where: `${where}.properties.childObjects[${k}]` });
    }
    const { name, color } = readClassification(properties.classification, `${where}.properties.classification`);
    const polygons = readGeometry(feature.geometry, `${where}.geometry`, budget);
    if (NOT_OUTLINES.has(objectType)) {
      notOutlines++;
      continue;
    }
    if (polygons.length === 0) {
      withoutArea++;
      continue;
    }
    objects.push({
      ...(id !== undefined && !(id in LEGACY_TYPES) ? { id } : {}),
      objectType,
      className: name,
      ...(color ? { color } : {}),
      polygons,
      bounds: boundsOf(polygons),
    });
    if (name === null) unclassified++;
    else {
      const entry = classes.get(name);
      if (entry) {
        entry.count++;
        if (!entry.color && color) entry.color = color;
      } else classes.set(name, { name, ...(color ? { color } : {}), count: 1 });
    }
  }
  return {
    kind: 'qupath-annotations',
    objects,
    classes: [...classes.values()],
    unclassified,
    withoutArea,
    notOutlines,
  };
}

export interface QuPathImportOptions {
  /** The QuPath class that is the new class: pixels inside its objects become class (1). */
  readonly className: string;
  /**
   * What pixels inside the other classes' objects become: 'background' (default) — another class's
   * cell is exactly what the new class must be told apart from, as every other nucleus is
   * background in a support mask drawn by hand — or 'ignore', when the other classes are regions
   * drawn loosely around cells of every kind.
   */
  readonly others?: 'background' | 'ignore';
  /**
   * Also place a patch centred on each polygon of the class whose centre (of its box) no patch
   * covers, before painting; new patches start all background, like hand-placed ones. Polygons,
   * not objects: one MultiPolygon annotation may outline cells far apart. Default false: only the
   * existing patches are painted.
   */
  readonly placePatches?: boolean;
  /** At most this many new patches; default 32 (a support set is a few patches, not a slide's cells). */
  readonly maxNewPatches?: number;
}

export interface QuPathImportReport {
  readonly className: string;
  /** Objects of the class in the file, and of other classes. */
  readonly classObjects: number;
  readonly otherObjects: number;
  /** Left alone: an unclassified outline says nothing about which class its pixels are. */
  readonly unclassifiedObjects: number;
  readonly patchesPlaced: number;
  /** Patches whose labels changed. */
  readonly patchesChanged: number;
  /** Polygons of the class whose centre lies in no patch, after placing. */
  readonly classPolygonsWithoutPatch: number;
  /** Patch pixels now labelled class from the class's objects, and labelled from the others'. */
  readonly classPixels: number;
  readonly otherPixels: number;
  /** Patch pixels whose label changed. */
  readonly changedPixels: number;
}

const DEFAULT_MAX_NEW_PATCHES = 32;
const UNDO_LABEL = 'import QuPath annotations';

/** The object's polygons in a patch's pixel coordinates. */
function inPatch(polygon: QuPathPolygon, patch: Pick<SupportSetPatch, 'x' | 'y' | 'scale'>): PolygonRing[] {
  const { x, y, scale } = patch;
  return polygon.map((ring) => ring.map(([px, py]) => [(px - x) / scale, (py - y) / scale] as const));
}

const centre = (b: Rect): [number, number] => [b.x + b.width / 2, b.y + b.height / 2];

function covers(patch: Pick<SupportSetPatch, 'x' | 'y' | 'scale'>, side: number, x: number, y: number): boolean {
  return x >= patch.x && x < patch.x + side && y >= patch.y && y < patch.y + side;
}

/**
 * Paints the store's support patches from QuPath's objects, as ONE undo step: for each patch,
 * pixels (by their centre) inside the chosen class's polygons become class, pixels inside the
 * other classes' polygons background (or ignore, `others`), every other pixel keeps its label.
 * Where a pixel is inside both, the class wins: a QuPath project often has cells of the class
 * inside a larger region of another class, and the cell is the more specific statement.
 * Unclassified objects are left out. With `placePatches`, patches are first added centred on the
 * class's polygons that no patch covers.
 *
 * Everything is checked before the store changes: a malformed file, an unknown class or options
 * that cannot apply throw a QuPathImportError and leave the store as it was.
 */
export function importQuPathAnnotations(
  store: SupportSetStore,
  input: unknown,
  options: QuPathImportOptions,
): QuPathImportReport {
  const file = isRecord(input) && input.kind === 'qupath-annotations' ? (input as unknown as QuPathAnnotations) : null;
  const parsed = file ?? parseQuPathGeoJson(input);
  const { className, others = 'background', placePatches = false, maxNewPatches = DEFAULT_MAX_NEW_PATCHES } = options;
  if (others !== 'background' && others !== 'ignore')
    throw new QuPathImportError('bad-option', `others is ${show(others)}; it is 'background' or 'ignore'`);
  if (!Number.isInteger(maxNewPatches) || maxNewPatches < 0)
    throw new QuPathImportError('bad-option', `maxNewPatches is ${show(maxNewPatches)}; it is an integer ≥ 0`);
  if (typeof className !== 'string' || !parsed.classes.some((c) => c.name === className)) {
    const known = parsed.classes.map((c) => briefValue(c.name)).join(', ');
    throw new QuPathImportError(
      'unknown-class',
      `no object is classified ${show(className)}; ` +
        (known ? `the file's classes are ${known}` : 'the file has no classified objects with an area'),
    );
  }
  if (store.patches.length === 0 && !placePatches)
    throw new QuPathImportError(
      'no-patches',
      'the support set has no patches to paint: add patches first, or ask to place patches on the annotations',
    );

  const size = store.patchSize;
  const classObjects = parsed.objects.filter((o) => o.className === className);
  const otherObjects = parsed.objects.filter((o) => o.className !== null && o.className !== className);
  const classCentres = classObjects.flatMap((o) => o.polygons.map((polygon) => centre(boundsOf([polygon]))));
  const patches: SupportSetPatch[] = store.patches.map((p) => ({ ...p }));
  let placed = 0;
  if (placePatches) {
    const used = new Set(patches.map((p) => p.id));
    let counter = 0;
    for (const [cx, cy] of classCentres) {
      if (placed >= maxNewPatches) break;
      if (patches.some((p) => covers(p, size * p.scale, cx, cy))) continue;
      const origin = store.originCentredAt(cx, cy);
      let id: string;
      do id = `qupath-${++counter}`;
      while (used.has(id));
      used.add(id);
      patches.push({ id, x: origin.x, y: origin.y, scale: store.defaultScale, mask: new Uint8Array(size * size) });
      placed++;
    }
  }
  const withoutPatch = classCentres.filter(
    ([cx, cy]) => !patches.some((p) => covers(p, size * p.scale, cx, cy)),
  ).length;

  // Per patch, which objects' regions each pixel is in: 1 class, 2 other class (class painted
  // last, so it wins), 0 neither; then the labels follow from it.
  const OTHER = 2;
  const otherValue = others === 'ignore' ? LABEL_IGNORE : LABEL_BACKGROUND;
  const region = new Uint8Array(size * size);
  let classPixels = 0;
  let otherPixels = 0;
  let changedPixels = 0;
  let patchesChanged = 0;
  const next = patches.map((p): SupportSetPatch => {
    const side = size * p.scale;
    const touches = (o: QuPathObject) =>
      o.bounds.x < p.x + side &&
      o.bounds.x + o.bounds.width >= p.x &&
      o.bounds.y < p.y + side &&
      o.bounds.y + o.bounds.height >= p.y;
    region.fill(0);
    let any = false;
    for (const [list, value] of [
      [otherObjects, OTHER],
      [classObjects, 1],
    ] as const) {
      for (const o of list) {
        if (!touches(o)) continue;
        any = true;
        for (const polygon of o.polygons) rasterisePolygon(region, size, size, inPatch(polygon, p), value);
      }
    }
    if (!any) return p;
    const mask = p.mask.slice();
    let changed = 0;
    for (let i = 0; i < mask.length; i++) {
      const r = region[i];
      if (r === 0) continue;
      const label = r === 1 ? LABEL_CLASS : otherValue;
      if (r === 1) classPixels++;
      else otherPixels++;
      if (mask[i] !== label) {
        mask[i] = label;
        changed++;
      }
    }
    if (changed === 0) return p;
    changedPixels += changed;
    patchesChanged++;
    return { ...p, mask };
  });

  if (placed > 0 || changedPixels > 0) store.replacePatches(next, { label: UNDO_LABEL });
  return {
    className,
    classObjects: classObjects.length,
    otherObjects: otherObjects.length,
    unclassifiedObjects: parsed.unclassified,
    patchesPlaced: placed,
    patchesChanged,
    classPolygonsWithoutPatch: withoutPatch,
    classPixels,
    otherPixels,
    changedPixels,
  };
}
