import { expect } from 'chai';
import { sendMouse } from '@web/test-runner-commands';
import { parseClassHeads } from '../../../core/adaptation/class-heads.js';
import { parseSupportSet } from '../../../core/support-set/support-set-file.js';
import { apply, imageToElement } from '../../../plugin/layers/view-transform.js';
import { useSamplePanel } from './sample-panel.js';
import { whenDom as when } from './dom-change.js';

// Several classes in the panel as a user makes them, through real mouse events: Add class, the
// brush of each class painted in a patch, Adapt (one head per class), the class heads and the
// support set saved with both classes; on a real viewer, worker and extractors over the sample slide.

describe('<fewshot-segmenter> several classes', () => {
  const fixture = useSamplePanel(480, 360, { className: 'Tumor', color: '#ff0000' });

  it('adds a class, paints each with its brush, adapts one head per class, saves both, removes one', async () => {
    const h = fixture.handle!;
    const viewer = h.viewer;
    const root = fixture.panel!.shadowRoot!;
    const button = (selector: string) => root.querySelector<HTMLButtonElement>(selector)!;

    // A patch filling most of the view.
    const centre = viewer.viewport.viewportToImageCoordinates(viewer.viewport.getCenter(true));
    const origin = h.support.originCentredAt(centre.x, centre.y);
    const id = h.support.addPatch(origin);
    const patch = h.support.patch(id)!;
    const side = h.support.patchSize * patch.scale;
    viewer.viewport.fitBounds(viewer.viewport.imageToViewportRectangle(patch.x, patch.y, side, side), true);
    const page = (px: number, py: number): [number, number] => {
      const [ex, ey] = apply(
        imageToElement(viewer, viewer.world.getItemAt(0)),
        patch.x + (px + 0.5) * patch.scale,
        patch.y + (py + 0.5) * patch.scale,
      );
      const box = viewer.element.getBoundingClientRect();
      return [Math.round(box.left + ex), Math.round(box.top + ey)];
    };
    const drag = async (points: [number, number][]) => {
      viewer.element.scrollIntoView({ block: 'center' });
      await sendMouse({ type: 'move', position: page(...points[0]) });
      await sendMouse({ type: 'down' });
      for (const p of points.slice(1)) await sendMouse({ type: 'move', position: page(...p) });
      await sendMouse({ type: 'up' });
    };
    const clickOn = async (element: Element) => {
      element.scrollIntoView({ block: 'center' });
      const r = element.getBoundingClientRect();
      await sendMouse({
        type: 'click',
        position: [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)],
      });
      await fixture.panel!.updateComplete;
    };

    // One class: the panel as before, only Add class.
    expect(root.querySelectorAll('#classes .class')).to.have.length(0);
    await clickOn(button('#add-class'));
    expect(h.support.classes.map((c) => c.name)).to.deep.equal(['Tumor', 'Class 2']);
    expect(h.support.classes[0].color).to.equal('#ff0000', 'the first class keeps the session’s colour');
    expect(root.querySelectorAll('#classes .class')).to.have.length(2);
    expect(h.tools.activeClass).to.equal(2, 'the new class is the brush’s');
    const name = root.querySelector<HTMLInputElement>('.class[data-label="2"] .class-name')!;
    name.value = 'Stroma';
    name.dispatchEvent(new Event('change'));
    expect(h.support.classes[1].name).to.equal('Stroma');

    await clickOn(root.querySelector('[data-tool="brush"]')!);
    h.tools.setBrushSize(24);
    await drag([
      [30, 40],
      [130, 40],
      [226, 40],
    ]);
    await clickOn(root.querySelector('.class[data-label="1"] input[type=radio]')!);
    expect(h.tools.activeClass).to.equal(1);
    await drag([
      [30, 200],
      [130, 200],
      [226, 200],
    ]);
    const mask = h.support.patch(id)!.mask;
    expect(mask[40 * 256 + 130], 'the first stroke painted class 2').to.equal(2);
    expect(mask[200 * 256 + 130], 'the second stroke painted class 1').to.equal(1);

    await clickOn(button('#adapt'));
    await when(root, () => /Adapted 2 classes|Adapt failed/.test(root.textContent ?? ''));
    expect(root.textContent).to.match(/Adapted 2 classes in [\d.]+ s \(class pixels: Tumor \d+, Stroma \d+\)/);
    await when(root, () => root.querySelector('#save-class-heads') !== null);
    // The overlay shows the view's composition, each class in its colour.
    expect(root.textContent).to.match(/The view shows each class in its colour/);
    h.maskLayer.redraw();
    const canvas = h.maskLayer.canvas;
    const rgba = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const count = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      let n = 0;
      for (let i = 0; i < rgba.length; i += 4) if (rgba[i] === r && rgba[i + 1] === g && rgba[i + 2] === b) n++;
      return n;
    };
    expect(count('#ff0000'), 'Tumor pixels in its colour').to.be.greaterThan(0);
    expect(count(h.support.classes[1].color), 'Stroma pixels in its colour').to.be.greaterThan(0);
    const heads = parseClassHeads(JSON.stringify(h.session.saveClassHeads()));
    expect(heads.map((c) => [c.name, c.color, c.head.metadata.classLabel])).to.deep.equal([
      ['Tumor', '#ff0000', 1],
      ['Stroma', h.support.classes[1].color, 2],
    ]);
    const saved = parseSupportSet(h.exportSupportSet());
    expect(saved.classes!.map((c) => c.name)).to.deep.equal(['Tumor', 'Stroma']);
    expect(saved.patches[0].mask[40 * 256 + 130]).to.equal(2);

    // Removing a class falls back to one: the panel as before.
    await clickOn(root.querySelector('.class[data-label="2"] .remove-class')!);
    expect(h.support.classes).to.have.length(1);
    expect(root.querySelectorAll('#classes .class')).to.have.length(0);
  });
});
