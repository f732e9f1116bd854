import { expect } from 'chai';
import OpenSeadragon from 'openseadragon';
import { syntheticHead } from '../sample-viewer.js';
import { useSamplePanel } from './sample-panel.js';
import { nextFrame, readCanvas } from '../layers/overlay-fixtures.js';
import { whenDom as when } from './dom-change.js';

// The panel's Uncertainty toggle in Chromium: a head with a small ensemble loaded into the real
// worker (wasm, the sample slide), the view predicted, the box ticked as a user does; the layer
// must then be drawn over the slide in its colour map (magenta, alpha = u) from the tiles'
// uncertainty, which the worker computed with the probabilities.

describe('<fewshot-segmenter> uncertainty toggle', () => {
  const fixture = useSamplePanel(480, 360);

  it('shows the layer over the slide from the tiles, and hides it again', async () => {
    const h = fixture.handle!;
    const { viewer, display } = fixture.sample!;
    const level0 = display.levels[0];
    const vp = viewer.viewport;
    // A small view (about one output tile at the extractors' scale).
    vp.zoomTo(level0.width / 300, undefined, true);
    vp.panTo(vp.imageToViewportCoordinates(level0.width / 2, level0.height / 2), true);
    // Zero weights: p = σ(2) at every pixel, and members of biases 0, 2 and 4 around it, so the
    // uncertainty is one known number everywhere: 1 − (1 − H₂(σ(2)))(1 − 2σ_E) ≈ 0.72.
    const head = syntheticHead(h, { period: 1, step: 0, offset: 0, b: 2 });
    const members = [0, 2, 4].map((b) => ({ W: head.W, b }));
    await h.loadHead({ ...head, ensemble: { version: 1, method: 'bootstrap', seed: 1, rows: 1, members } });
    const sigma = (z: number) => 1 / (1 + Math.exp(-z));
    const p = sigma(2);
    const entropy = -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
    const m = members.map((x) => sigma(x.b));
    const mean = m.reduce((t, v) => t + v, 0) / 3;
    const sd = Math.sqrt(m.reduce((t, v) => t + (v - mean) ** 2, 0) / 3);
    const expected = Math.round(255 * (1 - (1 - entropy) * (1 - 2 * sd)));
    const root = fixture.panel!.shadowRoot!;
    const box = root.querySelector<HTMLInputElement>('#uncertainty')!;
    expect(box.checked).to.equal(false);
    expect(h.uncertaintyLayer.visible).to.equal(false);

    const nextTile = () =>
      new Promise<void>((resolve) => h.addEventListener('prediction-tile', () => resolve(), { once: true }));
    // Off: the workers compute no members; the uncertainty is H₂(p).
    let tile = nextTile();
    h.predictView();
    await tile;
    const before = [...h.session.results.values()][0];
    expect(before.uncertainty).to.equal(undefined);
    expect(new Set(h.session.uncertaintyOf(before))).to.deep.equal(new Set([Math.round(255 * entropy)]));

    // Ticked: the layer shows, and the head goes to the workers again with its members ('head'),
    // so the view is computed again, now with the ensemble's uncertainty.
    const installed = new Promise<void>((resolve) =>
      h.session.addEventListener('head', () => resolve(), { once: true }),
    );
    box.click();
    await fixture.panel!.updateComplete;
    expect(h.uncertainty).to.equal(true);
    expect(h.uncertaintyLayer.visible).to.equal(true);
    expect(getComputedStyle(h.uncertaintyLayer.canvas).display).to.not.equal('none');
    await installed;
    tile = nextTile();
    h.predictView();
    await tile;
    const first = [...h.session.results.values()][0];
    expect(first.uncertainty, 'the worker sent the ensemble uncertainty').to.be.instanceOf(Uint8Array);
    expect(new Set(first.uncertainty)).to.deep.equal(new Set([expected]), 'u at every pixel');
    expect(expected).to.be.greaterThan(Math.round(255 * entropy) + 20, 'the members add doubt to H₂(p)');
    expect(h.uncertaintyLayer.tileCount).to.equal(h.session.results.size);
    // Over the slide: the layer's canvas lies in the viewer, above the mask's.
    const canvases = [...viewer.canvas.querySelectorAll('canvas')];
    expect(canvases.indexOf(h.uncertaintyLayer.canvas)).to.be.greaterThan(canvases.indexOf(h.maskLayer.canvas));
    h.uncertaintyLayer.redraw();
    await nextFrame();
    const drawn = readCanvas(h.uncertaintyLayer.canvas);
    let magenta = 0;
    for (let o = 0; o < drawn.data.length; o += 4) {
      const [r, g, b, alpha] = drawn.data.subarray(o, o + 4);
      if (alpha > 0) {
        // The colour map: magenta, alpha = u (the canvas's opacity is its CSS, not in its pixels).
        expect([r, g, b]).to.deep.equal([255, 0, 255]);
        expect(alpha).to.be.within(expected - 2, expected + 2);
        magenta++;
      }
    }
    // The first tile (256 of the view's ~300 level-0 pixels across) covers much of the 480×360 view.
    expect(magenta, 'pixels drawn over the slide').to.be.greaterThan(480 * 360 * 0.2);

    // A later tile joins the layer as it arrives.
    const more = nextTile();
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
