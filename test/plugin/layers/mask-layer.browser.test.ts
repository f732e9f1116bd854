import { assert } from 'chai';
import OpenSeadragon from 'openseadragon';
import { createMaskLayer, type MaskLayer } from '../../../plugin/layers/mask-layer.js';
import {
  MARKS,
  SLIDE,
  VIEWER_CSS,
  centroid,
  closeViewer,
  dice,
  expectedDevicePoint,
  isMarkRed,
  markProbabilities,
  nextFrame,
  openViewer,
  pixelsWhere,
  readCanvas,
  settle,
  view,
} from './overlay-fixtures.js';

/**
 * Largest offsets allowed, in device pixels: between the overlay's and the slide's marks, and from where OpenSeadragon
 * puts them.
 */
const TOLERANCE = 1;
const ANIMATION_TOLERANCE = 3;

const CENTRE = { x: 1030, y: 770 };

interface Alignment {
  marks: number;
  /** Worst distance between the centroids of a mark on the slide (drawer canvas) and on the overlay. */
  slideOffset: number;
  /** Worst distance between the overlay mark's centroid and the mark's centre through OpenSeadragon's conversion. */
  osdOffset: number;
  /** Worst Dice of the two pixel sets. */
  dice: number;
  /**
   * Worst distance between the slide mark's centroid and the mark's centre through OpenSeadragon's conversion: the
   * drawer's own error.
   */
  drawerOffset: number;
  /** Smallest share of a mark's expected area found, on the slide and on the overlay. */
  found: number;
}

/**
 * Finds each mark near where OpenSeadragon says it is, on the slide as the viewer drew it
 * (red pixels of the drawer's canvas) and on the overlay (opaque pixels of the layer's canvas),
 * and compares the two.
 */
function alignment(viewer: OpenSeadragon.Viewer, layer: MaskLayer, devicePerPixel: number): Alignment {
  const drawerCanvas = viewer.drawer.canvas as HTMLCanvasElement;
  assert.equal(layer.canvas.width, drawerCanvas.width, 'overlay and drawer canvases have the same device width');
  assert.equal(layer.canvas.height, drawerCanvas.height);
  const slide = readCanvas(drawerCanvas);
  const overlay = readCanvas(layer.canvas);
  const result: Alignment = { marks: 0, slideOffset: 0, osdOffset: 0, dice: 1, drawerOffset: 0, found: Infinity };
  for (const m of MARKS) {
    const [cx, cy] = expectedDevicePoint(viewer, m.x + m.width / 2, m.y + m.height / 2);
    const radius = (Math.hypot(m.width, m.height) / 2) * devicePerPixel + 6;
    if (cx - radius < 0 || cy - radius < 0 || cx + radius > slide.width || cy + radius > slide.height) continue;
    const onSlide = pixelsWhere(slide, cx, cy, radius, (r, g) => isMarkRed(r, g));
    const onOverlay = pixelsWhere(overlay, cx, cy, radius, (_r, _g, _b, a) => a >= 128);
    const area = m.width * m.height * devicePerPixel ** 2;
    result.found = Math.min(result.found, onSlide.length / area, onOverlay.length / area);
    if (!onSlide.length || !onOverlay.length) continue;
    const [sx, sy] = centroid(onSlide);
    const [ox, oy] = centroid(onOverlay);
    result.marks++;
    result.slideOffset = Math.max(result.slideOffset, Math.hypot(sx - ox, sy - oy));
    result.osdOffset = Math.max(result.osdOffset, Math.hypot(cx - ox, cy - oy));
    result.dice = Math.min(result.dice, dice(onSlide, onOverlay));
    result.drawerOffset = Math.max(result.drawerOffset, Math.hypot(cx - sx, cy - sy));
  }
  return result;
}

const CASES: {
  name: string;
  cssPerPixel: number;
  rotation?: number;
  flip?: boolean;
  centre?: { x: number; y: number };
  minMarks?: number;
  minDice: number;
}[] = [
  { name: 'zoomed in, no rotation', cssPerPixel: 1.2, minDice: 0.9 },
  { name: 'rotated 90°', cssPerPixel: 1.2, rotation: 90, minDice: 0.9 },
  { name: 'rotated 30°', cssPerPixel: 1.2, rotation: 30, minDice: 0.85 },
  { name: 'rotated 30° and flipped', cssPerPixel: 1.2, rotation: 30, flip: true, minDice: 0.85 },
  { name: 'rotated 90° and flipped', cssPerPixel: 1.2, rotation: 90, flip: true, minDice: 0.9 },
  // Closer: two marks in view.
  {
    name: 'zoomed in further, flipped',
    cssPerPixel: 2.5,
    flip: true,
    centre: { x: 1135, y: 815 },
    minMarks: 2,
    minDice: 0.9,
  },
  {
    name: 'zoomed in further, rotated 200°',
    cssPerPixel: 2.5,
    rotation: 200,
    centre: { x: 1135, y: 815 },
    minMarks: 2,
    minDice: 0.9,
  },
  // Zoomed out, every other probability pixel is coloured: marks of 5–12 device pixels.
  { name: 'zoomed out', cssPerPixel: 0.3, minDice: 0.6 },
];

function describeAlignment(label: string, a: Alignment): void {
  console.log(
    `mask alignment, ${label}: ${a.marks} marks, slide↔overlay ${a.slideOffset.toFixed(2)} px, ` +
      `OSD↔overlay ${a.osdOffset.toFixed(2)} px, ` +
      `slide↔OSD ${a.drawerOffset.toFixed(2)} px, Dice ${a.dice.toFixed(3)}, ` +
      `found ≥ ${(a.found * 100).toFixed(0)}% of each mark`,
  );
}

function checkAlignment(a: Alignment, tolerance: number, minMarks: number, minDice: number): void {
  assert.isAtLeast(a.marks, minMarks, 'enough marks in view');
  assert.isAbove(a.found, 0.5, 'every mark is drawn, on the slide and on the overlay');
  assert.isAtMost(a.slideOffset, tolerance, 'overlay marks sit on the slide marks');
  assert.isAtMost(a.osdOffset, TOLERANCE, 'overlay marks sit where OpenSeadragon puts them');
  assert.isAtLeast(a.dice, minDice);
}

// The canvas drawer's own marks sit up to 1.25 px from where OpenSeadragon's coordinates put
// them (it enlarges every tile by a pixel against seams, and rounds); the WebGL drawer's within
// 0.3 px. The overlay is held to OpenSeadragon's coordinates (TOLERANCE) with either drawer, and
// to the slide as drawn within the drawer's own error on top.
const DRAWERS = [
  { drawer: 'webgl', tolerance: TOLERANCE },
  { drawer: 'canvas', tolerance: 2 },
] as const;

for (const { drawer, tolerance } of DRAWERS) {
  describe(`mask layer alignment (${drawer} drawer)`, function () {
    let viewer: OpenSeadragon.Viewer;
    let layer: MaskLayer;

    before(async () => {
      viewer = await openViewer({ drawer });
      assert.equal(viewer.drawer.getType(), drawer);
      layer = createMaskLayer(viewer, { mode: 'mask', color: '#00ff00', opacity: 1 });
      for (const tile of markProbabilities()) layer.addTile(tile);
      assert.equal(layer.tileCount, 4);
    });
    after(() => {
      layer.destroy();
      closeViewer(viewer);
    });

    for (const c of CASES) {
      it(c.name, async () => {
        await view(viewer, { ...(c.centre ?? CENTRE), ...c });
        const a = alignment(viewer, layer, c.cssPerPixel * (window.devicePixelRatio || 1));
        describeAlignment(`${drawer}, ${c.name}`, a);
        checkAlignment(a, tolerance, c.minMarks ?? 4, c.minDice);
      });
    }

    // OpenSeadragon 6.1.1's WebGL drawer, with the item flipped and the view rotated, leaves out
    // part of the slide at a tile boundary (half of a mark is missing from its canvas): there the
    // rotated case is checked on the canvas drawer only.
    const itemFlipRotation = drawer === 'webgl' ? 0 : 30;
    it(`follows the item's own flip (rotated ${itemFlipRotation}°)`, async () => {
      const item = viewer.world.getItemAt(0);
      item.setFlip(true);
      try {
        await view(viewer, { ...CENTRE, cssPerPixel: 1.2, rotation: itemFlipRotation });
        const a = alignment(viewer, layer, 1.2);
        describeAlignment(`${drawer}, item flipped, rotated ${itemFlipRotation}°`, a);
        checkAlignment(a, tolerance, 4, 0.85);
      } finally {
        item.setFlip(false);
        await settle(viewer);
      }
    });

    it('follows a resize of the viewer', async () => {
      try {
        // OpenSeadragon notices the container's new size on its next frame and redraws.
        viewer.element.style.width = `${VIEWER_CSS.width - 130}px`;
        await settle(viewer);
        await view(viewer, { ...CENTRE, cssPerPixel: 1.2, rotation: 30 });
        assert.equal(layer.canvas.width, Math.round((VIEWER_CSS.width - 130) * (window.devicePixelRatio || 1)));
        const a = alignment(viewer, layer, 1.2);
        describeAlignment(`${drawer}, resized, rotated 30°`, a);
        checkAlignment(a, tolerance, 3, 0.85);
      } finally {
        viewer.element.style.width = `${VIEWER_CSS.width}px`;
        await settle(viewer);
      }
    });
  });
}

describe('mask layer during an animated zoom and rotation', function () {
  let viewer: OpenSeadragon.Viewer;
  let layer: MaskLayer;

  before(async () => {
    // Long enough for several frames even on a loaded machine.
    viewer = await openViewer({ animationTime: 2, immediateRender: true });
    layer = createMaskLayer(viewer, { color: '#00ff00', opacity: 1 });
    for (const tile of markProbabilities()) layer.addTile(tile);
    await view(viewer, { ...CENTRE, cssPerPixel: 1.2 });
  });
  after(() => {
    layer.destroy();
    closeViewer(viewer);
  });

  it('is drawn in the same frame as the slide, at every frame', async () => {
    const frames: Alignment[] = [];
    // Registered after the layer's own handler: runs once both have drawn the frame.
    const measure = () => {
      const cssPerPixel = (viewer.viewport.getZoom(true) * viewer.viewport.getContainerSize().x) / SLIDE.width;
      frames.push(alignment(viewer, layer, cssPerPixel));
    };
    viewer.addHandler('update-viewport', measure);
    const finished = new Promise<void>((resolve) => viewer.addOnceHandler('animation-finish', () => resolve()));
    viewer.viewport.zoomTo(viewer.viewport.getZoom() * 1.6);
    viewer.viewport.setRotation(40);
    await finished;
    viewer.removeHandler('update-viewport', measure);
    // Mid-animation the drawer may show part of a mark missing: with immediateRender it draws no
    // coarser level under a tile still loading (on a loaded machine 4 of 22 frames showed half a
    // mark, all at the one level). A mark missing a share f moves its centroid by up to f·L/2 (L ≤
    // 76 device px here): 5.6 px at 85 % (a CI run). The slide is compared on the frames where it
    // drew at least 95 % of every mark (≤ 1.9 px from a missing share).
    const whole = frames.filter((f) => f.found >= 0.95);
    const worst = (list: Alignment[], k: 'slideOffset' | 'osdOffset') => Math.max(...list.map((f) => f[k]));
    console.log(
      `mask alignment while animating: ${frames.length} frames (${whole.length} with the slide's marks whole), ` +
        `slide↔overlay ≤ ${worst(whole, 'slideOffset').toFixed(2)} px, ` +
        `OSD↔overlay ≤ ${worst(frames, 'osdOffset').toFixed(2)} px`,
    );
    assert.isAtLeast(frames.length, 4, 'several frames of animation');
    assert.isAtLeast(whole.length, 3);
    assert.isAtLeast(Math.min(...frames.map((f) => f.marks)), 3);
    assert.isAtMost(worst(frames, 'osdOffset'), TOLERANCE);
    // Each frame's transform is checked exactly above (OSD↔overlay). Against the drawn slide the
    // check is looser mid-animation, for the up to 5 % of a mark the drawer may not have drawn yet.
    assert.isAtMost(worst(whole, 'slideOffset'), ANIMATION_TOLERANCE);
    assert.closeTo(viewer.viewport.getRotation(true), 40, 1e-9);
  });
});

describe('mask layer on a HiDPI screen (devicePixelRatio 2)', function () {
  let viewer: OpenSeadragon.Viewer;
  let layer: MaskLayer;
  const own = Object.getOwnPropertyDescriptor(window, 'devicePixelRatio');
  const osd = OpenSeadragon as unknown as { pixelDensityRatio: number };
  const osdRatio = osd.pixelDensityRatio;

  before(async () => {
    // No device emulation in web-test-runner: the page is told it is on a 2× screen, and
    // OpenSeadragon, which reads the ratio once when loaded, is told again.
    Object.defineProperty(window, 'devicePixelRatio', { configurable: true, get: () => 2 });
    osd.pixelDensityRatio = OpenSeadragon.getCurrentPixelDensityRatio();
    assert.equal(osd.pixelDensityRatio, 2);
    viewer = await openViewer();
    layer = createMaskLayer(viewer, { color: 'lime', opacity: 1 });
    for (const tile of markProbabilities()) layer.addTile(tile);
  });
  after(() => {
    layer.destroy();
    closeViewer(viewer);
    if (own) Object.defineProperty(window, 'devicePixelRatio', own);
    else delete (window as { devicePixelRatio?: number }).devicePixelRatio;
    osd.pixelDensityRatio = osdRatio;
  });

  for (const c of [CASES[2], CASES[3], CASES[6]]) {
    it(c.name, async () => {
      await view(viewer, { ...(c.centre ?? CENTRE), ...c });
      assert.equal((viewer.drawer.canvas as HTMLCanvasElement).width, VIEWER_CSS.width * 2, 'the drawer draws at 2×');
      assert.equal(layer.canvas.width, VIEWER_CSS.width * 2);
      assert.equal(layer.canvas.getBoundingClientRect().width, VIEWER_CSS.width, 'and is shown at CSS size');
      const a = alignment(viewer, layer, c.cssPerPixel * 2);
      describeAlignment(`HiDPI 2×, ${c.name}`, a);
      checkAlignment(a, TOLERANCE, c.minMarks ?? 4, c.minDice);
    });
  }
});

describe('mask layer styles', function () {
  let viewer: OpenSeadragon.Viewer;
  let layer: MaskLayer;
  // One tile over the whole slide, at 1/8 of its resolution: probability rises left to right,
  // column i (of 256) holding (i + 0.5) / 256.
  const width = 256,
    height = 192;
  const probabilities = new Float32Array(width * height);
  for (let j = 0; j < height; j++) for (let i = 0; i < width; i++) probabilities[j * width + i] = (i + 0.5) / width;
  const tile = {
    key: 'ramp',
    level0: { x: 0, y: 0, width: SLIDE.width, height: SLIDE.height },
    tile: { width, height },
    probabilities,
  };
  const before_ = Float32Array.from(probabilities);

  /**
   * The overlay's row through the slide's middle: first opaque device column, opaque columns, and the pixel at a
   * level-0 x.
   */
  const middleRow = () => {
    const pixels = readCanvas(layer.canvas);
    const [, y] = expectedDevicePoint(viewer, SLIDE.width / 2, SLIDE.height / 2);
    const row = Math.floor(y);
    let first = -1,
      opaque = 0;
    for (let x = 0; x < pixels.width; x++) {
      if (pixels.data[(row * pixels.width + x) * 4 + 3] >= 128) {
        opaque++;
        if (first < 0) first = x;
      }
    }
    const at = (level0X: number) => {
      const [px] = expectedDevicePoint(viewer, level0X, SLIDE.height / 2);
      const o = (row * pixels.width + Math.floor(px)) * 4;
      return Array.from(pixels.data.subarray(o, o + 4));
    };
    return { first, opaque, at };
  };

  before(async () => {
    viewer = await openViewer();
    layer = createMaskLayer(viewer, { color: 'rgb(255, 0, 255)', opacity: 0.6, threshold: 0.5 });
    layer.addTile(tile);
    // The whole slide in view, unrotated.
    await view(viewer, { x: SLIDE.width / 2, y: SLIDE.height / 2, cssPerPixel: 0.3 });
    await nextFrame();
  });
  after(() => {
    layer.destroy();
    closeViewer(viewer);
  });

  it(
    'a threshold change re-colours the stored probabilities: the mask edge moves to where ' +
      'the new threshold is crossed',
    async () => {
      let row = middleRow();
      // p > 0.5 from column 128 on, i.e. from level-0 x = 1024.
      assert.approximately(row.first, expectedDevicePoint(viewer, 1024, 0)[0], TOLERANCE);
      assert.deepEqual(row.at(1500), [255, 0, 255, 255]);
      assert.deepEqual(row.at(500), [0, 0, 0, 0]);
      const opaqueAtHalf = row.opaque;

      layer.setStyle({ threshold: 0.25 });
      await nextFrame();
      await nextFrame();
      row = middleRow();
      // p > 0.25 from column 64 on: level-0 x = 512.
      assert.approximately(row.first, expectedDevicePoint(viewer, 512, 0)[0], TOLERANCE);
      assert.isAbove(row.opaque, opaqueAtHalf * 1.4);
      assert.deepEqual(row.at(600), [255, 0, 255, 255]);
      assert.equal(layer.tileCount, 1);
      assert.deepEqual(Array.from(probabilities), Array.from(before_), 'the probabilities are not touched');
    },
  );

  it('probability mode colours by the colormap; opacity is the canvas’s and needs no redraw', async () => {
    layer.setStyle({ mode: 'probability', colormap: 'viridis' });
    await nextFrame();
    await nextFrame();
    let row = middleRow();
    // Column 0 holds p ≈ 0.002, column 255 p ≈ 0.998: viridis's ends.
    const low = row.at(4),
      high = row.at(SLIDE.width - 4);
    [68, 1, 84, 255].forEach((v, i) => assert.approximately(low[i], v, 3, `low end, channel ${i}`));
    [253, 231, 37, 255].forEach((v, i) => assert.approximately(high[i], v, 3, `high end, channel ${i}`));

    layer.setStyle({ colormap: 'ramp' });
    await nextFrame();
    await nextFrame();
    row = middleRow();
    const middle = row.at(SLIDE.width / 2 + 4);
    assert.deepEqual(middle.slice(0, 3), [255, 0, 255]);
    assert.approximately(middle[3], 128, 3, 'alpha is the probability');

    const pixelsBefore = readCanvas(layer.canvas).data.slice();
    layer.setStyle({ opacity: 0.25 });
    await nextFrame();
    assert.equal(layer.canvas.style.opacity, '0.25');
    assert.deepEqual(readCanvas(layer.canvas).data, pixelsBefore);
    assert.equal(layer.style.opacity, 0.25);
  });

  it('a tile with labels draws each class in its colour, 0 transparent, whatever the mode', async () => {
    // Left third class 1, middle third class 2, right third none.
    const labels = Uint8Array.from(
      { length: width * height },
      (_, i) => [1, 2, 0][Math.floor(((i % width) * 3) / width)],
    );
    layer.addTile({ ...tile, labels, colors: ['#ff0000', 'rgb(0, 0, 255)'] });
    for (const mode of ['probability', 'mask'] as const) {
      layer.setStyle({ mode, opacity: 1 });
      layer.redraw();
      const row = middleRow();
      assert.deepEqual(row.at(SLIDE.width / 6), [255, 0, 0, 255], `${mode}: class 1`);
      assert.deepEqual(row.at(SLIDE.width / 2), [0, 0, 255, 255], `${mode}: class 2`);
      assert.equal(row.at((5 * SLIDE.width) / 6)[3], 0, `${mode}: no class is transparent`);
    }
    layer.addTile(tile);
  });

  it('hides and shows, removes, replaces and clears tiles', async () => {
    layer.setStyle({ mode: 'mask', threshold: 0.5, opacity: 1 });
    layer.visible = false;
    await nextFrame();
    assert.equal(getComputedStyle(layer.canvas).display, 'none');
    // A change while hidden shows when shown again.
    layer.setStyle({ threshold: 0.75 });
    layer.visible = true;
    await nextFrame();
    await nextFrame();
    assert.approximately(middleRow().first, expectedDevicePoint(viewer, 1536, 0)[0], TOLERANCE);

    // The same key with other probabilities replaces the tile.
    const flat = new Float32Array(width * height).fill(0.9);
    layer.addTile({ ...tile, probabilities: flat });
    layer.redraw();
    assert.equal(layer.tileCount, 1);
    assert.approximately(middleRow().first, expectedDevicePoint(viewer, 0, 0)[0], TOLERANCE);

    assert.isTrue(layer.removeTile('ramp'));
    assert.isFalse(layer.removeTile('ramp'));
    layer.redraw();
    assert.equal(middleRow().opaque, 0);

    layer.addTile(tile);
    layer.redraw();
    assert.isAbove(middleRow().opaque, 0);
    layer.clear();
    assert.equal(layer.tileCount, 0);
    layer.redraw();
    assert.equal(middleRow().opaque, 0);
  });

  it('zoomed out, colours every n-th probability and keeps the edge in place', async () => {
    // The ramp at the slide's full resolution: 0.3 CSS px per probability pixel, so every
    // other one is coloured (and the tile's bitmap is a quarter of the size).
    const w = SLIDE.width,
      h = SLIDE.height;
    const fine = new Float32Array(w * h);
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) fine[j * w + i] = (i + 0.5) / w;
    layer.addTile({ key: 'ramp', level0: tile.level0, tile: { width: w, height: h }, probabilities: fine });
    layer.setStyle({ threshold: 0.5 });
    layer.redraw();
    assert.approximately(middleRow().first, expectedDevicePoint(viewer, 1024, 0)[0], TOLERANCE);
    layer.setStyle({ threshold: 0.3 });
    layer.redraw();
    assert.approximately(middleRow().first, expectedDevicePoint(viewer, 0.3 * w, 0)[0], TOLERANCE);
    layer.setStyle({ threshold: 0.75 });
    layer.addTile(tile);
  });

  it('refuses tiles and styles that cannot be drawn, changing nothing', () => {
    layer.addTile(tile);
    assert.throws(
      () => layer.addTile({ ...tile, key: 'short', probabilities: new Float32Array(10) }),
      RangeError,
      /10 probabilities/,
    );
    assert.throws(
      () => layer.addTile({ ...tile, key: 'empty', level0: { x: 0, y: 0, width: 0, height: 5 } }),
      RangeError,
    );
    assert.throws(() => layer.setStyle({ color: 'not-a-colour' }), RangeError, /CSS colour/);
    assert.throws(() => layer.setStyle({ opacity: 2 }), RangeError);
    assert.throws(() => layer.setStyle({ threshold: Number.NaN }), RangeError);
    assert.equal(layer.tileCount, 1);
    assert.equal(layer.style.opacity, 1);
    assert.equal(layer.style.threshold, 0.75);
  });

  it('sits in the viewer below its HTML overlays and lets the pointer through', () => {
    assert.equal(layer.canvas.parentElement, viewer.canvas);
    assert.equal(layer.canvas.nextElementSibling, viewer.overlaysContainer);
    assert.equal(getComputedStyle(layer.canvas).pointerEvents, 'none');
    layer.destroy();
    assert.isNull(layer.canvas.parentElement);
    layer = createMaskLayer(viewer);
  });
});

describe('mask layer colouring per frame', function () {
  let viewer: OpenSeadragon.Viewer;
  let layer: MaskLayer;
  // 4 × 3 tiles of 512² over the slide, all p = 1: in the whole-slide view each is coloured at stride
  // 2 (256², a quarter of the frame's colouring), so four are coloured per frame.
  const tiles: Parameters<MaskLayer['addTile']>[0][] = [];
  for (let y = 0; y < SLIDE.height; y += 512)
    for (let x = 0; x < SLIDE.width; x += 512)
      tiles.push({
        key: `${x},${y}`,
        level0: { x, y, width: 512, height: 512 },
        tile: { width: 512, height: 512 },
        probabilities: new Float32Array(512 * 512).fill(1),
      });
  /** The tiles drawn now: opaque at their centre. */
  const drawn = () => {
    const pixels = readCanvas(layer.canvas);
    return tiles.filter((t) => {
      const [x, y] = expectedDevicePoint(viewer, t.level0.x + 256, t.level0.y + 256).map(Math.floor);
      return pixels.data[(y * pixels.width + x) * 4 + 3] === 255;
    }).length;
  };

  before(async () => {
    viewer = await openViewer();
    await view(viewer, { x: SLIDE.width / 2, y: SLIDE.height / 2, cssPerPixel: 0.3 });
    layer = createMaskLayer(viewer, { mode: 'mask', color: '#00ff00', opacity: 1 });
  });
  after(() => {
    layer.destroy();
    closeViewer(viewer);
  });

  it('colours tiles arriving together a few per frame, the rest on the next frames', async () => {
    for (const t of tiles) layer.addTile(t);
    await nextFrame();
    const first = drawn();
    assert.isAtLeast(first, 4);
    assert.isBelow(first, tiles.length, 'not every tile is coloured in the first frame');
    let frames = 1;
    while (drawn() < tiles.length && frames < 30) {
      await nextFrame();
      frames++;
    }
    assert.equal(drawn(), tiles.length, `all drawn after ${frames} frames`);
  });

  it('redraw() colours every tile at once; a layer without tiles is out of the layout', () => {
    layer.clear();
    layer.redraw();
    assert.equal(drawn(), 0);
    assert.equal(getComputedStyle(layer.canvas).display, 'none');
    for (const t of tiles) layer.addTile(t);
    layer.redraw();
    assert.equal(getComputedStyle(layer.canvas).display, 'block');
    assert.equal(drawn(), tiles.length);
  });
});
