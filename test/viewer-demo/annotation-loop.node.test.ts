import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { DemoPage, LYMPHOCYTE, SCALE, SIDE } from './demo-page.js';

// The annotation loop end to end (issue 14, item 5), as a user runs it in the built demo: one
// support patch painted and adapted, then three rounds of suggest (S) → accept (Y, the patch is
// pre-filled from the prediction) → correct (brush and erase strokes where the fill differs from
// the sample's ground truth) → adapt (the button), all through real key and pointer events; the
// panel's loop line (shots, training-set Dice after each adapt, the suggestion's buttons) follows.
let demo: DemoPage;
let page: Page;

before(async () => {
  demo = await DemoPage.start();
  page = demo.page;
  await demo.collectErrors();
  // Every overlay tile's key, as it arrives (viewFilled waits on them): reset before each adapt,
  // whose head clears the results, so that what is listed after it is the new head's.
  await page.evaluate(() => {
    const w = window as any;
    w.__tiles = [];
    w.demoPanel.handle.addEventListener('prediction-tile', (e: CustomEvent) => w.__tiles.push(e.detail.key));
  });
});

after(async () => {
  await demo?.close();
});

const BRUSH = 4;
// Where the suggestions are taken from: a view away from the first patch, at 2 screen pixels per level-0 pixel.
const VIEW: [number, number] = [5600, 5200];

/** The panel's loop line: shots shown, and the rounds' training-set Dice as rendered. */
function loopLine(): Promise<{ shots: string; rounds: number[]; suggestion: string | null; accept: boolean }> {
  return page.evaluate(async () => {
    const panel = (window as any).demoPanel;
    await panel.updateComplete;
    const root = panel.shadowRoot as ShadowRoot;
    return {
      shots: root.querySelector('#shots')!.textContent!.replace(/\s+/g, ' ').trim(),
      rounds: [...root.querySelectorAll('#support-dice .round')].map((e) => Number((e as HTMLElement).dataset.dice)),
      suggestion: root.querySelector('#suggestion')?.textContent?.replace(/\s+/g, ' ').trim() ?? null,
      accept: !(root.querySelector('#accept-suggestion') as HTMLButtonElement).disabled,
    };
  });
}

/** The view's prediction after an adapt: the view shown, its tiles (under the new head) all in. */
async function predictedView(): Promise<void> {
  await demo.view(VIEW[0], VIEW[1], 2);
  await demo.viewFilled();
}

/** Adapts with the button; the panel's loop line then has one more round, its Dice the report's. */
async function adaptRound(rounds: number): Promise<{ seconds: number; dice: number }> {
  await page.evaluate(() => ((window as any).__tiles = []));
  const seconds = await demo.adaptWithButton();
  const report = await page.evaluate(() => (window as any).demoPanel.handle.lastAdapt.report.trainingDice);
  const line = await loopLine();
  assert.equal(line.rounds.length, rounds, `the panel lists ${rounds} adapt(s): ${line.rounds}`);
  assert.equal(line.rounds.at(-1), Number(report.dice.toFixed(4)), "the panel's Dice is the report's");
  assert.ok(report.dice > 0 && report.dice <= 1, `training-set Dice ${report.dice}`);
  assert.equal(report.threshold, 0.5);
  return { seconds, dice: report.dice };
}

/** Level-0 origin and labels of a patch, by id. */
function patchOf(id: string): Promise<{ x: number; y: number; mask: number[] }> {
  return page.evaluate((id) => {
    const p = (window as any).demoPanel.handle.support.patches.find((q: any) => q.id === id);
    return { x: p.x, y: p.y, mask: Array.from(p.mask as Uint8Array) };
  }, id);
}

test(
  'three rounds of suggest → accept (pre-filled) → correct with brush and erase → adapt, through real events',
  { timeout: 1_800_000 },
  async () => {
    // The first shot, painted from scratch: the loop needs a head before it can suggest.
    const [[x0, y0]] = await demo.supportOrigins(1);
    await demo.view(x0 + SIDE / 2, y0 + SIDE / 2, 4);
    await demo.pressKey('p');
    const [[px, py]] = await demo.toPage([[x0 + SIDE / 2, y0 + SIDE / 2]]);
    await page.mouse.click(px, py);
    await demo.pressKey('b');
    for (let i = 0; i < 4; i++) await demo.pressKey('['); // 12 → 4 pixels
    const [first] = await page.evaluate(() =>
      (window as any).demoPanel.handle.support.patches.map((p: any) => [p.x, p.y]),
    );
    const firstIds = await demo.labelIds(Math.floor(first[0]), Math.floor(first[1]), SIDE, SIDE);
    const painted = await demo.strokeRuns(
      first[0],
      first[1],
      BRUSH,
      (row, col) => firstIds[Math.floor(row * SCALE) * SIDE + Math.floor(col * SCALE)] === LYMPHOCYTE,
    );
    assert.match((await loopLine()).shots, /^1 shot\b/);
    const start = await adaptRound(1);
    console.log(`shot 1: ${painted} brush strokes from scratch; adapt ${start.seconds.toFixed(1)} s`);
    console.log(`training-set Dice ${start.dice.toFixed(3)}`);

    for (let round = 1; round <= 3; round++) {
      const t0 = Date.now();
      await predictedView();
      const t1 = Date.now();
      // S: the dashed box on the best window in view; the panel says where it is.
      await demo.pressKey('s');
      const shown = await page.evaluate(() => (window as any).demoPanel.handle.suggestion.current?.level0 ?? null);
      assert.ok(shown, `round ${round}: a window is suggested`);
      const line = await loopLine();
      assert.ok(line.accept, 'Accept is enabled while a box is shown');
      assert.ok(line.suggestion?.includes(`${Math.round(shown.x)}, ${Math.round(shown.y)}`), `${line.suggestion}`);
      // Y: placed there, and pre-filled from the prediction (the fill's own event, listened for first).
      await page.evaluate(() => {
        const w = window as any;
        w.__prefill = new Promise((resolve) =>
          w.demoPanel.handle.addEventListener('prefill', (e: CustomEvent) => resolve(e.detail), { once: true }),
        );
      });
      await demo.pressKey('y');
      const fill = await page.evaluate(() => (window as any).__prefill);
      assert.equal(fill.outcome, 'filled', `round ${round}: ${JSON.stringify(fill)}`);
      const t2 = Date.now();
      const patch = await patchOf(fill.id);
      assert.deepEqual([patch.x, patch.y], [shown.x, shown.y], 'the patch lies where the box was');

      // Correct: brush where the class was missed, erase where the fill has it wrongly (sampled
      // rows), where the brush fits: runs narrower than the brush, the slivers along the cells'
      // edges, are left as a user leaves them (a 4-pixel brush on a 1-pixel sliver repaints its
      // neighbours too). In round 1, the same patch either way, they were 388 of 481 strokes.
      await demo.view(patch.x + SIDE / 2, patch.y + SIDE / 2, 4);
      const ids = await demo.labelIds(Math.floor(patch.x), Math.floor(patch.y), SIDE, SIDE);
      const truth = (row: number, col: number) =>
        ids[Math.floor(row * SCALE) * SIDE + Math.floor(col * SCALE)] === LYMPHOCYTE;
      const mask = (row: number, col: number) => patch.mask[row * 256 + col] === 1;
      await demo.pressKey('b');
      const brushed = await demo.strokeRuns(patch.x, patch.y, BRUSH, (r, c) => truth(r, c) && !mask(r, c), BRUSH);
      await demo.pressKey('e');
      const erased = await demo.strokeRuns(patch.x, patch.y, BRUSH, (r, c) => !truth(r, c) && mask(r, c), BRUSH);
      assert.ok(brushed + erased > 0, `round ${round}: the fill needed correcting`);
      const changes = await page.evaluate((id) => (window as any).demoPanel.handle.support.changes(id), fill.id);
      assert.ok(changes.pixels > 0, `round ${round}: the corrections changed the fill (${JSON.stringify(changes)})`);
      const t3 = Date.now();

      const adapted = await adaptRound(round + 1);
      const line2 = await loopLine();
      assert.match(line2.shots, new RegExp(`^${round + 1} shots\\b`));
      assert.equal(line2.suggestion, null, 'no box is shown after accepting');
      console.log(
        `round ${round}: view predicted ${((t1 - t0) / 1000).toFixed(1)} s, suggest + accept + pre-fill ` +
          `${((t2 - t1) / 1000).toFixed(1)} s, corrections ${brushed} brush + ${erased} erase strokes ` +
          `(${changes.pixels} pixels, ${(100 * changes.fraction).toFixed(1)} % of the patch) ` +
          `${((t3 - t2) / 1000).toFixed(1)} s, adapt ${adapted.seconds.toFixed(1)} s; ` +
          `training-set Dice ${adapted.dice.toFixed(3)}`,
      );
    }
    assert.equal(await page.evaluate(() => (window as any).demoPanel.handle.support.patches.length), 4);
    assert.deepEqual(demo.pageErrors, []);
    assert.deepEqual(await page.evaluate(() => (window as any).__errors), []);
  },
);
