import { assert } from 'chai';
import OpenSeadragon from 'openseadragon';
import { createContourLayer, type ContourLayer, type ContourTile } from '../../../plugin/layers/contour-layer.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { pixelDiff } from '../../pixel-diff.js';
import { randomCell } from '../../core/cells/random-cells.js';
import {
  closeViewer,
  expectedDevicePoint,
  nextFrame,
  openViewer,
  readCanvas,
  settle,
  view,
} from './overlay-fixtures.js';

// The cached drawing (raster-cache.ts, used above `cacheAbove` segments in view; 0 here: always)
// against a reference: the same rings pushed through OpenSeadragon's own conversions onto a
// canvas of the layer's size and stroked there in device pixels.

const LINE = 2;
const COLOR = '#00ffff';
/** One tile of 1024 level-0 pixels traced at half resolution; its cells spread over all of it. */
const TILE = { x: 512, y: 384, size: 1024 };

function cellsTile(count: number, seed: number): ContourTile {
  const random = new SeededRandom(seed);
  const cells = Array.from({ length: count }, () => ({
    rings: randomCell(random, 10 + random.next() * 492, 10 + random.next() * 492),
    area: 1,
  }));
  return {
    key: 'cells',
    level0: { x: TILE.x, y: TILE.y, width: TILE.size, height: TILE.size },
    tile: { width: 512, height: 512 },
    cells,
  };
}

function reference(viewer: OpenSeadragon.Viewer, layer: ContourLayer, tile: ContourTile): Uint8ClampedArray {
  const canvas = document.createElement('canvas');
  canvas.width = layer.canvas.width;
  canvas.height = layer.canvas.height;
  const ctx = canvas.getContext('2d')!;
  ctx.strokeStyle = COLOR;
  ctx.lineWidth = LINE * (window.devicePixelRatio || 1);
  ctx.miterLimit = 2;
  const s = tile.level0.width / tile.tile.width;
  ctx.beginPath();
  for (const cell of tile.cells) {
    for (const ring of cell.rings) {
      for (let i = 0; i < ring.length; i += 2) {
        const [x, y] = expectedDevicePoint(viewer, tile.level0.x + ring[i] * s, tile.level0.y + ring[i + 1] * s);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.closePath();
    }
  }
  ctx.stroke();
  return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
}

/** Alpha of each pixel, and how many are mostly opaque. */
function alpha(data: Uint8ClampedArray): { alpha: Uint8Array; opaque: number } {
  const out = new Uint8Array(data.length / 4);
  let opaque = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[4 * i + 3];
    if (out[i] >= 128) opaque++;
  }
  return { alpha: out, opaque };
}

/** Alpha-weighted centre of the drawing, device pixels. */
function centre(data: Uint8ClampedArray, width: number): [number, number] {
  let sx = 0,
    sy = 0,
    sw = 0;
  for (let i = 3, p = 0; i < data.length; i += 4, p++) {
    sx += data[i] * (p % width);
    sy += data[i] * Math.floor(p / width);
    sw += data[i];
  }
  return [sx / sw, sy / sw];
}

function compare(viewer: OpenSeadragon.Viewer, layer: ContourLayer, tile: ContourTile) {
  const drawn = readCanvas(layer.canvas).data;
  const expected = reference(viewer, layer, tile);
  const a = alpha(drawn),
    b = alpha(expected);
  const [dx, dy] = centre(drawn, layer.canvas.width);
  const [ex, ey] = centre(expected, layer.canvas.width);
  return {
    diff: pixelDiff(a.alpha, b.alpha),
    opaque: a.opaque,
    expected: b.opaque,
    offset: Math.hypot(dx - ex, dy - ey),
  };
}

describe('contour layer from cached rasters', function () {
  let viewer: OpenSeadragon.Viewer;
  before(async () => {
    viewer = await openViewer();
  });
  after(() => closeViewer(viewer));

  for (const cacheAbove of [0, Infinity]) {
    it(`${cacheAbove ? 'stroked directly' : 'cached'}: the outlines a canvas 2D reference strokes`, async () => {
      const layer = createContourLayer(viewer, { color: COLOR, lineWidth: LINE, cacheAbove, restMs: 0 });
      try {
        const tile = cellsTile(40, 1);
        layer.addTile(tile);
        await view(viewer, { x: 1000, y: 900, cssPerPixel: 0.9, rotation: 30 });
        const c = compare(viewer, layer, tile);
        console.log(
          `raster cache ${cacheAbove}: alpha diff mean ${c.diff.mean.toFixed(3)}, opaque ${c.opaque} vs ${c.expected}`,
        );
        assert.isAbove(c.expected, 2000);
        assert.isBelow(c.diff.mean, 1);
        assert.isBelow(Math.abs(c.opaque - c.expected), 0.03 * c.expected);
      } finally {
        layer.destroy();
      }
    });
  }

  it('follows a pan at once, and draws what a pan beyond its rasters brings into view', async () => {
    // No redraw for rest: what is shown after the pan is the rasters moved, or drawn for it.
    const layer = createContourLayer(viewer, { color: COLOR, lineWidth: LINE, cacheAbove: 0, restMs: 600_000 });
    try {
      const tile = cellsTile(200, 2);
      layer.addTile(tile);
      // 1024 level-0 pixels at 3 CSS px each: the tile is far larger than the view and its raster.
      await view(viewer, { x: 700, y: 600, cssPerPixel: 3 });
      let c = compare(viewer, layer, tile);
      assert.isAbove(c.expected, 2000);
      assert.isBelow(c.diff.mean, 1);
      // A fraction of a pixel: the rasters move by whole device pixels, the nearest to the pan,
      // and are copied as they are (no resampling).
      const before = readCanvas(layer.canvas).data.slice();
      const [x0, y0] = expectedDevicePoint(viewer, 700, 600);
      viewer.viewport.panBy(viewer.viewport.deltaPointsFromPixels(new OpenSeadragon.Point(37.3, -21.6)), true);
      await settle(viewer);
      const [x1, y1] = expectedDevicePoint(viewer, 700, 600);
      const [rx, ry] = [Math.round(x1 - x0), Math.round(y1 - y0)];
      const after = readCanvas(layer.canvas).data;
      const { width, height } = layer.canvas;
      let compared = 0,
        worst = 0;
      for (let y = Math.max(0, ry); y < Math.min(height, height + ry); y++) {
        for (let x = Math.max(0, rx); x < Math.min(width, width + rx); x++) {
          const p = 4 * (y * width + x),
            q = 4 * ((y - ry) * width + (x - rx));
          for (let k = 0; k < 4; k++) worst = Math.max(worst, Math.abs(after[p + k] - before[q + k]));
          compared++;
        }
      }
      c = compare(viewer, layer, tile);
      console.log(
        `raster cache, panned by ${(x1 - x0).toFixed(2)}, ${(y1 - y0).toFixed(2)} device px: the earlier ` +
          `drawing moved by ${rx}, ${ry}, largest difference ${worst} over ${compared} px; ` +
          `opaque ${c.opaque} vs ${c.expected}`,
      );
      assert.equal(worst, 0);
      assert.isAbove(compared, 0.8 * width * height);
      assert.isBelow(Math.abs(c.opaque - c.expected), 0.05 * c.expected);
      // Two views to the right: beyond the half view the rasters hold around the view.
      viewer.viewport.panBy(viewer.viewport.deltaPointsFromPixels(new OpenSeadragon.Point(1280, 0)), true);
      await settle(viewer);
      c = compare(viewer, layer, tile);
      assert.isAbove(c.expected, 2000);
      assert.isBelow(c.diff.mean, 1);
    } finally {
      layer.destroy();
    }
  });

  it('a zoom is shown at once from the rasters, and drawn sharp once it has rested', async () => {
    const restMs = 500;
    const layer = createContourLayer(viewer, { color: COLOR, lineWidth: LINE, cacheAbove: 0, restMs });
    try {
      const tile = cellsTile(60, 3);
      layer.addTile(tile);
      await view(viewer, { x: 1000, y: 900, cssPerPixel: 0.9 });
      await new Promise((resolve) => setTimeout(resolve, 2 * restMs));
      await nextFrame();
      viewer.viewport.zoomBy(1.6, undefined, true);
      await nextFrame();
      await nextFrame();
      let c = compare(viewer, layer, tile);
      assert.isBelow(c.offset, 1, 'the outlines are where the zoom puts them');
      // The layer's rest timer is due before ours; its frame comes before the next one we wait for.
      await new Promise((resolve) => setTimeout(resolve, 2 * restMs));
      await nextFrame();
      await nextFrame();
      c = compare(viewer, layer, tile);
      console.log(`raster cache, zoomed and rested: alpha diff mean ${c.diff.mean.toFixed(3)}`);
      assert.isBelow(c.diff.mean, 1);
      assert.isBelow(Math.abs(c.opaque - c.expected), 0.03 * c.expected);
    } finally {
      layer.destroy();
    }
  });
});
