import { expect } from 'chai';
import type { ViewPlan } from '../../core/inference/view-plan.js';
import type { Rect } from '../../core/math/rect.js';
import type { FewShot } from '../../plugin/attach-fewshot.js';
import type { JobEvent } from '../../plugin/pool/worker-pool.js';
import {
  openSampleViewer,
  sampleSlideExists,
  type SampleViewer,
  attachSample,
  syntheticHead,
} from './sample-viewer.js';

// Live prediction's scheduling on a real viewer, counted through the pool's `job` events: the
// centre tile first, only tiles the view shows, a small pan keeps the job of a tile still in view
// running (it finishes once, not aborted and started again), a jump away aborts it. The real
// worker (wasm, one, so that the order is the queue's), the sample slide, the shipped extractors.

const headFor = (handle: FewShot) => syntheticHead(handle, { period: 3, step: 0.02, offset: 0.02, b: -0.3 });

const intersects = (a: Rect, b: Rect) =>
  a.x < b.x + b.width && a.x + a.width > b.x && a.y < b.y + b.height && a.y + a.height > b.y;

describe('live prediction', () => {
  let sample: SampleViewer | undefined;
  let handle: FewShot | undefined;

  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    sample = await openSampleViewer(900, 640);
  });

  after(() => {
    handle?.destroy();
    sample?.close();
  });

  it('runs the centre tile first, only tiles in view, keeps a tile still in view through a pan', async () => {
    const { viewer, display } = sample!;
    handle = await attachSample(viewer);
    await handle.loadHead(headFor(handle));
    const { grid, pool } = handle;
    const vp = viewer.viewport;
    /** What the viewer shows now, in inference-grid pixels. */
    const shown = (): Rect => {
      const r = vp.viewportToImageRectangle(vp.getBounds(true));
      return {
        x: r.x / grid.scaleX,
        y: r.y / grid.scaleY,
        width: r.width / grid.scaleX,
        height: r.height / grid.scaleY,
      };
    };
    const events: { event: JobEvent; view: Rect }[] = [];
    const running = new Set<string>();
    pool.addEventListener('job', (e) => {
      events.push({ event: e.detail, view: shown() });
      if (e.detail.type === 'started') running.add(e.detail.key);
      else running.delete(e.detail.key);
    });
    const next = (type: JobEvent['type'], key?: string) =>
      new Promise<JobEvent>((resolve) => {
        const on = (e: CustomEvent<JobEvent>) => {
          if (e.detail.type !== type || (key !== undefined && e.detail.key !== key)) return;
          pool.removeEventListener('job', on);
          resolve(e.detail);
        };
        pool.addEventListener('job', on);
      });
    const nextPlan = () =>
      new Promise<ViewPlan>((resolve) => handle!.addEventListener('budget', (e) => resolve(e.detail), { once: true }));
    /** Shows the grid rectangle of 900×640 screen pixels at (gx, gy), one screen pixel per grid pixel. */
    const jump = (gx: number, gy: number) => {
      const rect = vp.imageToViewportRectangle(
        gx * grid.scaleX,
        gy * grid.scaleY,
        900 * grid.scaleX,
        640 * grid.scaleY,
      );
      vp.fitBounds(rect, true);
    };
    expect(display.levels[0].width / grid.scaleX).to.be.greaterThan(4000, 'the sample is large enough to jump in');

    // A view whose centre lies inside one tile, away from its edges (the middle of a 256² tile,
    // the size of 'whole' views; inside a 512² one too).
    jump(1024 + 128 - 450, 1024 + 128 - 320);
    const firstStarted = next('started');
    const firstPlan = nextPlan();
    handle.setLive(true);
    const plan = await firstPlan;
    expect(plan.now.count).to.be.greaterThan(2);
    const first = await firstStarted;
    const centre = { x: 1024 + 128, y: 1024 + 128 };
    expect(first.tile.x <= centre.x && centre.x < first.tile.x + first.tile.width, 'centre tile first (x)').to.equal(
      true,
    );
    expect(first.tile.y <= centre.y && centre.y < first.tile.y + first.tile.height, 'centre tile first (y)').to.equal(
      true,
    );

    // A small pan while the centre tile runs: it stays in view, its job goes on.
    expect(running.has(first.key)).to.equal(true);
    const replanned = nextPlan();
    const ended = new Promise<JobEvent>((resolve) => {
      const on = (e: CustomEvent<JobEvent>) => {
        if (e.detail.key !== first.key || e.detail.type === 'started') return;
        pool.removeEventListener('job', on);
        resolve(e.detail);
      };
      pool.addEventListener('job', on);
    });
    jump(1024 + 128 - 450 + 96, 1024 + 128 - 320 + 64);
    await replanned;
    expect((await ended).type).to.equal('finished');
    expect(events.filter((e) => e.event.key === first.key && e.event.type === 'started')).to.have.length(1);

    // A jump far away while a tile of the old view runs: that job is aborted.
    const now = await next('started');
    const aborted = next('aborted', now.key);
    jump(4 * 1024 + 100, 3 * 1024 + 100);
    expect((await aborted).key).to.equal(now.key);
    // The new view's tiles run (and only they).
    const far = await next('started');
    expect(intersects(far.tile, shown())).to.equal(true);
    handle.setLive(false);

    // Every job started on a tile the view showed at that moment.
    const outside = events.filter((e) => e.event.type === 'started' && !intersects(e.event.tile, e.view));
    expect(outside.map((e) => e.event.key)).to.deep.equal([]);
  });
});
