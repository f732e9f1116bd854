import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseClassHeads, serializeClassHeads } from '../../../core/adaptation/class-heads.js';
import { serializeHead } from '../../../core/adaptation/head.js';
import { adaptClasses } from '../../../core/session/class-adapt.js';
import { gridPatches } from '../../../core/support-set/support-patches.js';
import { oneVsRestMask } from '../../../core/support-set/support-classes.js';
import { extractors, openSmallSlideSession, pixels, WIDTH } from './small-slide-session.js';

const opened = openSmallSlideSession('classes.tif');
after(async () => (await opened).pool.close());

const PATCH = 256;
const tumour = { name: 'Tumour', color: '#ff0000' };
const immune = { name: 'Immune', color: '#0000ff' };

/** Labels of a patch at (x0, y0) from the slide's own pixels: bright red → 1, dark red → 2, some pixels ignored. */
function labels(x0: number, y0: number, classes: number): Uint8Array {
  return Uint8Array.from({ length: PATCH * PATCH }, (_, i) => {
    const x = x0 + (i % PATCH),
      y = y0 + Math.floor(i / PATCH);
    const r = pixels[(y * WIDTH + x) * 3];
    if (i % 97 === 0) return 255;
    if (r > 180) return 1;
    return r < 80 && classes > 1 ? 2 : 0;
  });
}

const relativeDifference = (a: readonly number[], b: readonly number[]) =>
  Math.hypot(...a.map((v, i) => v - b[i])) / Math.hypot(...b);

test(
  'one class: adaptClasses gives the single-class adapt’s head (‖ΔW‖/‖W‖ ≤ 1e-6)',
  { timeout: 120_000 },
  async () => {
    const { pool, slide, grid, support, session } = await opened;
    support.replacePatches([
      { id: 'a', x: 40, y: 30, scale: 1, mask: labels(40, 30, 1) },
      { id: 'b', x: 600, y: 200, scale: 1, mask: labels(600, 200, 1) },
    ]);
    const single = await session.adapt();
    const patches = gridPatches(support.state(), grid);
    const { classes, reports } = await adaptClasses(pool, {
      slide,
      grid,
      patches,
      classes: [{ name: session.className, color: session.color }],
      metadata: { shots: patches.length, slide: slide.info.name },
    });
    assert.equal(classes.length, 1);
    assert.equal(reports.length, 1);
    const head = classes[0].head;
    assert.ok(
      relativeDifference(head.W, single.head.W) <= 1e-6,
      `‖ΔW‖/‖W‖ = ${relativeDifference(head.W, single.head.W)}`,
    );
    assert.ok(Math.abs(head.b - single.head.b) <= 1e-6 * Math.max(1, Math.abs(single.head.b)));
    assert.deepEqual(head.metadata, single.head.metadata, 'the same metadata as the session writes');
  },
);

test(
  'two classes: one head per class, each its one-vs-rest fit, fitted side by side',
  { timeout: 120_000 },
  async () => {
    const { pool, slide, grid } = await opened;
    const patches = [
      { x: 40, y: 30, size: PATCH, mask: labels(40, 30, 2) },
      { x: 600, y: 200, size: PATCH, mask: labels(600, 200, 2) },
    ];
    assert.ok(
      patches.every((p) => p.mask.includes(1) && p.mask.includes(2)),
      'both classes are painted',
    );
    const before = patches.map((p) => p.mask.slice());
    let concurrent = 0;
    let most = 0;
    const counting = {
      adapt: async (...args: Parameters<typeof pool.adapt>) => {
        concurrent++;
        most = Math.max(most, concurrent);
        try {
          return await pool.adapt(...args);
        } finally {
          concurrent--;
        }
      },
    };
    const progress = new Set<number>();
    const answer = await adaptClasses(
      counting,
      { slide, grid, patches, classes: [tumour, immune] },
      { onProgress: (label) => progress.add(label) },
    );
    assert.equal(most, 2, 'both fits were asked of the pool at once');
    assert.deepEqual([...progress].sort(), [1, 2]);
    assert.deepEqual(
      patches.map((p) => p.mask),
      before,
      'the label masks are not changed',
    );
    assert.deepEqual(
      answer.classes.map((c) => [c.name, c.color, c.head.metadata.className, c.head.metadata.classLabel]),
      [
        ['Tumour', '#ff0000', 'Tumour', 1],
        ['Immune', '#0000ff', 'Immune', 2],
      ],
    );
    // Independently: class 2's head is the plain adapt of its one-vs-rest masks.
    const direct = await pool.adapt({
      slide,
      grid,
      patches: patches.map((p) => ({ ...p, mask: oneVsRestMask(p.mask, 2) })),
      metadata: { className: 'Immune', color: '#0000ff', classLabel: 2 },
    });
    assert.ok(relativeDifference(answer.classes[1].head.W, direct.head.W) <= 1e-6);
    assert.ok(relativeDifference(answer.classes[0].head.W, answer.classes[1].head.W) > 0.01, 'two different heads');
    assert.equal(answer.reports[1].support.positive, direct.report.support.positive);

    // The class-heads file round-trips; an old single head file reads as one class.
    const text = JSON.stringify(serializeClassHeads(answer.classes));
    const back = parseClassHeads(text, extractors);
    assert.deepEqual(
      back.map((c) => [c.name, c.color, c.head.W]),
      answer.classes.map((c) => [c.name, c.color, c.head.W]),
    );
    const old = parseClassHeads(JSON.stringify(serializeHead(direct.head)), extractors);
    assert.deepEqual([old.length, old[0].name, old[0].color], [1, 'Immune', '#0000ff']);
    const bare = serializeHead({ ...direct.head, metadata: { extractors: direct.head.metadata.extractors } });
    assert.deepEqual(
      parseClassHeads(bare).map((c) => [c.name, c.color]),
      [['New class', '#00e676']],
    );
    assert.throws(() => parseClassHeads({ ...JSON.parse(text), version: 2 }), /version 2 is not supported/);
    const twice = { ...JSON.parse(text), classes: [JSON.parse(text).classes[0], JSON.parse(text).classes[0]] };
    assert.throws(() => parseClassHeads(twice), /two classes are named "Tumour"/);
  },
);

test('a class whose fit fails stops the others: adaptClasses rejects', async () => {
  const { pool, slide, grid } = await opened;
  const patches = [{ x: 40, y: 30, size: PATCH, mask: new Uint8Array(PATCH * PATCH).fill(2, 0, 500) }];
  // Class 1 has no positive pixel: its fit is refused.
  await assert.rejects(adaptClasses(pool, { slide, grid, patches, classes: [tumour, immune] }));
});

test('the session adapts several classes with adaptClasses and saves them; adapt refuses them', async () => {
  const { support, session } = await opened;
  support.replacePatches(
    [
      { id: 'a', x: 40, y: 30, scale: 1, mask: labels(40, 30, 2) },
      { id: 'b', x: 600, y: 200, scale: 1, mask: labels(600, 200, 2) },
    ],
    { classes: [tumour, immune] },
  );
  await assert.rejects(session.adapt(), /several classes: adaptClasses fits a head per class/);
  const states: string[] = [];
  const onChange = () => states.push(session.state);
  session.addEventListener('change', onChange);
  const answer = await session.adaptClasses();
  session.removeEventListener('change', onChange);
  assert.deepEqual([states[0], states.at(-1)], ['adapting', 'idle']);
  assert.equal(session.classHeads, answer.classes);
  const file = parseClassHeads(JSON.stringify(session.saveClassHeads()), extractors);
  assert.deepEqual(
    file.map((c) => [c.name, c.color, c.head.metadata.shots]),
    [
      ['Tumour', '#ff0000', 2],
      ['Immune', '#0000ff', 2],
    ],
  );
});
