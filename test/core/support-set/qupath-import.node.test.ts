import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { cellContours } from '../../../core/cells/cell-contours.js';
import { cellsToGeoJson } from '../../../core/cells/geojson-export.js';
import { textOfFile } from '../../../core/cells/gzip.js';
import { maskPlacement } from '../../../core/cells/mask-placement.js';
import {
  importQuPathAnnotations,
  MAX_MESSAGE_LENGTH,
  parseQuPathGeoJson,
  QuPathImportError,
  type QuPathImportErrorCode,
} from '../../../core/support-set/qupath-import.js';
import {
  createSupportSet,
  LABEL_BACKGROUND,
  LABEL_CLASS,
  LABEL_IGNORE,
  type SupportSetPatch,
  type SupportSetStore,
} from '../../../core/support-set/support-set.js';

// A QuPath GeoJSON written by hand in QuPath's own format (as File › Export objects writes it:
// Gson's pretty printing, UUID ids, objectType, classification { name, color }, isLocked,
// measurements as an object): Tumor annotations (a polygon with a hole, a MultiPolygon whose
// second polygon has a hole, one far from every patch, a MultiPoint), a Stroma annotation that
// overlaps a Tumor one, a Lymphocyte detection, and an unclassified region around everything.
const FILE = 'test/fixtures/qupath/tumor-stroma.geojson';
const TEXT = readFileSync(FILE, 'utf8');

// 0.5 µm/px slide, 0.25 µm/px extractors: a patch pixel is half a level-0 pixel.
const SLIDE = { name: 'case-17.svs', width: 5000, height: 4000, mpp: 0.5 };

type Ring = [number, number][];
type Polygon = Ring[];
interface Feature {
  geometry: { type: string; coordinates: unknown };
  properties: { classification?: { name: string } };
}

/** Polygons of a GeoJSON geometry, straight from the parsed file (not through the importer). */
function polygonsOf(geometry: Feature['geometry']): Polygon[] {
  if (geometry.type === 'Polygon') return [geometry.coordinates as Polygon];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates as Polygon[];
  return [];
}

/** Even-odd point-in-polygon over all rings, by counting edge crossings of a ray to +x. */
function inside(polygon: Polygon, x: number, y: number): boolean {
  let odd = false;
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > y !== yj > y && x < xi + ((y - yi) * (xj - xi)) / (yj - yi)) odd = !odd;
    }
  }
  return odd;
}

/**
 * What the import must make of a patch, computed independently: each pixel's centre in level-0
 * coordinates tested against every polygon of the file; class wins over other classes, which
 * become `otherLabel`; unclassified polygons and pixels in no polygon keep their label.
 */
function expectedMask(
  patch: SupportSetPatch,
  size: number,
  features: Feature[],
  className: string,
  otherLabel = LABEL_BACKGROUND,
): Uint8Array {
  const classPolygons: Polygon[] = [];
  const otherPolygons: Polygon[] = [];
  for (const f of features) {
    const name = f.properties.classification?.name;
    if (name === undefined) continue;
    (name === className ? classPolygons : otherPolygons).push(...polygonsOf(f.geometry));
  }
  const out = patch.mask.slice();
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const x = patch.x + (i + 0.5) * patch.scale;
      const y = patch.y + (j + 0.5) * patch.scale;
      if (classPolygons.some((p) => inside(p, x, y))) out[j * size + i] = LABEL_CLASS;
      else if (otherPolygons.some((p) => inside(p, x, y))) out[j * size + i] = otherLabel;
    }
  }
  return out;
}

/** A store with three patches already painted by hand (ignore stripe, class stroke), at two scales. */
function storeWithPatches(): SupportSetStore {
  const s = createSupportSet({ slide: SLIDE, extractorMpp: 0.25 });
  const a = s.addPatch({ x: 1000, y: 1000 });
  s.fillPolygon(
    a,
    [
      [
        [0, 200],
        [256, 200],
        [256, 256],
        [0, 256],
      ],
    ],
    'ignore',
  );
  s.paintStroke(a, { label: 'class', size: 9 }, [
    [10, 240],
    [250, 150],
  ]);
  s.addPatch({ x: 2000, y: 1500 }, { scale: 1.5 });
  s.addPatch({ x: 3000, y: 3000 });
  return s;
}

const snapshot = (s: SupportSetStore) => ({
  patches: s.patches.map((p) => ({ id: p.id, x: p.x, y: p.y, scale: p.scale, mask: p.mask.slice() })),
  undoLabel: s.undoLabel,
  canRedo: s.canRedo,
  revision: s.revision,
});

const count = (mask: Uint8Array, value: number) => mask.reduce((n, v) => n + (v === value ? 1 : 0), 0);

test('the QuPath file reads as QuPath reads it: classes, object types, holes, what has no area', () => {
  const file = parseQuPathGeoJson(TEXT);
  assert.deepEqual(
    file.classes.map((c) => [c.name, c.color, c.count]),
    [
      ['Tumor', [200, 0, 0], 3],
      ['Stroma', [150, 200, 150], 1],
      ['Lymphocyte', [160, 90, 160], 1],
    ],
  );
  assert.equal(file.objects.length, 6);
  assert.equal(file.unclassified, 1, 'the region around everything');
  assert.equal(file.withoutArea, 1, 'the MultiPoint');
  assert.deepEqual(
    file.objects.map((o) => o.objectType),
    ['annotation', 'annotation', 'annotation', 'detection', 'annotation', 'annotation'],
  );
  assert.equal(file.objects[0].id, '2f3a3c1e-8d0b-4a51-9a61-0d6f1c9b7e01');
  assert.equal(file.objects[0].polygons[0].length, 2, 'outer ring and hole');
  assert.equal(file.objects[2].polygons.length, 2, 'a MultiPolygon is two polygons');
  assert.deepEqual(file.objects[0].bounds, { x: 1010.1, y: 1010.3, width: 1090.7 - 1010.1, height: 1095.9 - 1010.3 });

  // The other shapes QuPath accepts: one Feature, a bare array, children of an exported hierarchy.
  const json = JSON.parse(TEXT);
  assert.equal(parseQuPathGeoJson(json.features[0]).objects.length, 1);
  assert.equal(parseQuPathGeoJson(json.features).objects.length, 6);
  const parent = { ...json.features[4], properties: { ...json.features[4].properties, childObjects: json.features } };
  assert.equal(parseQuPathGeoJson({ type: 'FeatureCollection', features: [parent] }).objects.length, 7);
  // Older files: v0.2's type in the id and packed colorRGB; a derived class's names; no colour.
  const old = parseQuPathGeoJson([
    {
      type: 'Feature',
      id: 'PathDetectionObject',
      geometry: json.features[0].geometry,
      properties: { classification: { name: 'Tumor', colorRGB: -3670016 } },
    },
    { ...json.features[1], properties: { classification: { names: ['Tumor', 'Positive'], color: [1, 2, 3] } } },
    { ...json.features[1], properties: { classification: { name: 'Necrosis' } } },
  ]);
  assert.deepEqual(
    old.objects.map((o) => [o.objectType, o.className, o.color]),
    [
      ['detection', 'Tumor', [200, 0, 0]],
      ['annotation', 'Tumor: Positive', [1, 2, 3]],
      ['annotation', 'Necrosis', undefined],
    ],
  );
});

test('import paints each patch as a pixel-centre test of the polygons says, holes and MultiPolygons included', () => {
  const s = storeWithPatches();
  const before = snapshot(s);
  const features = JSON.parse(TEXT).features as Feature[];
  const expected = before.patches.map((p) => expectedMask(p as SupportSetPatch, 256, features, 'Tumor'));
  const changes: string[] = [];
  s.addEventListener('change', (e) => e.detail.type !== 'select' && changes.push(e.detail.type));

  const report = importQuPathAnnotations(s, TEXT, { className: 'Tumor' });

  s.patches.forEach((p, k) => assert.deepEqual(p.mask, expected[k], `patch ${p.id} as the independent raster`));
  const [a, b, c] = s.patches;
  assert.deepEqual(c.mask, before.patches[2].mask, 'a patch no polygon touches is as it was');
  // Spot checks that the test polygons do what they are there for (patch A: level-0 = 1000 + px / 2).
  const at = (p: SupportSetPatch, x0: number, y0: number) =>
    p.mask[Math.floor((y0 - p.y) / p.scale) * 256 + Math.floor((x0 - p.x) / p.scale)];
  assert.equal(at(a, 1020, 1020), LABEL_CLASS, 'inside the Tumor polygon');
  assert.equal(at(a, 1045, 1045), LABEL_BACKGROUND, 'its hole keeps its label (background here)');
  assert.equal(at(a, 1080, 1070), LABEL_CLASS, 'Tumor over Stroma: the class wins');
  assert.equal(at(a, 1110, 1110), LABEL_BACKGROUND, 'Stroma only: background');
  assert.equal(at(a, 1110, 1020), LABEL_CLASS, 'first polygon of the MultiPolygon');
  assert.equal(at(a, 1005, 1124), LABEL_IGNORE, 'outside every classified polygon: the hand-painted label stays');
  assert.equal(at(b, 2150, 1580), LABEL_CLASS, 'second polygon of the MultiPolygon');
  assert.equal(at(b, 2150, 1640), LABEL_BACKGROUND, 'its hole');
  assert.equal(at(b, 2325, 1825), LABEL_BACKGROUND, 'the Lymphocyte detection: background');
  assert.ok(count(b.mask, LABEL_CLASS) > 10_000, 'a large area of patch B painted');

  assert.deepEqual(changes, ['replace'], 'one change of content');
  assert.equal(s.undoLabel, 'import QuPath annotations');
  assert.deepEqual(
    [report.classObjects, report.otherObjects, report.unclassifiedObjects, report.patchesPlaced],
    [3, 2, 1, 0],
  );
  assert.equal(report.patchesChanged, 2);
  assert.equal(report.classPolygonsWithoutPatch, 1, 'the Tumor triangle far from every patch');
  const changed = s.patches.reduce((n, p, k) => n + p.mask.filter((v, i) => v !== before.patches[k].mask[i]).length, 0);
  assert.equal(report.changedPixels, changed);
  // Pixels each kind of polygon covers: the raster of a patch whose labels are all 7 (no label).
  const covered = before.patches.map((p) =>
    expectedMask({ ...(p as SupportSetPatch), mask: new Uint8Array(256 * 256).fill(7) }, 256, features, 'Tumor'),
  );
  assert.equal(
    report.classPixels,
    covered.reduce((n, m) => n + count(m, LABEL_CLASS), 0),
  );
  assert.equal(
    report.otherPixels,
    covered.reduce((n, m) => n + count(m, LABEL_BACKGROUND), 0),
  );

  // One undo step undoes all of it; redo brings it back.
  assert.ok(s.undo());
  assert.deepEqual(snapshot(s).patches, before.patches);
  assert.equal(s.undoLabel, before.undoLabel);
  assert.ok(s.redo());
  s.patches.forEach((p, k) => assert.deepEqual(p.mask, expected[k]));
});

test('other classes can be ignored instead; the painted masks still match the independent raster', () => {
  const s = storeWithPatches();
  const features = JSON.parse(TEXT).features as Feature[];
  const expected = s.patches.map((p) => expectedMask(p, 256, features, 'Stroma', LABEL_IGNORE));
  const report = importQuPathAnnotations(s, parseQuPathGeoJson(TEXT), { className: 'Stroma', others: 'ignore' });
  s.patches.forEach((p, k) => assert.deepEqual(p.mask, expected[k]));
  assert.equal(report.classObjects, 1);
  assert.equal(s.patches[0].mask[Math.floor((1020 - 1000) / 0.5) * 256 + 40], LABEL_IGNORE, 'Tumor: ignored');
});

test('asked to, it places patches centred on the polygons no patch covers — in the same single undo step', () => {
  const s = storeWithPatches();
  const before = snapshot(s);
  const report = importQuPathAnnotations(s, TEXT, { className: 'Tumor', placePatches: true });
  assert.equal(report.patchesPlaced, 1);
  assert.equal(report.classPolygonsWithoutPatch, 0);
  assert.equal(s.patches.length, 4);
  const placed = s.patches[3];
  // Centre of the far triangle's box (4020.5, 520.55), whole level-0 pixels, patch side 128.
  assert.deepEqual([placed.x, placed.y, placed.scale], [Math.round(4020.5 - 64), Math.round(520.55 - 64), 0.5]);
  const features = JSON.parse(TEXT).features as Feature[];
  const blank = { ...placed, mask: new Uint8Array(256 * 256) };
  assert.deepEqual(placed.mask, expectedMask(blank, 256, features, 'Tumor'), 'a new patch: background + the triangle');
  assert.ok(count(placed.mask, LABEL_CLASS) > 1000);
  assert.ok(s.undo());
  assert.deepEqual(snapshot(s).patches, before.patches, 'one undo removes the new patch and the paint');

  // Into an empty set, at most maxNewPatches.
  const empty = createSupportSet({ slide: SLIDE, extractorMpp: 0.25 });
  const capped = importQuPathAnnotations(empty, TEXT, { className: 'Tumor', placePatches: true, maxNewPatches: 2 });
  assert.equal(empty.patches.length, 2);
  // The first patch, on the holed polygon, also covers the centre of the MultiPolygon's first
  // polygon next to it; the second goes on its second polygon; the far triangle is left.
  assert.equal(capped.classPolygonsWithoutPatch, 1, 'four Tumor polygons, two patches');
  assert.equal(capped.patchesPlaced, 2);
});

test('a malformed file, an unknown class or no patch to paint is refused, the message short, nothing changed', () => {
  const json = JSON.parse(TEXT);
  const withFeature = (f: unknown) => JSON.stringify({ type: 'FeatureCollection', features: [...json.features, f] });
  const polygon = json.features[0].geometry;
  const huge = 'x'.repeat(100_000);
  const cases: [string, unknown, QuPathImportErrorCode, RegExp][] = [
    ['not JSON', '{"type": "FeatureCollection", ', 'not-json', /not JSON/],
    ['a Topology', { type: 'Topology' }, 'not-geojson', /expected a FeatureCollection, a Feature or an array/],
    ['features not an array', { type: 'FeatureCollection', features: {} }, 'not-geojson', /not an array/],
    ['a geometry as a feature', [polygon], 'bad-feature', /features\[0\] is not a Feature/],
    [
      'no geometry',
      withFeature({ type: 'Feature', properties: {} }),
      'bad-geometry',
      /features\[7\]\.geometry is missing/,
    ],
    [
      'a text coordinate',
      withFeature({
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 'a'],
              [2, 2],
            ],
          ],
        },
      }),
      'bad-geometry',
      /coordinates\[0\]\[1\] is \[1,"a"\]/,
    ],
    [
      'a two-position ring',
      withFeature({
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 1],
            ],
          ],
        },
      }),
      'bad-geometry',
      /at least 3 positions/,
    ],
    [
      'a circle',
      withFeature({ type: 'Feature', geometry: { type: 'Circle', coordinates: [0, 0] } }),
      'bad-geometry',
      /"Circle"/,
    ],
    [
      'a classification as text',
      withFeature({ type: 'Feature', geometry: polygon, properties: { classification: 'Tumor' } }),
      'bad-classification',
      /must be an object with a name/,
    ],
    [
      'a nameless classification',
      withFeature({ type: 'Feature', geometry: polygon, properties: { classification: { color: [1, 2, 3] } } }),
      'bad-classification',
      /names its class/,
    ],
    [
      'a colour out of range, on a huge name',
      withFeature({
        type: 'Feature',
        geometry: polygon,
        properties: { classification: { name: huge, color: [300, 0, 0] } },
      }),
      'bad-classification',
      /a colour is \[r, g, b\]/,
    ],
    [
      'a numeric objectType',
      withFeature({ type: 'Feature', geometry: polygon, properties: { objectType: 5 } }),
      'bad-feature',
      /objectType is 5/,
    ],
    ['an unknown class', TEXT, 'unknown-class', /no object is classified "Necrosis"; the file's classes are "Tumor"/],
  ];
  for (const [what, input, code, message] of cases) {
    const s = storeWithPatches();
    const before = snapshot(s);
    const className = what === 'an unknown class' ? 'Necrosis' : 'Tumor';
    assert.throws(
      () => importQuPathAnnotations(s, input, { className }),
      (err: unknown) => {
        assert.ok(err instanceof QuPathImportError, `${what}: ${err}`);
        assert.equal(err.code, code, `${what}: ${err.message}`);
        assert.match(err.message, message, what);
        assert.ok(err.message.length <= MAX_MESSAGE_LENGTH, `${what}: a ${err.message.length}-character message`);
        return true;
      },
    );
    assert.deepEqual(snapshot(s), before, `${what}: the store is untouched`);
  }
  const empty = createSupportSet({ slide: SLIDE, extractorMpp: 0.25 });
  assert.throws(() => importQuPathAnnotations(empty, TEXT, { className: 'Tumor' }), { code: 'no-patches' });
  assert.equal(empty.revision, 0);
  assert.throws(
    () => importQuPathAnnotations(storeWithPatches(), TEXT, { className: 'Tumor', others: 'erase' as 'ignore' }),
    { code: 'bad-option' },
  );
});

test('a file that paints nothing new makes no undo step', () => {
  const s = storeWithPatches();
  importQuPathAnnotations(s, TEXT, { className: 'Tumor' });
  const revision = s.revision;
  const again = importQuPathAnnotations(s, TEXT, { className: 'Tumor' });
  assert.equal(again.changedPixels, 0);
  assert.equal(s.revision, revision);
  assert.ok(s.undo());
  assert.equal(s.undoLabel, 'add patch', 'only the first import was a step');
});

/** A mask of cells at the extractors' scale: discs, one ring-shaped (a hole), one touching the edge. */
function cellMask(width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  const discs: [number, number, number, number][] = [
    [40, 40, 14, 0],
    [120, 60, 20, 8],
    [200, 180, 25, 0],
    [60, 200, 9, 0],
    [255, 100, 18, 0],
    [150, 140, 6, 0],
  ];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (const [cx, cy, r, hole] of discs) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (d < r && d >= hole) mask[y * width + x] = 1;
      }
  return mask;
}

test('round trip: our GeoJSON export imported back paints exactly the exported cells', async () => {
  // The mask lies at the grid's scale (0.5 level-0 px per pixel) from level-0 (1000, 1000), as
  // the session exports a mosaic; the patches lie on the same pixel grid, one of them shifted.
  const W = 320;
  const H = 288;
  const mask = cellMask(W, H);
  const placement = maskPlacement(1000, 1000, 0.5);
  const options = { placement, classification: { name: 'New class' }, mpp: { x: 0.5, y: 0.5 } };
  const patchAt = (s: SupportSetStore) => {
    s.addPatch({ x: 1000, y: 1000 });
    s.addPatch({ x: 1032, y: 1016 }); // 64 and 32 mask pixels in
  };
  const crop = (p: SupportSetPatch) =>
    Uint8Array.from({ length: 256 * 256 }, (_, i) => {
      const x = (p.x - 1000) / 0.5 + (i % 256);
      const y = (p.y - 1000) / 0.5 + Math.floor(i / 256);
      return x < W && y < H ? mask[y * W + x] : 0;
    });

  // Exact outlines (tolerance 0): the painted masks are the cells' pixels themselves.
  const exact = JSON.stringify(cellsToGeoJson(cellContours(mask, W, H, { tolerance: 0 }), options));
  const s = createSupportSet({ slide: SLIDE, extractorMpp: 0.25 });
  patchAt(s);
  importQuPathAnnotations(s, exact, { className: 'New class' });
  for (const p of s.patches) assert.deepEqual(p.mask, crop(p), `patch ${p.id}: the cells' pixels`);

  // The default (simplified) outlines, through .geojson.gz as a user would save it: the painted
  // masks are the pixel-centre raster of the polygons written, and still nearly the cells.
  const simplified = cellsToGeoJson(cellContours(mask, W, H), options);
  const text = await textOfFile(gzipSync(JSON.stringify(simplified)));
  const t = createSupportSet({ slide: SLIDE, extractorMpp: 0.25 });
  patchAt(t);
  const before = t.patches.map((p) => ({ ...p, mask: p.mask.slice() }));
  const report = importQuPathAnnotations(t, text, { className: 'New class' });
  assert.equal(report.classObjects, simplified.features.length);
  const features = JSON.parse(text).features as Feature[];
  t.patches.forEach((p, k) => {
    assert.deepEqual(p.mask, expectedMask(before[k], 256, features, 'New class'), `patch ${p.id}: the raster`);
    const truth = crop(p);
    let differ = 0;
    for (let i = 0; i < truth.length; i++) if (truth[i] !== p.mask[i]) differ++;
    assert.ok(differ < 0.05 * count(truth, 1), `${differ} pixels differ from the cells (${count(truth, 1)})`);
  });
});
