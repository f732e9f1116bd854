import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MASK_BACKGROUND, MASK_CLASS, MASK_IGNORED } from '../../../core/adaptation/support-patch.js';
import {
  createSupportSet,
  LABEL_BACKGROUND,
  LABEL_CLASS,
  LABEL_IGNORE,
  level0ToPatch,
  patchToLevel0,
  type Brush,
  type Point,
  type Rings,
  type SupportLabel,
  type SupportSetChange,
  type SupportSetOptions,
  type SupportSetStore,
} from '../../../core/support-set/support-set.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

const slide = { name: 'https://example.org/slides/case-17.svs?token=1', width: 5000, height: 4000, mpp: 0.5 };

function store(options: Partial<SupportSetOptions> = {}): SupportSetStore {
  return createSupportSet({ slide, extractorMpp: 0.25, ...options });
}

/** What a user can see of the support set: patches, their places and every label. */
function content(s: SupportSetStore) {
  return s.patches.map((p) => ({ id: p.id, x: p.x, y: p.y, scale: p.scale, mask: [...p.mask] }));
}

test('labels are the values adapt() reads, so masks go to adaptation unchanged', () => {
  assert.equal(LABEL_BACKGROUND, MASK_BACKGROUND);
  assert.equal(LABEL_CLASS, MASK_CLASS);
  assert.equal(LABEL_IGNORE, MASK_IGNORED);
});

test(
  'a patch is placed in level-0 pixels at the extractors\u2019 scale ' + 'and maps patch pixels to the slide both ways',
  () => {
    const s = store();
    assert.equal(
      s.defaultScale,
      0.5,
      '0.25 µm/px extractors on a 0.5 µm/px slide: half a level-0 pixel per patch pixel',
    );
    assert.equal(s.patchSize, 256);
    const origin = s.originCentredAt(1000, 1000);
    assert.deepEqual(origin, { x: 936, y: 936 });
    const id = s.addPatch(origin);
    const p = s.patch(id)!;
    assert.equal(p.mask.length, 256 * 256);
    assert.ok(
      p.mask.every((v) => v === LABEL_BACKGROUND),
      'unpainted means background',
    );
    assert.equal(s.selectedId, id, 'a new patch is selected, ready to paint');
    assert.deepEqual(patchToLevel0(p, 128, 128), [1000, 1000]);
    assert.deepEqual(level0ToPatch(p, 1000, 1000), [128, 128]);
    assert.equal(s.patchAt(1000, 1063.9)?.id, id);
    assert.equal(s.patchAt(1000, 1064), undefined);
    // Near the edge the box moves inside the slide.
    assert.deepEqual(s.originCentredAt(4990, -30), { x: 4872, y: 0 });
    assert.throws(() => s.addPatch({ x: 4900, y: 0 }), /leaves the 5000×4000 slide/);
    assert.throws(() => s.addPatch({ x: Number.NaN, y: 0 }), /finite/);
    assert.throws(() => s.addPatch({ x: 0, y: 0 }, { id }), /already in use/);
    assert.throws(() => store({ slide: { name: 'x', width: 100, height: 100 } }), /no microns per pixel/);
    const noMpp = store({ slide: { name: 'x.dzi', width: 100, height: 100 }, scale: 0.25 });
    assert.throws(() => noMpp.originCentredAt(0, 0, 1), /does not fit/);
    assert.deepEqual(noMpp.originCentredAt(50, 50), { x: 18, y: 18 });
  },
);

test('brush, erase, ignore, polygon fill and clear edit the mask; a stroke is one undo step', () => {
  const s = store({ patchSize: 32 });
  const id = s.addPatch({ x: 100, y: 100 });
  const mask = s.patch(id)!.mask;
  const count = (v: number) => mask.reduce((n, m) => n + (m === v ? 1 : 0), 0);
  assert.equal(s.paintStroke(id, { label: 'class', size: 5 }, [[10.5, 10.5]]), true);
  assert.equal(count(LABEL_CLASS), 21);
  s.beginStroke(id, { label: 'class', size: 3 }, [2, 20]);
  s.extendStroke([10, 20]);
  s.extendStroke([10, 28]);
  assert.equal(s.stroking, true);
  assert.equal(s.endStroke(), true);
  const afterStrokes = mask.slice();
  assert.ok(count(LABEL_CLASS) > 21 + 20);
  assert.equal(
    s.paintStroke(id, { label: 'background', size: 2 }, [
      [0, 20],
      [31, 20],
    ]),
    true,
    'erase',
  );
  assert.equal(mask[20 * 32 + 5], LABEL_BACKGROUND);
  assert.equal(
    s.paintStroke(id, { label: 'background', size: 2 }, [
      [0, 20],
      [31, 20],
    ]),
    false,
    'erasing nothing is no step',
  );
  assert.equal(
    s.fillPolygon(
      id,
      [
        [
          [20, 0],
          [32, 0],
          [32, 12],
          [20, 12],
        ],
      ],
      'ignore',
    ),
    true,
  );
  assert.equal(mask[5 * 32 + 25], LABEL_IGNORE);
  assert.equal(count(LABEL_IGNORE), 144);
  // A hole stays as it was.
  const ring: Rings = [
    [
      [0, 0],
      [8, 0],
      [8, 8],
      [0, 8],
    ],
    [
      [2, 2],
      [6, 2],
      [6, 6],
      [2, 6],
    ],
  ];
  assert.equal(s.fillPolygon(id, ring, 'ignore'), true);
  assert.equal(mask[1 * 32 + 1], LABEL_IGNORE);
  assert.equal(mask[3 * 32 + 3], LABEL_BACKGROUND);
  s.undo();
  s.undo();
  s.undo();
  assert.deepEqual(mask, afterStrokes, 'three undos: hole fill, ignore fill, erase');
  s.undo();
  assert.equal(count(LABEL_CLASS), 21, 'the three-point stroke was one step');
  assert.equal(s.clearPatch(id), true);
  assert.equal(count(LABEL_CLASS), 0);
  assert.equal(s.clearPatch(id), false, 'clearing a clear patch is no step');
  s.undo();
  assert.equal(count(LABEL_CLASS), 21);
  assert.throws(() => s.paintStroke(id, { label: 'class', size: 0 }, [[1, 1]]), /brush size/);
  assert.throws(() => s.paintStroke(id, { label: 'cells' as SupportLabel, size: 2 }, [[1, 1]]), /not one of/);
  assert.throws(() => s.paintStroke('nope', { label: 'class', size: 2 }, [[1, 1]]), /no support patch/);
  assert.throws(() => s.paintStroke(id, { label: 'class', size: 2 }, [[1, Number.POSITIVE_INFINITY]]), /finite/);
  assert.equal(s.stroking, false, 'a refused stroke leaves no stroke open');
  assert.throws(() => s.extendStroke([1, 1]), /without beginStroke/);
});

test('a cancelled stroke leaves the mask and the history as they were; undo in a stroke ends it and undoes it', () => {
  const s = store({ patchSize: 32 });
  const id = s.addPatch({ x: 0, y: 0 });
  const mask = s.patch(id)!.mask;
  s.paintStroke(id, { label: 'class', size: 4 }, [
    [5, 5],
    [25, 5],
  ]);
  const before = mask.slice();
  const revision = s.revision;
  s.beginStroke(id, { label: 'ignore', size: 6 }, [5, 5]);
  s.extendStroke([5, 25]);
  assert.notDeepEqual(mask, before);
  s.cancelStroke();
  assert.deepEqual(mask, before);
  assert.ok(s.revision > revision, 'listeners heard the mask go back');
  assert.equal(s.undoLabel, 'paint');
  s.beginStroke(id, { label: 'ignore', size: 6 }, [5, 5]);
  s.extendStroke([5, 25]);
  assert.equal(s.canRedo, false);
  assert.equal(s.undo(), true);
  assert.deepEqual(mask, before, 'the open stroke was committed, then undone');
  assert.equal(s.redo(), true);
  assert.equal(mask[20 * 32 + 5], LABEL_IGNORE);
});

test('selection follows adds, deletes and undo, and never points at a missing patch', () => {
  const s = store({ patchSize: 16 });
  const a = s.addPatch({ x: 0, y: 0 });
  const b = s.addPatch({ x: 100, y: 0 }, { select: false });
  assert.equal(s.selectedId, a);
  s.select(b);
  assert.equal(s.selectedId, b);
  assert.throws(() => s.select('zzz'), /no support patch/);
  s.paintStroke(a, { label: 'class', size: 3 }, [[4, 4]]);
  s.undo();
  assert.equal(s.selectedId, a, 'undoing a paint shows the patch it was on');
  s.deletePatch(a);
  assert.equal(s.selectedId, null);
  assert.equal(s.deletePatch(a), false);
  s.undo();
  assert.deepEqual(
    s.patches.map((p) => p.id),
    [a, b],
    'back in its place in the list',
  );
  s.select(b);
  s.undo(); // the paint on a was undone already; this undoes adding b
  assert.deepEqual(
    s.patches.map((p) => p.id),
    [a],
  );
  assert.equal(s.selectedId, null);
  s.select(null);
  assert.equal(s.selectedId, null);
});

type Op =
  | { kind: 'add'; id: string; x: number; y: number }
  | { kind: 'delete'; id: string }
  | { kind: 'stroke'; id: string; brush: Brush; points: Point[] }
  | { kind: 'fill'; id: string; rings: Rings; label: SupportLabel }
  | { kind: 'clear'; id: string }
  | { kind: 'replace'; patches: { id: string; x: number; y: number; scale: number; mask: Uint8Array }[] };

function apply(s: SupportSetStore, op: Op): boolean {
  switch (op.kind) {
    case 'add':
      s.addPatch({ x: op.x, y: op.y }, { id: op.id });
      return true;
    case 'delete':
      return s.deletePatch(op.id);
    case 'stroke':
      return s.paintStroke(op.id, op.brush, op.points);
    case 'fill':
      return s.fillPolygon(op.id, op.rings, op.label);
    case 'clear':
      return s.clearPatch(op.id);
    case 'replace':
      s.replacePatches(op.patches);
      return true;
  }
}

test('random edits with undo and redo always equal a replay from scratch of the steps not undone', () => {
  const random = new SeededRandom(2024);
  const size = 24;
  const labels: SupportLabel[] = ['class', 'class', 'ignore', 'background'];
  let steps = 0;
  let undos = 0;
  let redos = 0;
  for (let run = 0; run < 6; run++) {
    const s = store({ patchSize: size });
    // A UI stand-in that only learns from events: it must stay equal to the store.
    const mirror = new Map<string, Uint8Array>();
    let selected: string | null = null;
    s.addEventListener('change', ({ detail: change }) => {
      if (change.type === 'add') mirror.set(change.id, s.patch(change.id)!.mask.slice());
      else if (change.type === 'remove') mirror.delete(change.id);
      else if (change.type === 'select') selected = change.id;
      else if (change.type === 'replace') {
        mirror.clear();
        for (const p of s.patches) mirror.set(p.id, p.mask.slice());
      } else {
        const [first, last] = change.rows;
        const live = s.patch(change.id)!.mask;
        mirror.get(change.id)!.set(live.subarray(first * size, (last + 1) * size), first * size);
      }
    });
    const done: Op[] = [];
    let undone: Op[] = [];
    let fresh = 0;
    for (let t = 0; t < 150; t++) {
      const ids = s.patches.map((p) => p.id);
      const pick = () => ids[random.int(ids.length)];
      const roll = random.next();
      const point = (): Point => [random.next() * (size + 8) - 4, random.next() * (size + 8) - 4];
      let op: Op | null = null;
      // Redo comes right after undos, as people use it (any other edit drops the redo branch).
      if (roll < 0.2 || (undone.length > 0 && random.next() < 0.3)) {
        if (undone.length === 0 || random.next() < 0.4) {
          if (s.undo()) {
            undone.push(done.pop()!);
            undos++;
          } else assert.equal(done.length, 0);
        } else if (s.redo()) {
          done.push(undone.pop()!);
          redos++;
        } else assert.equal(undone.length, 0);
      } else if (roll < 0.25 || ids.length === 0)
        op = { kind: 'add', id: `r${run}-${fresh++}`, x: random.int(4000), y: random.int(3000) };
      else if (roll < 0.3) op = { kind: 'delete', id: pick() };
      else if (roll < 0.75) {
        op = {
          kind: 'stroke',
          id: pick(),
          brush: { label: labels[random.int(4)], size: 1 + random.next() * 8 },
          points: Array.from({ length: 1 + random.int(4) }, point),
        };
      } else if (roll < 0.88)
        op = {
          kind: 'fill',
          id: pick(),
          rings: [Array.from({ length: 3 + random.int(3) }, point)],
          label: labels[random.int(4)],
        };
      else if (roll < 0.97) op = { kind: 'clear', id: pick() };
      else {
        const n = random.int(3);
        const patches = Array.from({ length: n }, (_, k) => ({
          id: `imp${run}-${t}-${k}`,
          x: random.int(4000),
          y: random.int(3000),
          scale: 0.5,
          mask: Uint8Array.from({ length: size * size }, () => [0, 1, 255][random.int(3)]),
        }));
        op = { kind: 'replace', patches };
      }
      if (op) {
        const changed = apply(s, op);
        if (changed) {
          done.push(op);
          undone = [];
          steps++;
        }
      }
      const replay = store({ patchSize: size });
      for (const o of done) assert.equal(apply(replay, o), true, `replaying ${o.kind} changes something again`);
      assert.deepEqual(content(s), content(replay), `run ${run} step ${t}`);
      assert.deepEqual([...mirror.keys()].sort(), s.patches.map((p) => p.id).sort());
      for (const p of s.patches) assert.deepEqual(mirror.get(p.id), p.mask, `the event-driven copy of ${p.id}`);
      assert.equal(selected, s.selectedId);
      assert.ok(s.selectedId === null || s.patch(s.selectedId), 'selection points at a patch');
      assert.equal(s.canUndo, done.length > 0);
      assert.equal(s.canRedo, undone.length > 0);
    }
  }
  assert.ok(
    steps > 400 && undos > 60 && redos > 30,
    `the sequences exercised everything (${steps} steps, ${undos} undos, ${redos} redos)`,
  );
});

test('the history holds changed rows, not mask copies, and stays within its bounds', () => {
  const s = store({ history: { maxSteps: 1000, maxBytes: Infinity } });
  const id = s.addPatch({ x: 0, y: 0 });
  const afterAdd = s.historyBytes;
  for (let i = 0; i < 100; i++)
    s.paintStroke(id, { label: 'class', size: 4 }, [
      [10 + i, 10],
      [10 + i, 30],
    ]);
  // Each stroke changes a 4-pixel-wide column over ~24 rows: ~100 bytes of before/after, not 64 KiB.
  const perStroke = (s.historyBytes - afterAdd) / 100;
  assert.ok(perStroke < 1000, `${perStroke} bytes per stroke`);

  const bounded = store({ patchSize: 16, history: { maxSteps: 4, maxBytes: Infinity } });
  const b = bounded.addPatch({ x: 0, y: 0 });
  for (let i = 0; i < 8; i++) bounded.paintStroke(b, { label: 'class', size: 1 }, [[i + 0.5, 0.5]]);
  let n = 0;
  while (bounded.undo()) n++;
  assert.equal(n, 4);
  assert.deepEqual(
    [...bounded.patch(b)!.mask.subarray(0, 8)],
    [1, 1, 1, 1, 0, 0, 0, 0],
    'the oldest four strokes can no longer be undone',
  );

  const byBytes = store({ patchSize: 64, history: { maxSteps: 1000, maxBytes: 20000 } });
  const c = byBytes.addPatch({ x: 0, y: 0 });
  for (let i = 0; i < 60; i++) byBytes.paintStroke(c, { label: i % 2 ? 'class' : 'ignore', size: 64 }, [[32, 32]]);
  assert.ok(byBytes.historyBytes <= 20000, `${byBytes.historyBytes} bytes held`);
});

test('replacing all patches (an import) is one undo step and copies what it is given', () => {
  const s = store({ patchSize: 8 });
  const a = s.addPatch({ x: 10, y: 10 });
  s.paintStroke(a, { label: 'class', size: 3 }, [[4, 4]]);
  const before = content(s);
  const mask = new Uint8Array(64).fill(255);
  s.replacePatches([{ id: 'p1', x: 0, y: 0, scale: 0.5, mask }]);
  mask.fill(0);
  assert.equal(s.patch('p1')!.mask[0], 255, 'the store keeps its own copy');
  assert.equal(s.selectedId, null);
  s.undo();
  assert.deepEqual(content(s), before);
  s.redo();
  assert.equal(s.patches.length, 1);
  const next = s.addPatch({ x: 50, y: 50 });
  assert.notEqual(next, 'p1', 'fresh ids skip the imported ones');
  assert.throws(() => s.replacePatches([{ id: 'x', x: 0, y: 0, scale: 0.5, mask: new Uint8Array(63) }]), /8×8 bytes/);
  assert.throws(
    () => s.replacePatches([{ id: 'x', x: 0, y: 0, scale: 0.5, mask: new Uint8Array(64).fill(2) }]),
    /not a label/,
  );
  assert.throws(() => s.replacePatches([{ id: 'x', x: 4999, y: 0, scale: 0.5, mask: new Uint8Array(64) }]), /leaves/);
  const twice = { id: 'x', x: 0, y: 0, scale: 0.5, mask: new Uint8Array(64) };
  assert.throws(() => s.replacePatches([twice, twice]), /share the id/);
  assert.equal(s.patches.length, 2, 'refused replacements change nothing');
});

test('listeners can be removed; selection changes do not count as content changes', () => {
  const s = store({ patchSize: 8 });
  const heard: string[] = [];
  const listener = (e: CustomEvent<SupportSetChange>) => heard.push(e.detail.type);
  s.addEventListener('change', listener);
  const a = s.addPatch({ x: 0, y: 0 }, { select: false });
  const revision = s.revision;
  s.select(a);
  assert.equal(s.revision, revision);
  s.removeEventListener('change', listener);
  s.deletePatch(a);
  assert.deepEqual(heard, ['add', 'select']);
});
