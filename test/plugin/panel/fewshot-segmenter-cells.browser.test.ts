import { expect } from 'chai';
import type OpenSeadragon from 'openseadragon';
import { sendMouse } from '@web/test-runner-commands';
import { pointInRing } from '../../../core/cells/ring-geometry.js';
import type { FewShot } from '../../../plugin/attach-fewshot.js';
import { apply, imageToElement } from '../../../plugin/layers/view-transform.js';
import type { CellTable } from '../../../plugin/panel/cell-table.js';
import '../../../plugin/panel/fewshot-segmenter.js';
import type { FewShotSegmenter } from '../../../plugin/panel/fewshot-segmenter.js';
import {
  attachSample,
  openSampleViewer,
  sampleSlideExists,
  syntheticHead,
  predictWholeView,
  type SampleViewer,
} from '../sample-viewer.js';
import { whenDom as when } from './dom-change.js';

// The panel's cell table over a real viewer, worker and extractors on the sample slide, driven
// by real mouse events: a row click takes the viewer to the cell and outlines it; a click on a
// cell in the viewer selects its row; the table's rows are the measured cells of the prediction.
/** minX, minY, maxX, maxY of a flat ring. */
function boxOf(ring: Float64Array): [number, number, number, number] {
  const xs = ring.filter((_, i) => i % 2 === 0);
  const ys = ring.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

describe('<fewshot-segmenter> cell table ↔ viewer', () => {
  let sample: SampleViewer | undefined;
  let handle: FewShot | undefined;
  let panel: FewShotSegmenter | undefined;
  let home: { zoom: number; center: OpenSeadragon.Point };

  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    sample = await openSampleViewer(480, 360);
    const { viewer, display } = sample;
    handle = await attachSample(viewer, { className: 'Lymphocyte' });
    panel = document.createElement('fewshot-segmenter');
    Object.assign(panel.style, { position: 'fixed', top: '0', left: '490px', width: '300px', height: '590px' });
    panel.handle = handle;
    document.body.append(panel);
    await panel.updateComplete;
    await handle.loadHead(syntheticHead(handle, { period: 3, step: 0.02, offset: 0.02, b: -0.3 }));
    const vp = viewer.viewport;
    const level0 = display.levels[0];
    vp.zoomTo(level0.width / 300, undefined, true);
    vp.panTo(vp.imageToViewportCoordinates(level0.width / 2, level0.height / 2), true);
    home = { zoom: vp.getZoom(), center: vp.getCenter() };
    // Every tile of the view: the table then holds all the view's cells.
    await predictWholeView(handle);
    await panel.updateComplete;
  });

  after(() => {
    panel?.remove();
    handle?.destroy();
    sample?.close();
  });

  const root = () => panel!.shadowRoot!;
  const table = () => root().querySelector<CellTable>('fewshot-cell-table')!;

  async function click(element: Element): Promise<void> {
    element.scrollIntoView({ block: 'center' });
    const r = element.getBoundingClientRect();
    // Near its left end: a row is wider than the table's scroller (which scrolls sideways).
    const x = Math.round(r.left + Math.min(r.width / 2, 20));
    await sendMouse({ type: 'click', position: [x, Math.round(r.top + r.height / 2)] });
  }

  /** Resolves once the viewer has drawn its current target view (the overlays draw in the same frame). */
  async function settled(): Promise<void> {
    const vp = sample!.viewer.viewport;
    for (;;) {
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const [now, target] = [vp.getCenter(true), vp.getCenter(false)];
      if (now.x === target.x && now.y === target.y && vp.getZoom(true) === vp.getZoom(false)) break;
    }
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }

  /** The level-0 point's position on the page. */
  function pagePoint(x: number, y: number): [number, number] {
    const { viewer } = sample!;
    const [ex, ey] = apply(imageToElement(viewer, viewer.world.getItemAt(0)), x, y);
    const r = viewer.element.getBoundingClientRect();
    return [r.left + ex, r.top + ey];
  }

  it('lists the measured cells of the prediction: the table is cellTable, in µm', async () => {
    await click(root().querySelector('#cell-table-load')!);
    await when(root(), () => root().querySelector('fewshot-cell-table') !== null);
    await table().updateComplete;
    const expected = await handle!.cellTable();
    expect(expected.length).to.be.above(20);
    expect(table().rows.map((r) => r.measurements)).to.deep.equal(expected.map((r) => r.measurements));
    const headers = [...table().shadowRoot!.querySelectorAll('[role=columnheader]')].map((h) => h.textContent!.trim());
    expect(headers.slice(0, 3)).to.deep.equal(['ID ▲', 'Mask area µm^2', 'Perimeter µm']);
    expect(headers).to.include('Hematoxylin OD mean');
  });

  it('a row click takes the viewer to its cell and outlines it there', async () => {
    const t = table();
    // The largest cell first: sorted by area, descending, by two header clicks.
    const areaHeader = t.shadowRoot!.querySelector('[role=columnheader][title="Mask area µm^2"]')!;
    await click(areaHeader);
    await t.updateComplete;
    await click(areaHeader);
    await t.updateComplete;
    const largest = t.rows.reduce(
      (best, r, i) => (r.measurements['Mask area µm^2'] > t.rows[best].measurements['Mask area µm^2'] ? i : best),
      0,
    );
    expect(t.shownRows[0]).to.equal(largest);
    const row = t.shadowRoot!.querySelector(`.tr[data-index="${largest}"]`)!;
    await click(row);
    await settled();
    expect(row.getAttribute('aria-selected')).to.equal('true');

    const outline = t.rows[largest].outline;
    const [x0, y0, x1, y1] = boxOf(outline);
    const { viewer } = sample!;
    const centre = viewer.viewport.viewportToImageCoordinates(viewer.viewport.getCenter(true));
    expect(Math.abs(centre.x - (x0 + x1) / 2)).to.be.below(1);
    expect(Math.abs(centre.y - (y0 + y1) / 2)).to.be.below(1);
    // Zoomed to eight times the cell's size (the view's shorter side).
    const view = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true));
    const side = Math.max(8 * Math.max(x1 - x0, y1 - y0), 64);
    expect(Math.min(view.width, view.height) / side).to.be.within(0.99, 1.01);
    // The highlight canvas has the outline's pixels on its first vertex, and none in the view's corner.
    const canvas = viewer.element.querySelector<HTMLCanvasElement>('canvas.fewshot-cell-highlight')!;
    const ctx = canvas.getContext('2d')!;
    const ratio = canvas.width / viewer.element.clientWidth;
    const [ex, ey] = apply(imageToElement(viewer, viewer.world.getItemAt(0)), outline[0], outline[1]);
    const around = ctx.getImageData(Math.round(ex * ratio) - 2, Math.round(ey * ratio) - 2, 5, 5).data;
    expect(Math.max(...around.filter((_, i) => i % 4 === 3))).to.be.above(100);
    expect(ctx.getImageData(2, 2, 1, 1).data[3]).to.equal(0);
  });

  it('a click on a cell in the viewer selects its row and scrolls to it, without zooming', async () => {
    const { viewer } = sample!;
    viewer.viewport.zoomTo(home.zoom, undefined, true);
    viewer.viewport.panTo(home.center, true);
    await settled();
    const t = table();
    const selectedBefore = t.selected;
    // A cell other than the selected one, with its box centre inside it and in the viewer.
    const r = viewer.element.getBoundingClientRect();
    const target = t.rows.findIndex((row, i) => {
      if (i === selectedBefore) return false;
      const o = row.outline;
      const [x0, y0, x1, y1] = boxOf(o);
      const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
      const [px, py] = pagePoint(cx, cy);
      const inView = px > r.left + 5 && px < r.right - 5 && py > r.top + 5 && py < r.bottom - 5;
      return inView && x1 - x0 > 3 && pointInRing(o, cx, cy);
    });
    expect(target).to.be.at.least(0);
    const o = t.rows[target].outline;
    const [x0, y0, x1, y1] = boxOf(o);
    const zoom = viewer.viewport.getZoom(false);
    await sendMouse({
      type: 'click',
      position: pagePoint((x0 + x1) / 2, (y0 + y1) / 2).map(Math.round) as [number, number],
    });
    await t.updateComplete;
    expect(t.selected).to.equal(target);
    await when(t.shadowRoot!, () => t.shadowRoot!.querySelector(`.tr[data-index="${target}"]`) !== null);
    const row = t.shadowRoot!.querySelector(`.tr[data-index="${target}"]`)!;
    expect(row.getAttribute('aria-selected')).to.equal('true');
    expect(viewer.viewport.getZoom(false)).to.equal(zoom, 'the click on a cell does not zoom');
  });
});
