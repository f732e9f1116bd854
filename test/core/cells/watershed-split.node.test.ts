import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitTouching } from '../../../core/cells/watershed-split.js';
import { labelComponents } from '../../../core/cells/connected-components.js';

interface Disc {
  readonly x: number;
  readonly y: number;
  readonly r: number;
}

/** Pixels whose centre lies in any disc (the true discs' union: one connected blob when they overlap). */
function discsMask(width: number, height: number, discs: readonly Disc[]): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (discs.some((d) => (x + 0.5 - d.x) ** 2 + (y + 0.5 - d.y) ** 2 <= d.r * d.r)) mask[y * width + x] = 1;
  return mask;
}

/** IoU of instance `label` with the pixels whose centre is in `disc`. */
function iouWithDisc(labels: Int32Array, width: number, label: number, disc: Disc): number {
  let inter = 0,
    union = 0;
  for (let i = 0; i < labels.length; i++) {
    const x = i % width;
    const y = (i - x) / width;
    const inDisc = (x + 0.5 - disc.x) ** 2 + (y + 0.5 - disc.y) ** 2 <= disc.r * disc.r;
    const inLabel = labels[i] === label;
    if (inDisc && inLabel) inter++;
    if (inDisc || inLabel) union++;
  }
  return inter / union;
}

/** The instance covering each disc's centre, and each one's IoU with its disc. */
function discScores(labels: Int32Array, width: number, discs: readonly Disc[]) {
  return discs.map((d) => {
    const label = labels[Math.floor(d.y) * width + Math.floor(d.x)];
    return { label, iou: iouWithDisc(labels, width, label, d) };
  });
}

test('two overlapping discs are one component and two instances, each with IoU ≥ 0.85 against its disc', () => {
  const discs = [
    { x: 30, y: 32, r: 14 },
    { x: 52, y: 30, r: 12 },
  ];
  const mask = discsMask(84, 64, discs);
  assert.equal(labelComponents(mask, 84, 64).count, 1);
  const split = splitTouching(mask, 84, 64);
  assert.equal(split.count, 2);
  const scores = discScores(split.labels, 84, discs);
  assert.notEqual(scores[0].label, scores[1].label);
  for (const s of scores) assert.ok(s.iou >= 0.85, `IoU ${s.iou}`);
  // Every foreground pixel is in an instance, and nothing else.
  for (let i = 0; i < mask.length; i++) assert.equal(split.labels[i] !== 0, mask[i] === 1);
});

test('three overlapping discs in a row and in a triangle are three instances, IoU ≥ 0.8 each', () => {
  for (const discs of [
    [
      { x: 20, y: 30, r: 11 },
      { x: 38, y: 31, r: 10 },
      { x: 57, y: 30, r: 11 },
    ],
    [
      { x: 28, y: 22, r: 12 },
      { x: 51, y: 23, r: 12 },
      { x: 40, y: 43, r: 12 },
    ],
  ]) {
    const mask = discsMask(80, 64, discs);
    assert.equal(labelComponents(mask, 80, 64).count, 1);
    const split = splitTouching(mask, 80, 64);
    assert.equal(split.count, 3);
    const scores = discScores(split.labels, 80, discs);
    assert.equal(new Set(scores.map((s) => s.label)).size, 3);
    for (const s of scores) assert.ok(s.iou >= 0.8, `IoU ${s.iou}`);
  }
});

test('a lone disc, an ellipse and a rectangle stay whole; separate blobs keep raster numbering', () => {
  const width = 90,
    height = 40;
  const mask = discsMask(width, height, [{ x: 15, y: 20, r: 10 }]);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (((x + 0.5 - 50) / 14) ** 2 + ((y + 0.5 - 20) / 7) ** 2 <= 1) mask[y * width + x] = 1;
      if (x >= 70 && x < 86 && y >= 5 && y < 35) mask[y * width + x] = 1;
    }
  const split = splitTouching(mask, width, height);
  const components = labelComponents(mask, width, height);
  assert.equal(split.count, 3);
  assert.deepEqual(split.labels, components.labels);
});

test('the split of a blob does not depend on where it lies in the map (what tile seams rely on)', () => {
  const discs = [
    { x: 14, y: 15, r: 9 },
    { x: 28, y: 16, r: 8 },
  ];
  const small = discsMask(44, 32, discs);
  const a = splitTouching(small, 44, 32);
  const big = discsMask(
    100,
    90,
    discs.map((d) => ({ ...d, x: d.x + 37, y: d.y + 41 })),
  );
  const b = splitTouching(big, 100, 90);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 44; x++) assert.equal(a.labels[y * 44 + x], b.labels[(y + 41) * 100 + x + 37]);
});

test('depth 0 keeps every peak; a large depth keeps one instance per component', () => {
  const discs = [
    { x: 30, y: 32, r: 14 },
    { x: 52, y: 30, r: 12 },
  ];
  const mask = discsMask(84, 64, discs);
  assert.equal(splitTouching(mask, 84, 64, { depth: 50 }).count, 1);
  assert.ok(splitTouching(mask, 84, 64, { depth: 0 }).count >= 2);
  assert.throws(() => splitTouching(mask, 84, 64, { depth: -1 }), RangeError);
});
