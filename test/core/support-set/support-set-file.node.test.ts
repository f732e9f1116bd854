import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  importSupportSet,
  parseSupportSet,
  serializeSupportSet,
  slideBaseName,
  SUPPORT_SET_FORMAT,
  supportSetToText,
} from '../../../core/support-set/support-set-file.js';
import { SupportSetFileError } from '../../../core/support-set/support-set-file-error.js';
import { encodeRunLength } from '../../../core/support-set/mask-run-length.js';
import { createSupportSet, type SupportSetStore } from '../../../core/support-set/support-set.js';

const slide = { name: 'https://example.org/slides/case-17.svs', width: 5000, height: 4000, mpp: 0.5 };

/** A set with every label, brush and polygon edits, on two patches at different scales. */
function painted(): SupportSetStore {
  const s = createSupportSet({ slide, extractorMpp: 0.25 });
  const a = s.addPatch({ x: 100, y: 200 });
  s.paintStroke(a, { label: 'class', size: 12 }, [
    [10, 10],
    [200, 40],
    [120, 240],
  ]);
  s.fillPolygon(
    a,
    [
      [
        [0, 100],
        [80, 100],
        [80, 256],
        [0, 256],
      ],
    ],
    'ignore',
  );
  s.paintStroke(a, { label: 'background', size: 5 }, [
    [0, 0],
    [255, 255],
  ]);
  const b = s.addPatch({ x: 4000.5, y: 3000.25 }, { scale: 1.5 });
  s.paintStroke(b, { label: 'ignore', size: 30 }, [[128, 128]]);
  return s;
}

const content = (patches: readonly { id: string; x: number; y: number; scale: number; mask: Uint8Array }[]) =>
  patches.map((p) => ({ id: p.id, x: p.x, y: p.y, scale: p.scale, mask: [...p.mask] }));

test('a support set survives serialise → JSON text → parse, compactly', () => {
  const s = painted();
  const text = supportSetToText(s.state());
  const json = JSON.parse(text);
  assert.equal(json.format, SUPPORT_SET_FORMAT);
  assert.equal(json.version, 2);
  assert.deepEqual(json.slide, slide);
  assert.deepEqual(json.classes, [{ name: 'New class', color: '#00e676' }]);
  const parsed = parseSupportSet(text, { slide, extractorMpp: 0.25, patchSize: 256 });
  assert.deepEqual(parsed.slide, slide);
  assert.equal(parsed.extractorMpp, 0.25);
  assert.equal(parsed.patchSize, 256);
  assert.deepEqual(content(parsed.patches), content(s.patches));
  assert.deepEqual(content(parseSupportSet(json).patches), content(s.patches), 'parsed JSON works as text does');
  assert.ok(text.length < 8000, `two painted 256² patches take ${text.length} characters, not 2 × 87 KiB of base64`);
  // A slide without mpp (DZI, IIIF) round-trips without one.
  const bare = createSupportSet({
    slide: { name: 'tiles.dzi', width: 900, height: 700 },
    extractorMpp: 0.25,
    scale: 1,
  });
  bare.addPatch({ x: 0, y: 0 });
  const bareJson = serializeSupportSet(bare.state());
  assert.equal('mpp' in bareJson.slide, false);
  assert.deepEqual(parseSupportSet(JSON.stringify(bareJson)).slide, { name: 'tiles.dzi', width: 900, height: 700 });
});

test('the same slide opened from another URL or as a local file is still the same slide', () => {
  assert.equal(slideBaseName('https://example.org/a/b/case-17.svs?sig=xyz#frag'), 'case-17.svs');
  assert.equal(slideBaseName('C:\\slides\\case-17.svs'), 'case-17.svs');
  assert.equal(slideBaseName('case%2017.svs'), 'case 17.svs');
  const text = supportSetToText(painted().state());
  assert.equal(parseSupportSet(text, { slide: { ...slide, name: 'case-17.svs' } }).patches.length, 2);
});

function refuses(
  // A malformed file is any JSON: the mutations reach into it freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  mutate: (json: any) => unknown,
  code: string,
  message: RegExp,
  expect = { slide, extractorMpp: 0.25, patchSize: 256 } as object,
) {
  const json = JSON.parse(supportSetToText(painted().state()));
  const replaced = mutate(json);
  const input = replaced === undefined ? json : replaced;
  assert.throws(
    () => parseSupportSet(input, expect),
    (err: unknown) => {
      assert.ok(err instanceof SupportSetFileError, `expected a SupportSetFileError, got ${err}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      assert.match(err.message, /^Support set file: /);
      return true;
    },
    `${code} ${message}`,
  );
}

test('malformed files are refused with a message that names the defect', () => {
  refuses(() => '{"format": ', 'not-json', /not JSON/);
  refuses(() => '', 'not-json', /not JSON/);
  refuses(() => [1, 2], 'bad-field', /must be a JSON object/);
  refuses(() => null, 'bad-field', /must be a JSON object/);
  refuses(
    (j) => void (j.format = 'openseadragon-fewshot/head'),
    'wrong-format',
    /format is "openseadragon-fewshot\/head"/,
  );
  refuses((j) => void delete j.format, 'wrong-format', /format is missing/);
  refuses((j) => void (j.version = 3), 'unsupported-version', /version 3 is not supported/);
  refuses((j) => void (j.version = '1'), 'unsupported-version', /version "1"/);
  refuses((j) => void delete j.slide, 'bad-field', /slide must be an object/);
  refuses((j) => void (j.slide.name = 7), 'bad-field', /slide.name is 7/);
  refuses((j) => void (j.slide.width = 0), 'bad-field', /slide.width is 0; it must be a positive integer/);
  refuses((j) => void (j.slide.height = 40.5), 'bad-field', /slide.height is 40.5/);
  refuses((j) => void (j.slide.mpp = -1), 'bad-field', /slide.mpp is -1/);
  refuses((j) => void (j.extractorMpp = 'fine'), 'bad-field', /extractorMpp is "fine"/);
  refuses((j) => void (j.patchSize = 0), 'bad-field', /patchSize is 0/);
  refuses((j) => void (j.patchSize = 1e6), 'too-large', /patchSize is 1000000/);
  refuses((j) => void (j.patches = {}), 'bad-field', /patches must be an array/);
  refuses((j) => void (j.patches = Array.from({ length: 5000 }, () => j.patches[0])), 'too-large', /5000 patches/);
  refuses((j) => void (j.patches[1] = 'p2'), 'bad-field', /patches\[1\] must be an object/);
  refuses((j) => void (j.patches[0].id = ''), 'bad-field', /patches\[0\].id is ""/);
  refuses(
    (j) => void (j.patches[1].id = j.patches[0].id),
    'duplicate-id',
    /patches\[1\].id "p1" is used by an earlier patch/,
  );
  refuses((j) => void (j.patches[0].x = null), 'bad-field', /patches\[0\].x is null/);
  refuses((j) => void delete j.patches[1].y, 'bad-field', /patches\[1\].y is missing/);
  refuses((j) => void (j.patches[0].scale = 0), 'bad-field', /patches\[0\].scale is 0/);
  refuses(
    (j) => void (j.patches[0].x = 4900),
    'outside-slide',
    /patches\[0\]: a patch of 128×128 level-0 pixels at \(4900, 200\) leaves the 5000×4000 slide/,
  );
  refuses((j) => void (j.patches[1].y = -3), 'outside-slide', /patches\[1\]/);
  refuses((j) => void (j.patches[0].mask = 12), 'bad-mask', /patches\[0\].mask is number/);
  refuses((j) => void (j.patches[0].mask = 'not base64!'), 'bad-mask', /not valid base64/);
  refuses(
    (j) => void (j.patches[0].mask = encodeRunLength(new Uint8Array(128 * 128))),
    'bad-mask',
    /covers 16384 pixels; the mask has 65536/,
  );
  refuses(
    (j) => void (j.patches[0].mask = encodeRunLength(new Uint8Array(65537))),
    'bad-mask',
    /past the 65536 pixels/,
  );
  refuses(
    (j) => void (j.patches[1].mask = encodeRunLength(new Uint8Array(65536).fill(2))),
    'bad-mask',
    /patches\[1\].mask holds the value 2 at pixel 0/,
  );
  refuses((j) => void (j.patches[0].mask = j.patches[0].mask.slice(0, -4)), 'bad-mask', /patches\[0\].mask/);
  refuses(
    (j) => void (j.slide.width = 6000),
    'wrong-slide',
    /made on slide "case-17.svs" \(6000×4000, 0.5 µm\/px\), not on the open slide "case-17.svs" \(5000×4000/,
  );
  refuses((j) => void (j.slide.name = 'other.svs'), 'wrong-slide', /"other.svs"/);
  refuses((j) => void (j.slide.mpp = 0.25), 'wrong-slide', /0.25 µm\/px/);
  refuses(
    (j) => void (j.extractorMpp = 0.5),
    'wrong-resolution',
    /extractors at 0.5 µm\/px; the extractors in use work at 0.25/,
  );
  refuses(() => undefined, 'wrong-resolution', /patches are 256×256; here they are 128×128/, { patchSize: 128 });
});

test('importing replaces the store\u2019s patches as one undo step; a refused import changes nothing', () => {
  const source = painted();
  const text = supportSetToText(source.state());
  const s = createSupportSet({ slide, extractorMpp: 0.25 });
  const mine = s.addPatch({ x: 3000, y: 3000 });
  s.paintStroke(mine, { label: 'class', size: 9 }, [[50, 50]]);
  const before = content(s.patches);
  const revision = s.revision;
  const undoLabel = s.undoLabel;
  const json = JSON.parse(text);
  const defects: unknown[] = [
    'nonsense',
    { ...json, version: 9 },
    { ...json, slide: { ...json.slide, height: 1 } },
    { ...json, extractorMpp: 0.5 },
    { ...json, patches: [json.patches[0], { ...json.patches[1], mask: 'AAAA' }] },
  ];
  for (const defect of defects) {
    assert.throws(() => importSupportSet(s, defect), SupportSetFileError);
    assert.deepEqual(content(s.patches), before);
    assert.equal(s.revision, revision);
    assert.equal(s.undoLabel, undoLabel);
  }
  assert.equal(importSupportSet(s, text), 2);
  assert.deepEqual(content(s.patches), content(source.patches));
  assert.equal(s.undoLabel, 'import');
  s.undo();
  assert.deepEqual(content(s.patches), before);
});

test('deep nesting and long values are refused with the file’s own error and a short message', () => {
  const text = supportSetToText(painted().state());
  const deep = text.replace('"https://example.org/slides/case-17.svs"', '['.repeat(20_000) + '0' + ']'.repeat(20_000));
  refuses(() => deep, 'too-deep', /nests deeper than 64 levels/);
  refuses((j) => void (j.extractorMpp = 'x'.repeat(3_000_000)), 'bad-field', /\(3000000 characters\)/);
  refuses((j) => void (j.patches[0].scale = Array(1_000_000).fill(1)), 'bad-field', /an array of 1000000/);
  assert.throws(
    () => parseSupportSet({ ...JSON.parse(text), format: 'f'.repeat(1_000_000) }),
    (err: unknown) => err instanceof SupportSetFileError && err.message.length <= 400,
  );
});
