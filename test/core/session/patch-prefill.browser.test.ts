import { expect } from 'chai';
import { sendMouse } from '@web/test-runner-commands';
import type { PrefillOutcome } from '../../../core/session/patch-prefill.js';
import { LABEL_BACKGROUND, LABEL_CLASS } from '../../../core/support-set/support-set.js';
import type { FewShot } from '../../../plugin/attach-fewshot.js';
import '../../../plugin/panel/fewshot-segmenter.js';
import type { FewShotSegmenter } from '../../../plugin/panel/fewshot-segmenter.js';
import { apply, imageToElement } from '../../../plugin/layers/view-transform.js';
import { openInWorker } from '../../../plugin/slide/worker-pixel-source.js';
import {
  openSampleViewer,
  sampleSlideExists,
  workerUrl,
  type SampleViewer,
  attachSample,
} from '../../plugin/sample-viewer.js';

// Pre-filled patches through the real handle: attachFewShot on the sample slide with the shipped
// extractors and real Web Workers (wasm), a head adapted on one patch painted from the sample's
// labels, then a new patch filled from the prediction and checked against the handle's own
// prediction of that region (a region run's output tiles: other tiles, other forwards). The patch
// is placed and corrected through real mouse events on the viewer (the place tool, the brush).
const labelsUrl = new URL('/files/.cache/sample/sample-slide-labels.tif', location.origin).href;
const LYMPHOCYTE = 2;
const PATCH = 256;
// The sample is 0.5 µm/px, the extractors 0.25: a patch is 128 level-0 pixels on a side.
const SIDE = PATCH / 2;

/** Page coordinates (CSS px) of level-0 (x, y), through the overlays' own transform. */
function pagePoint(viewer: SampleViewer['viewer'], x: number, y: number): [number, number] {
  const [ex, ey] = apply(imageToElement(viewer, viewer.world.getItemAt(0)), x, y);
  const box = viewer.element.getBoundingClientRect();
  return [Math.round(box.left + ex), Math.round(box.top + ey)];
}

describe('pre-filled patches (attachFewShot)', function () {
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

  it('a patch placed after Adapt is the thresholded prediction, filled in one undo step; edits count', async () => {
    handle = await attachSample(sample!.viewer, { workers: 2 });
    const h = handle;
    expect(h.prefill).to.equal(true);

    // One support patch on the most lymphocyte-rich spot of a coarse scan, painted from the labels.
    const labels = await openInWorker({ kind: 'url', url: labelsUrl }, { workerUrl });
    let best = { x: 0, y: 0, n: -1, ids: new Uint8Array(0) };
    try {
      for (let y = 1024; y < 7168; y += 1024) {
        for (let x = 1024; x < 7168; x += 1024) {
          const rgb = await labels.readRegion({ level: 0, x, y, width: SIDE, height: SIDE });
          const ids = Uint8Array.from({ length: SIDE * SIDE }, (_, i) => rgb[3 * i]);
          const n = ids.reduce((s, id) => s + (id === LYMPHOCYTE ? 1 : 0), 0);
          if (n > best.n) best = { x, y, n, ids };
        }
      }
    } finally {
      labels.close();
    }
    const mask = Uint8Array.from({ length: PATCH * PATCH }, (_, i) =>
      best.ids[((i / PATCH) >> 1) * SIDE + ((i % PATCH) >> 1)] === LYMPHOCYTE ? LABEL_CLASS : LABEL_BACKGROUND,
    );
    h.support.replacePatches([{ id: 'shot', x: best.x, y: best.y, scale: h.grid.scaleX, mask }]);
    await h.adapt();

    const filled = new Promise<PrefillOutcome>((resolve) =>
      h.addEventListener('prefill', (e) => resolve(e.detail), { once: true }),
    );
    // Placed with the place tool by a click beside the shot, across a seam of the 512² output tiles.
    const { viewer } = sample!;
    const vp = viewer.viewport;
    const centre = { x: best.x + 200 + SIDE / 2, y: best.y + 40 + SIDE / 2 };
    vp.zoomTo(h.support.slide.width / 400, undefined, true);
    vp.panTo(vp.imageToViewportCoordinates(centre.x, centre.y), true);
    h.tools.setTool('place');
    const before = h.support.patches.length;
    await sendMouse({ type: 'click', position: pagePoint(viewer, centre.x, centre.y) });
    expect(h.support.patches.length, 'the click placed a patch').to.equal(before + 1);
    const { id, x, y } = h.support.patches.at(-1)!;
    const at = { x, y };
    expect(Math.abs(x - (centre.x - SIDE / 2))).to.be.at.most(1);
    expect(h.session.prefillPending).to.equal(id);
    const outcome = await filled;
    expect(outcome.outcome, JSON.stringify(outcome)).to.equal('filled');
    expect(outcome.id).to.equal(id);
    const patch = h.support.patch(id)!;
    const fill = patch.mask.slice();

    // The handle's own prediction of that region, thresholded here.
    const run = await h.predictRegion({ x: at.x, y: at.y, width: SIDE, height: SIDE });
    expect((await run.finished).state).to.equal('finished');
    const rect = {
      x: Math.round(at.x / h.grid.scaleX),
      y: Math.round(at.y / h.grid.scaleY),
      width: PATCH,
      height: PATCH,
    };
    const mosaic = h.session.results.mosaic(rect)!;
    const t = h.session.threshold;
    let differ = 0;
    let classPixels = 0;
    for (let i = 0; i < fill.length; i++) {
      const p = mosaic.probabilities[i];
      const expected = p > t ? LABEL_CLASS : LABEL_BACKGROUND;
      classPixels += expected;
      // Another forward rounds differently: only pixels within 1e-4 of the threshold may flip.
      if (fill[i] !== expected) {
        differ++;
        expect(Math.abs(p - t), `pixel ${i}: p ${p}, filled ${fill[i]}`).to.be.lessThan(1e-4);
      }
    }
    expect(differ).to.be.at.most(2);
    expect(classPixels).to.be.within(500, PATCH * PATCH - 500);
    expect(h.support.changes(id)).to.deep.equal({ pixels: 0, fraction: 0 });
    console.log(
      `pre-fill: ${outcome.outcome === 'filled' && outcome.seconds.toFixed(2)} s, ` +
        `${classPixels} class px, ${differ} differ from the region's tiles`,
    );

    // Undo removes the fill in one step and leaves the placed, empty patch; redo brings it back.
    expect(h.support.undoLabel).to.equal('prefill');
    h.support.undo();
    expect(h.support.patch(id)).to.equal(patch);
    expect(patch.mask.every((v) => v === LABEL_BACKGROUND)).to.equal(true);
    expect(h.support.changes(id)).to.equal(undefined);
    expect(h.support.undoLabel).to.equal('add patch');
    h.support.redo();
    expect([...patch.mask]).to.deep.equal([...fill]);

    // A correction with the brush, dragged across the patch: the count is the pixels that differ from the fill.
    h.tools.setTool('brush');
    h.tools.setBrushSize(20);
    await sendMouse({ type: 'move', position: pagePoint(viewer, at.x + 15, at.y + 100) });
    await sendMouse({ type: 'down' });
    await sendMouse({ type: 'move', position: pagePoint(viewer, at.x + 60, at.y + 100) });
    await sendMouse({ type: 'move', position: pagePoint(viewer, at.x + 110, at.y + 100) });
    await sendMouse({ type: 'up' });
    expect(h.support.undoLabel).to.equal('paint');
    let changed = 0;
    for (let i = 0; i < fill.length; i++) if (patch.mask[i] !== fill[i]) changed++;
    expect(changed).to.be.greaterThan(0);
    expect(h.support.changes(id)).to.deep.equal({ pixels: changed, fraction: changed / (PATCH * PATCH) });
  });

  it("the panel shows a pre-filled patch's changed share; its checkbox turns pre-filling off", async () => {
    const h = handle!;
    panel = document.createElement('fewshot-segmenter');
    panel.handle = h;
    document.body.append(panel);
    await panel.updateComplete;
    const root = panel.shadowRoot!;
    const items = [...root.querySelectorAll<HTMLButtonElement>('.patch')];
    expect(items.length).to.equal(h.support.patches.length);
    h.support.patches.forEach((p, i) => {
      const c = h.support.changes(p.id);
      const label = items[i].querySelector('span')!.textContent!.trim();
      // The shot was painted, not pre-filled: no share; the filled patch shows its corrections.
      expect(label).to.equal(c ? `${i + 1} · ${Math.round(c.fraction * 100)} %` : `${i + 1}`);
      if (c) expect(items[i].title).to.contain(`${c.pixels} px`);
    });
    expect(h.support.patches.some((p) => h.support.changes(p.id) && h.support.changes(p.id)!.pixels > 0)).to.equal(
      true,
    );

    const box = root.querySelector<HTMLInputElement>('#prefill')!;
    expect(box.checked).to.equal(true);
    box.click();
    expect(h.prefill).to.equal(false);
    const id = h.support.addPatch({ x: 3000, y: 3000 });
    expect(h.session.prefillPending, 'off: nothing is computed').to.equal(null);
    expect(h.support.patch(id)!.mask.every((v) => v === LABEL_BACKGROUND)).to.equal(true);
    box.click();
    expect(h.prefill).to.equal(true);
  });
});
