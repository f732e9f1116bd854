import { expect } from 'chai';
import type { FewShot } from '../../../plugin/attach-fewshot.js';
import type { JobEvent } from '../../../plugin/pool/worker-pool.js';
import { displayReads } from '../../../plugin/slide/display-reads.js';
import {
  openSampleViewer,
  sampleSlideExists,
  type SampleViewer,
  attachSample,
  syntheticHead,
} from '../sample-viewer.js';

// The display never starves (issue 18, item 6): with both pool workers busy on a region run of the
// whole slide, every display tile the viewer asks for arrives and none fails, and while the
// display waits for a read no job starts that would keep both workers busy (one core is the
// display's). The real viewer over the sample slide (a display worker, openInWorker), the real
// pool (2 wasm workers), the shipped extractors.

const headFor = (handle: FewShot) => syntheticHead(handle, { period: 7, step: 0.01, offset: 0.03, b: -0.2 });

describe('display reads', () => {
  let sample: SampleViewer | undefined;
  let handle: FewShot | undefined;

  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    sample = await openSampleViewer(800, 600);
  });

  after(() => {
    handle?.destroy();
    sample?.close();
  });

  it('arrive, every one, while both workers compute; one worker waits while one is pending', async () => {
    const { viewer, display } = sample!;
    handle = await attachSample(viewer, { workers: 2 });
    await handle.loadHead(headFor(handle));
    const pool = handle.pool;
    const failed: string[] = [];
    viewer.addHandler('tile-load-failed', (e) => failed.push(`${e.message} (${e.tile?.cacheKey ?? e.tile})`));
    let loaded = 0;
    viewer.addHandler('tile-loaded', () => loaded++);
    const startedWhileDisplayWaits: string[] = [];
    // Tiles running per worker: a block job starts several tiles on one worker at once, and it is
    // busy workers, not tiles, that the display must not find all taken.
    const running = new Map<number, number>();
    const busy = new Promise<void>((resolve) => {
      pool.addEventListener('job', (e: CustomEvent<JobEvent>) => {
        const { worker } = e.detail;
        const tiles = (running.get(worker) ?? 0) + (e.detail.type === 'started' ? 1 : -1);
        if (tiles > 0) running.set(worker, tiles);
        else running.delete(worker);
        if (e.detail.type === 'started' && displayReads.pending > 0 && running.size > 1)
          startedWhileDisplayWaits.push(e.detail.key);
        if (running.size === 2) resolve();
      });
    });
    // The whole slide as a region run: far more tiles than the test lasts, on both workers.
    const run = await handle.predictRegion('slide');
    await busy;
    expect(pool.size).to.equal(2);

    // Jumps far apart, zoomed in and out, each waiting for the viewer to have every tile of it.
    const level0 = display.levels[0];
    const views = [
      { zoom: level0.width / 700, x: 0.2, y: 0.25 },
      { zoom: level0.width / 1400, x: 0.75, y: 0.7 },
      { zoom: level0.width / 900, x: 0.3, y: 0.8 },
      { zoom: 1, x: 0.5, y: 0.5 },
      { zoom: level0.width / 600, x: 0.85, y: 0.15 },
    ];
    const item = viewer.world.getItemAt(0);
    for (const v of views) {
      const shown = new Promise<void>((resolve) => {
        viewer.addOnceHandler('update-viewport', () => {
          if (item.getFullyLoaded()) return resolve();
          const on = (e: { fullyLoaded: boolean }) => {
            if (!e.fullyLoaded) return;
            item.removeHandler('fully-loaded-change', on);
            resolve();
          };
          item.addHandler('fully-loaded-change', on);
        });
      });
      const vp = viewer.viewport;
      vp.zoomTo(v.zoom, undefined, true);
      vp.panTo(vp.imageToViewportCoordinates(level0.width * v.x, level0.height * v.y), true);
      viewer.forceRedraw();
      await shown;
    }
    expect(run.state).to.equal('running', 'the region run was still computing at the end');
    run.cancel();
    expect(failed).to.deep.equal([]);
    expect(loaded).to.be.greaterThan(views.length);
    expect(startedWhileDisplayWaits).to.deep.equal([]);
  });
});
