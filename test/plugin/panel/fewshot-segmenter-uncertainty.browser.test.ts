import { expect } from 'chai';
import OpenSeadragon from 'openseadragon';
import type { FewShot } from '../../../plugin/attach-fewshot.js';
import '../../../plugin/panel/fewshot-segmenter.js';
import type { FewShotSegmenter } from '../../../plugin/panel/fewshot-segmenter.js';
import { quantiseUncertainty, tileUncertainty } from '../../../core/inference/uncertainty.js';
import {
  attachSample,
  openSampleViewer,
  sampleSlideExists,
  syntheticHead,
  type SampleViewer,
} from '../sample-viewer.js';
import { nextFrame, readCanvas } from '../layers/overlay-fixtures.js';
import { whenDom as when } from './dom-change.js';

// The panel's Uncertainty toggle in Chromium: a head with a small ensemble loaded into the real
// worker (wasm, the sample slide), the view predicted, the box ticked as a user does; the layer
// must then be drawn over the slide in its colour map (magenta, alpha = u) from the tiles'
// uncertainty, which the worker computed with the probabilities.

describe('<fewshot-segmenter> uncertainty toggle', () => {
  let sample: SampleViewer | undefined;
  let handle: FewShot | undefined;
  let panel: FewShotSegmenter | undefined;

  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    sample = await openSampleViewer(480, 360);
    handle = await attachSample(sample.viewer);
    panel = document.createElement('fewshot-segmenter');
    panel.handle = handle;
    document.body.append(panel);
    await panel.updateComplete;
  });

  after(() => {
    panel?.remove();
    handle?.destroy();
    sample?.close();
  });

  it('shows the layer over the slide from the tiles, and hides it again', async () => {
    const h = handle!;
    const { viewer, display } = sample!;
    const level0 = display.levels[0];
    const vp = viewer.viewport;
    // A small view (about one output tile at the extractors' scale).
    vp.zoomTo(level0.width / 300, undefined, true);
    vp.panTo(vp.imageToViewportCoordinates(level0.width / 2, level0.height / 2), true);
    const head = syntheticHead(h, { period: 5, step: 0.02, offset: 0.04, b: -0.5 });
    // Members that disagree with the head: the worker computes their spread with p.
    const members = [0.5, -0.5, 1].map((d) => ({
      W: head.W.map((w, i) => w + (i % 2 ? d : -d) * 0.02),
      b: head.b + d,
    }));
    await h.loadHead({ ...head, ensemble: { version: 1, method: 'bootstrap', seed: 1, rows: 1, members } });
    const root = panel!.shadowRoot!;
    const box = root.querySelector<HTMLInputElement>('#uncertainty')!;
    expect(box.checked).to.equal(false);
    expect(h.uncertaintyLayer.visible).to.equal(false);

    const tile = new Promise<void>((resolve) => h.addEventListener('prediction-tile', () => resolve(), { once: true }));
    h.predictView();
    await tile;
    const first = [...h.session.results.values()][0];
    expect(first.uncertainty, 'the worker sent the ensemble uncertainty').to.be.instanceOf(Uint8Array);
    // H₂(p) alone is a lower bound of the ensemble's uncertainty (members only add doubt).
    const alone = quantiseUncertainty(tileUncertainty(first.probabilities));
    let above = 0;
    first.uncertainty!.forEach((u, i) => {
      expect(u).to.be.at.least(alone[i] - 1);
      if (u > alone[i] + 5) above++;
    });
    expect(above, 'the members disagree somewhere').to.be.greaterThan(0);

    box.click();
    await panel!.updateComplete;
    expect(h.uncertainty).to.equal(true);
    expect(h.uncertaintyLayer.visible).to.equal(true);
    expect(getComputedStyle(h.uncertaintyLayer.canvas).display).to.not.equal('none');
    expect(h.uncertaintyLayer.tileCount).to.equal(h.session.results.size);
    // Over the slide: the layer's canvas lies in the viewer, above the mask's.
    const canvases = [...viewer.canvas.querySelectorAll('canvas')];
    expect(canvases.indexOf(h.uncertaintyLayer.canvas)).to.be.greaterThan(canvases.indexOf(h.maskLayer.canvas));
    h.uncertaintyLayer.redraw();
    await nextFrame();
    const drawn = readCanvas(h.uncertaintyLayer.canvas);
    let magenta = 0;
    for (let o = 0; o < drawn.data.length; o += 4) {
      const [r, g, b, a] = drawn.data.subarray(o, o + 4);
      // Premultiplied pixels read back as the colour itself where alpha is large enough to keep it.
      if (a > 64 && r > 200 && b > 200 && g < 40) magenta++;
    }
    expect(magenta, 'uncertain pixels drawn in the colour map').to.be.greaterThan(100);

    // A later tile joins the layer as it arrives.
    const more = new Promise<void>((resolve) => h.addEventListener('prediction-tile', () => resolve(), { once: true }));
    // A whole view to the right: tiles not computed yet.
    vp.panBy(new OpenSeadragon.Point(vp.getBounds().width, 0), true);
    h.predictView();
    await more;
    expect(h.uncertaintyLayer.tileCount).to.equal(h.session.results.size);

    box.click();
    await when(root, () => !root.querySelector<HTMLInputElement>('#uncertainty')!.checked);
    expect(h.uncertainty).to.equal(false);
    expect(getComputedStyle(h.uncertaintyLayer.canvas).display).to.equal('none');
    expect(h.uncertaintyLayer.tileCount).to.equal(0);
  });
});
