import { expect } from 'chai';
import type { FewShot } from '../../plugin/attach-fewshot.js';
import {
  openSampleViewer,
  sampleSlideExists,
  type SampleViewer,
  attachSample,
  syntheticHead,
} from './sample-viewer.js';

// The handle on a real viewer over the sample slide, with the real worker (wasm) and the shipped
// extractors: what a host app gets from attachFewShot.

/** A head for the handle's extractors: any weights do; these mark dark pixels, roughly. */
const headFor = (handle: FewShot) => syntheticHead(handle, { period: 5, step: 0.02, offset: 0.04, b: -0.5 });

describe('attachFewShot', () => {
  let sample: SampleViewer | undefined;
  let handle: FewShot | undefined;

  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    sample = await openSampleViewer(640, 480);
  });

  after(() => {
    handle?.destroy();
    sample?.close();
  });

  it('Predict view with live off computes the view once, and turning live off does not cancel it', async () => {
    const { viewer, display } = sample!;
    handle = await attachSample(viewer);
    // A small view (about two output tiles at the extractors' scale), so one tile arrives soon.
    const level0 = display.levels[0];
    const vp = viewer.viewport;
    vp.zoomTo(level0.width / 400, undefined, true);
    vp.panTo(vp.imageToViewportCoordinates(level0.width / 2, level0.height / 2), true);
    await handle.loadHead(headFor(handle));
    expect(handle.live).to.equal(false);

    const tile = new Promise<{ width: number; height: number; probabilities: Float32Array }>((resolve) =>
      handle!.addEventListener('prediction-tile', (e) => resolve(e.detail), { once: true }),
    );
    handle.predictView();
    // What the old code did right after queueing: it must not drop the jobs it just asked for.
    handle.setLive(false);
    const first = await tile;
    expect(first.probabilities.length).to.equal(first.width * first.height);
    expect(first.width * first.height).to.be.greaterThan(0);
    expect(handle.live).to.equal(false);
    expect(handle.session.results.size).to.be.greaterThan(0);
  });
});
