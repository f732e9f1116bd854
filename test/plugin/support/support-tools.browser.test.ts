import { expect } from 'chai';
import { sendMouse } from '@web/test-runner-commands';
import type OpenSeadragon from 'openseadragon';
import { createSupportLayer, type SupportLayer } from '../../../plugin/support/support-layer.js';
import { createSupportTools, type SupportTools } from '../../../plugin/support/support-tools.js';
import { apply, imageToElement } from '../../../plugin/layers/view-transform.js';
import { createSupportSet, type SupportSetStore } from '../../../core/support-set/support-set.js';
import { closeViewer, openViewer, SLIDE, view } from '../layers/overlay-fixtures.js';

// The support tools driven by real mouse events (Playwright through web-test-runner), on an
// OpenSeadragon viewer shown straight and rotated and flipped: clicks and drags must land on the
// patch pixels under the pointer.
const SCALE = 0.5; // level-0 pixels per patch pixel: a 256² patch covers 128² level-0 pixels

let viewer: OpenSeadragon.Viewer;
let store: SupportSetStore;
let tools: SupportTools;
let layer: SupportLayer;

/** Page coordinates (CSS px) of level-0 (x, y), through the overlays' own transform. */
function pagePoint(x: number, y: number): [number, number] {
  const [ex, ey] = apply(imageToElement(viewer, viewer.world.getItemAt(0)), x, y);
  const box = viewer.element.getBoundingClientRect();
  return [Math.round(box.left + ex), Math.round(box.top + ey)];
}

/** Level-0 point of a patch pixel's centre. */
const level0Of = (patch: { x: number; y: number }, px: number, py: number): [number, number] => [
  patch.x + (px + 0.5) * SCALE,
  patch.y + (py + 0.5) * SCALE,
];

async function click(x: number, y: number): Promise<void> {
  await sendMouse({ type: 'click', position: pagePoint(x, y) });
}

async function drag(points: readonly [number, number][]): Promise<void> {
  await sendMouse({ type: 'move', position: pagePoint(...points[0]) });
  await sendMouse({ type: 'down' });
  for (const p of points.slice(1)) await sendMouse({ type: 'move', position: pagePoint(...p) });
  await sendMouse({ type: 'up' });
}

for (const pose of [
  { rotation: 0, flip: false },
  { rotation: 30, flip: true },
]) {
  describe(`support tools with real mouse events (rotation ${pose.rotation}°, flip ${pose.flip})`, () => {
    before(async () => {
      viewer = await openViewer({
        gestureSettingsMouse: { clickToZoom: true, dblClickToZoom: true } as OpenSeadragon.GestureSettings,
      });
      await view(viewer, { x: 1024, y: 768, cssPerPixel: 2, ...pose });
      store = createSupportSet({
        slide: { name: 'synthetic', width: SLIDE.width, height: SLIDE.height },
        extractorMpp: 0.25,
        scale: SCALE,
      });
      tools = createSupportTools(viewer, store);
      layer = createSupportLayer(viewer, store, tools);
    });
    after(() => closeViewer(viewer));

    it('places a patch centred on the click, on whole patch pixels, without zooming', async () => {
      const zoom = viewer.viewport.getZoom();
      tools.setTool('place');
      await click(1010, 770);
      expect(store.patches).to.have.length(1);
      const p = store.patches[0];
      // Centred within a patch pixel plus a CSS pixel of pointer rounding.
      expect(Math.abs(p.x + 64 - 1010)).to.be.at.most(1);
      expect(Math.abs(p.y + 64 - 770)).to.be.at.most(1);
      expect((p.x / SCALE) % 1).to.equal(0);
      expect((p.y / SCALE) % 1).to.equal(0);
      expect(viewer.viewport.getZoom()).to.equal(zoom);
    });

    it('paints along a drag inside the patch (one undo step), erases and marks ignore', async () => {
      const patch = store.patches[0];
      tools.setTool('brush');
      tools.setBrushSize(6);
      await drag([level0Of(patch, 40, 60), level0Of(patch, 120, 60), level0Of(patch, 200, 60)]);
      const mask = store.patch(patch.id)!.mask;
      const at = (x: number, y: number) => mask[y * 256 + x];
      // On the stroke's line: painted; 10 patch pixels off it (beyond pointer rounding): not.
      for (const x of [45, 80, 120, 160, 195]) expect(at(x, 60), `(${x}, 60)`).to.equal(1);
      for (const x of [45, 120, 195]) {
        expect(at(x, 70)).to.equal(0);
        expect(at(x, 50)).to.equal(0);
      }
      expect(at(20, 60)).to.equal(0);
      expect(at(220, 60)).to.equal(0);
      expect(store.undoLabel).to.be.a('string');
      tools.setTool('erase');
      await drag([level0Of(patch, 110, 60), level0Of(patch, 130, 60)]);
      expect(at(120, 60)).to.equal(0);
      expect(at(80, 60)).to.equal(1);
      tools.setTool('ignore');
      await drag([level0Of(patch, 60, 180), level0Of(patch, 100, 180)]);
      expect(at(80, 180)).to.equal(255);
      // Undo the ignore and the erase: the stroke is whole again.
      store.undo();
      store.undo();
      expect(at(80, 180)).to.equal(0);
      expect(at(120, 60)).to.equal(1);
    });

    it('fills a polygon clicked vertex by vertex, exactly the pixels whose centres are inside', async () => {
      const patch = store.patches[0];
      tools.setTool('polygon');
      for (const [px, py] of [
        [150, 120],
        [240, 130],
        [190, 230],
      ] as const)
        await click(...level0Of(patch, px, py));
      const draft = tools.draft!;
      expect(draft.points).to.have.length(3);
      const corners = draft.points.map(([x, y]) => [(x - patch.x) / SCALE, (y - patch.y) / SCALE] as [number, number]);
      expect(tools.closePolygon()).to.equal(true);
      const mask = store.patch(patch.id)!.mask;
      // Independent reference: the sign of the three edge functions at each pixel centre.
      const side = (a: [number, number], b: [number, number], x: number, y: number) =>
        (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
      let checked = 0;
      for (let y = 110; y < 240; y++) {
        for (let x = 140; x < 250; x++) {
          const s = [
            side(corners[0], corners[1], x + 0.5, y + 0.5),
            side(corners[1], corners[2], x + 0.5, y + 0.5),
            side(corners[2], corners[0], x + 0.5, y + 0.5),
          ];
          // Pixel centres within a hair of an edge may go either way.
          if (s.some((v) => Math.abs(v) < 1e-6)) continue;
          const inside = s.every((v) => v > 0) || s.every((v) => v < 0);
          expect(mask[y * 256 + x] === 1, `(${x}, ${y})`).to.equal(inside);
          checked++;
        }
      }
      expect(checked).to.be.greaterThan(10000);
      expect(tools.draft).to.equal(undefined);
    });

    it('a drag that starts outside every patch pans the view and paints nothing', async () => {
      tools.setTool('brush');
      const before = viewer.viewport.getCenter(true);
      const revision = store.revision;
      await drag([
        [1110, 690],
        [1130, 690],
        [1150, 700],
      ]);
      await new Promise((r) => setTimeout(r, 50));
      const after = viewer.viewport.getCenter(true);
      expect(Math.hypot(after.x - before.x, after.y - before.y)).to.be.greaterThan(0.005);
      expect(store.revision).to.equal(revision);
    });

    it('paints the active class: a second class’s brush and polygon write its label, drawn in its colour', async () => {
      const patch = store.patches[0];
      store.updateClass(1, { color: '#ff0000' });
      expect(store.addClass({ name: 'Immune', color: '#0000ff' })).to.equal(2);
      tools.setTool('brush');
      tools.setActiveClass(2);
      expect(tools.activeClass).to.equal(2);
      await drag([level0Of(patch, 30, 20), level0Of(patch, 90, 20)]);
      const mask = store.patch(patch.id)!.mask;
      for (const x of [35, 60, 85]) expect(mask[20 * 256 + x], `(${x}, 20)`).to.equal(2);
      expect(mask[60 * 256 + 80], 'class 1 stays class 1').to.equal(1);
      tools.setTool('polygon');
      for (const [px, py] of [
        [10, 200],
        [50, 200],
        [30, 250],
      ] as const)
        await click(...level0Of(patch, px, py));
      expect(tools.closePolygon()).to.equal(true);
      expect(mask[215 * 256 + 30]).to.equal(2);
      // The layer draws each class in its colour.
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const colourAt = (px: number, py: number) => {
        const [x, y] = apply(imageToElement(viewer, viewer.world.getItemAt(0)), ...level0Of(patch, px, py));
        const ratio = layer.canvas.width / viewer.element.clientWidth;
        return [
          ...layer.canvas.getContext('2d')!.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data,
        ];
      };
      const [r2, g2, b2, a2] = colourAt(60, 20);
      expect(a2).to.be.greaterThan(0);
      expect(b2, `class 2 pixel ${[r2, g2, b2]}`).to.be.greaterThan(r2 + 50);
      const [r1, g1, b1] = colourAt(80, 60);
      expect(r1, `class 1 pixel ${[r1, g1, b1]}`).to.be.greaterThan(b1 + 50);
      // Removing the active class falls back to class 1.
      store.removeClass(2);
      expect(tools.activeClass).to.equal(1);
      expect(mask[20 * 256 + 60]).to.equal(0);
    });
  });
}
