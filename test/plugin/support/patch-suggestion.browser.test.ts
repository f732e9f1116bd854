import { expect } from 'chai';
import { sendKeys } from '@web/test-runner-commands';
import type { PrefillOutcome } from '../../../core/session/patch-prefill.js';
import type { FewShot } from '../../../plugin/attach-fewshot.js';
import '../../../plugin/panel/fewshot-segmenter.js';
import type { FewShotSegmenter } from '../../../plugin/panel/fewshot-segmenter.js';
import { apply, imageToElement } from '../../../plugin/layers/view-transform.js';
import {
  attachSample,
  openSampleViewer,
  sampleSlideExists,
  syntheticHead,
  type SampleViewer,
} from '../sample-viewer.js';

// The next patch to annotate through the panel's keys: attachFewShot on the sample slide (real
// Web Worker, wasm), a head loaded, the view predicted; then real key presses — S shows the
// session's best window as a dashed box (moved, once the workers have described the view's
// windows, to the ranking with diversity), S again skips to another, Y places it as a patch that
// the prediction pre-fills.
const headFor = (handle: FewShot) => syntheticHead(handle, { period: 3, step: 0.02, offset: 0.02, b: -0.3 });
const frame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));

describe('the next patch to annotate (S suggests or skips, Y accepts)', function () {
  this.timeout(600_000);
  let sample: SampleViewer | undefined;
  let handle: FewShot | undefined;
  let panel: FewShotSegmenter | undefined;

  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    sample = await openSampleViewer(640, 480);
  });

  after(() => {
    panel?.remove();
    handle?.destroy();
    sample?.close();
  });

  it('shows the best window in view as a dashed box, skips to another, and places it pre-filled', async () => {
    const { viewer, display } = sample!;
    handle = await attachSample(viewer);
    const h = handle;
    const level0 = display.levels[0];
    const vp = viewer.viewport;
    vp.zoomTo(level0.width / 400, undefined, true);
    vp.panTo(vp.imageToViewportCoordinates(level0.width / 2, level0.height / 2), true);
    await h.loadHead(headFor(h));
    panel = document.createElement('fewshot-segmenter');
    panel.handle = h;
    document.body.append(panel);
    await panel.updateComplete;

    // The view's tiles, as a region run (a pausable run that waits on its own end, not on time).
    const bounds = vp.viewportToImageRectangle(vp.getBounds(true));
    const view = { x: bounds.x, y: bounds.y, width: bounds.width, height: bounds.height };
    const run = await h.predictRegion(view);
    expect((await run.finished).state).to.equal('finished');
    const expected = h.session.proposePatches(view);
    expect(expected.length, 'windows to propose').to.be.greaterThan(1);

    await sendKeys({ press: 's' });
    expect(h.suggestion.current, 'S shows a suggestion at once').to.not.equal(null);
    // Then the workers describe the view's windows and the box takes the ranking with diversity.
    const first = await h.suggestion.settled();
    const described = await h.session.describeProposals(view);
    expect(first, 'still a suggestion').to.not.equal(null);
    expect(first!.level0).to.deep.equal(described[0].level0);
    // The dashed box is on the suggestion's layer at the window's top-left corner.
    await frame();
    const canvas = h.suggestion.canvas;
    const [ex, ey] = apply(imageToElement(viewer, viewer.world.getItemAt(0)), first!.level0.x, first!.level0.y);
    const ratio = canvas.width / viewer.element.clientWidth;
    const around = canvas
      .getContext('2d')!
      .getImageData(Math.round(ex * ratio) - 2, Math.round(ey * ratio) - 2, 5, 5).data;
    const drawn = [...around].some((v, i) => i % 4 === 3 && v > 0);
    expect(drawn, 'the box is drawn at its corner').to.equal(true);

    await sendKeys({ press: 's' });
    const second = await h.suggestion.settled();
    expect(second, 'S again skips to another window').to.not.equal(null);
    expect(second!.level0).to.not.deep.equal(first!.level0);

    const filled = new Promise<PrefillOutcome>((resolve) =>
      h.addEventListener('prefill', (e) => resolve(e.detail), { once: true }),
    );
    const before = h.support.patches.length;
    await sendKeys({ press: 'y' });
    expect(h.support.patches.length, 'Y placed a patch').to.equal(before + 1);
    const placed = h.support.patches.at(-1)!;
    expect({ x: placed.x, y: placed.y }).to.deep.equal({ x: second!.level0.x, y: second!.level0.y });
    expect(h.suggestion.current).to.equal(null);
    const outcome = await filled;
    expect(outcome.outcome, JSON.stringify(outcome)).to.equal('filled');
    expect(outcome.id).to.equal(placed.id);
    // The placed window is not proposed again; the others are ranked by their distance to it in feature space.
    const next = h.session.proposePatches(view);
    expect(next.some((p) => p.level0.x === placed.x && p.level0.y === placed.y)).to.equal(false);
    const diverse = await h.session.describeProposals(view);
    expect(diverse.length).to.be.greaterThan(0);
    expect(
      diverse.every((p) => Number.isFinite(p.distance)),
      'the patch and every window described',
    ).to.equal(true);
  });
});
