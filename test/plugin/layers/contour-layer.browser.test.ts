import { sendMouse } from '@web/test-runner-commands';
import { assert } from 'chai';
import OpenSeadragon from 'openseadragon';
import {
  createContourLayer,
  type CellClick,
  type ContourCell,
  type ContourLayer,
  type ContourTile,
} from '../../../plugin/layers/contour-layer.js';
import { cellContours } from '../../../core/cells/cell-contours.js';
import { signedArea } from '../../../core/cells/ring-geometry.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { insideByWinding, randomCell } from '../../core/cells/random-cells.js';
import {
  GRID_SCALE,
  MARKS,
  SLIDE,
  TILE_LEVEL0,
  centroid,
  closeViewer,
  expectedDevicePoint,
  isMarkRed,
  markProbabilities,
  nextFrame,
  openViewer,
  pixelsWhere,
  readCanvas,
  resultTiles,
  settle,
  view,
  type Pixels,
} from './overlay-fixtures.js';

/** The mark tiles' cells as core/cells/cell-contours.ts traces them: exact outlines (tolerance 0). */
function markContourTiles(): ContourTile[] {
  return markProbabilities().map(({ key, level0, tile, probabilities }) => ({
    key,
    level0,
    tile,
    cells: cellContours(probabilities, tile.width, tile.height, { tolerance: 0 }),
  }));
}

/** Pixels of a set with a 4-neighbour outside it. */
function boundary(points: readonly [number, number][]): [number, number][] {
  const set = new Set(points.map(([x, y]) => `${x},${y}`));
  return points.filter(
    ([x, y]) =>
      !set.has(`${x - 1},${y}`) || !set.has(`${x + 1},${y}`) || !set.has(`${x},${y - 1}`) || !set.has(`${x},${y + 1}`),
  );
}

/** Largest distance from a point of `a` to the nearest point of `b`. */
function farthest(a: readonly [number, number][], b: readonly [number, number][]): number {
  let worst = 0;
  for (const [ax, ay] of a) {
    let best = Infinity;
    for (const [bx, by] of b) best = Math.min(best, Math.hypot(ax - bx, ay - by));
    worst = Math.max(worst, best);
  }
  return worst;
}

interface OutlineFit {
  marks: number;
  /** Worst distance between the centroids of the slide's mark and of its outline. */
  centroidOffset: number;
  /** Worst distance from an outline pixel to the slide mark's edge. */
  strayOutline: number;
  /** Worst distance from the slide mark's edge to the outline. */
  uncoveredEdge: number;
  /** Outline pixels per device pixel of mark perimeter: the line's width on screen. */
  thickness: [number, number];
}

function outlineFit(viewer: OpenSeadragon.Viewer, layer: ContourLayer, devicePerPixel: number): OutlineFit {
  const slide = readCanvas(viewer.drawer.canvas as HTMLCanvasElement);
  const overlay: Pixels = readCanvas(layer.canvas);
  const fit: OutlineFit = { marks: 0, centroidOffset: 0, strayOutline: 0, uncoveredEdge: 0, thickness: [Infinity, 0] };
  // A mark across a tile boundary is outlined as two cells, with a line through it: left out.
  for (const m of MARKS.filter((m) => piecesOf(m) === 1)) {
    const [cx, cy] = expectedDevicePoint(viewer, m.x + m.width / 2, m.y + m.height / 2);
    const radius = (Math.hypot(m.width, m.height) / 2) * devicePerPixel + 6;
    if (cx - radius < 0 || cy - radius < 0 || cx + radius > slide.width || cy + radius > slide.height) continue;
    const mark = pixelsWhere(slide, cx, cy, radius, (r, g) => isMarkRed(r, g));
    const outline = pixelsWhere(overlay, cx, cy, radius, (_r, _g, _b, a) => a >= 128);
    assert.isAbove(mark.length, 0);
    assert.isAbove(outline.length, 0, 'the cell is outlined');
    const edge = boundary(mark);
    const [sx, sy] = centroid(mark);
    const [ox, oy] = centroid(outline);
    fit.marks++;
    fit.centroidOffset = Math.max(fit.centroidOffset, Math.hypot(sx - ox, sy - oy));
    fit.strayOutline = Math.max(fit.strayOutline, farthest(outline, edge));
    fit.uncoveredEdge = Math.max(fit.uncoveredEdge, farthest(edge, outline));
    const thickness = outline.length / (2 * (m.width + m.height) * devicePerPixel);
    fit.thickness = [Math.min(fit.thickness[0], thickness), Math.max(fit.thickness[1], thickness)];
  }
  return fit;
}

const CENTRE = { x: 1030, y: 770 };

/** Cells are traced per result tile: a mark across a tile boundary is a cell on each side (two marks are). */
function piecesOf(m: (typeof MARKS)[number]): number {
  const columns = Math.floor((m.x + m.width - 1) / TILE_LEVEL0.width) - Math.floor(m.x / TILE_LEVEL0.width) + 1;
  const rows = Math.floor((m.y + m.height - 1) / TILE_LEVEL0.height) - Math.floor(m.y / TILE_LEVEL0.height) + 1;
  return columns * rows;
}
const MARK_PIECES = MARKS.reduce((n, m) => n + piecesOf(m), 0);
const LINE_WIDTH = 2;

describe('contour layer alignment', function () {
  let viewer: OpenSeadragon.Viewer;
  let layer: ContourLayer;

  before(async () => {
    viewer = await openViewer();
    layer = createContourLayer(viewer, { color: '#00ffff', lineWidth: LINE_WIDTH });
    for (const tile of markContourTiles()) layer.addTile(tile);
    assert.equal(layer.cellCount, MARK_PIECES);
  });
  after(() => {
    layer.destroy();
    closeViewer(viewer);
  });

  const cases = [
    { name: 'no rotation', cssPerPixel: 1.2 },
    { name: 'rotated 30°', cssPerPixel: 1.2, rotation: 30 },
    { name: 'rotated 90° and flipped', cssPerPixel: 1.2, rotation: 90, flip: true },
    {
      name: 'rotated 30° and flipped, closer',
      cssPerPixel: 2.5,
      rotation: 30,
      flip: true,
      centre: { x: 1135, y: 815 },
      minMarks: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await view(viewer, { ...(c.centre ?? CENTRE), ...c });
      const fit = outlineFit(viewer, layer, c.cssPerPixel);
      console.log(
        `contour alignment, ${c.name}: ${fit.marks} marks, centroid offset ${fit.centroidOffset.toFixed(2)} px, ` +
          `outline ≤ ${fit.strayOutline.toFixed(2)} px from the mark's edge, ` +
          `edge ≤ ${fit.uncoveredEdge.toFixed(2)} px from the outline, ` +
          `line ${fit.thickness[0].toFixed(2)}–${fit.thickness[1].toFixed(2)} px thick`,
      );
      assert.isAtLeast(fit.marks, c.minMarks ?? 3);
      assert.isAtMost(fit.centroidOffset, 1);
      // The line is centred on the mark's outer edge, whose pixels lie half a pixel inside it.
      assert.isAtMost(fit.strayOutline, LINE_WIDTH / 2 + 1.5);
      assert.isAtMost(fit.uncoveredEdge, 1.5);
      // The same width on screen at every zoom.
      assert.isAbove(fit.thickness[0], LINE_WIDTH - 1);
      assert.isBelow(fit.thickness[1], LINE_WIDTH + 1);
    });
  }

  it('a costly drawing is moved with the view at once, and drawn afresh when the view rests', async () => {
    // Every drawing counts as costly here; the fresh one comes 3 s after the last change (time
    // enough for the viewer to load and settle first).
    const moving = createContourLayer(viewer, {
      color: '#00ffff',
      lineWidth: LINE_WIDTH,
      cacheAbove: 0,
      restMs: 3000,
    });
    try {
      for (const tile of markContourTiles()) moving.addTile(tile);
      await view(viewer, { ...CENTRE, cssPerPixel: 1.2 });
      moving.redraw();
      // Rotated, flipped and zoomed at once: the frame shows the last drawing moved.
      await view(viewer, { ...CENTRE, cssPerPixel: 1.5, rotation: 30, flip: true });
      const moved = readCanvas(moving.canvas).data.slice();
      let fit = outlineFit(viewer, moving, 1.5);
      console.log(
        `contour alignment, moved drawing: centroid offset ${fit.centroidOffset.toFixed(2)} px, ` +
          `outline ≤ ${fit.strayOutline.toFixed(2)} px from the mark's edge`,
      );
      assert.isAtLeast(fit.marks, 2);
      assert.isAtMost(fit.centroidOffset, 1);
      // Moved, the line is 1.25 times wider (the zoom's ratio) and resampled.
      assert.isAtMost(fit.strayOutline, (1.25 * LINE_WIDTH) / 2 + 1.5);
      await new Promise((resolve) => setTimeout(resolve, 3500));
      await nextFrame();
      const rested = readCanvas(moving.canvas).data.slice();
      assert.notDeepEqual(rested, moved, 'drawn afresh');
      moving.redraw();
      assert.deepEqual(readCanvas(moving.canvas).data, rested, 'the fresh drawing is a full one');
      fit = outlineFit(viewer, moving, 1.5);
      assert.isAtMost(fit.centroidOffset, 1);
      assert.isBelow(fit.thickness[1], LINE_WIDTH + 1);
    } finally {
      moving.destroy();
    }
  });

  it('hides and shows; style changes redraw', async () => {
    await view(viewer, { ...CENTRE, cssPerPixel: 1.2 });
    layer.visible = false;
    assert.equal(getComputedStyle(layer.canvas).display, 'none');
    assert.equal(layer.inView().cells, MARK_PIECES, 'hidden cells are still counted');
    layer.setStyle({ color: 'rgb(255, 0, 0)' });
    layer.visible = true;
    await nextFrame();
    await nextFrame();
    const [cx, cy] = expectedDevicePoint(viewer, MARKS[0].x, MARKS[0].y + MARKS[0].height / 2);
    const red = pixelsWhere(
      readCanvas(layer.canvas),
      cx,
      cy,
      2,
      (r, g, b, a) => r > 200 && g < 50 && b < 50 && a > 200,
    );
    assert.isAbove(red.length, 0, 'the left edge of the first mark is outlined in the new colour');
    assert.throws(() => layer.setStyle({ lineWidth: 0 }), RangeError);
    assert.throws(() => layer.setStyle({ color: 'nope' }), RangeError);
    assert.equal(layer.style.lineWidth, LINE_WIDTH);
  });
});

/** Square cells of 10 level-0 pixels every 40, from (25, 25): none crosses a tile boundary. */
const SPACING = 40,
  OFFSET = 25,
  SIDE = 10;
const COLUMNS = Math.floor((SLIDE.width - OFFSET - SIDE) / SPACING) + 1;
const ROWS = Math.floor((SLIDE.height - OFFSET - SIDE) / SPACING) + 1;

function squareTiles(): ContourTile[] {
  const tiles = new Map<string, { key: string; level0: ContourTile['level0']; cells: ContourCell[] }>();
  const w = TILE_LEVEL0.width * GRID_SCALE,
    h = TILE_LEVEL0.height * GRID_SCALE;
  for (let j = 0; j < ROWS; j++) {
    for (let i = 0; i < COLUMNS; i++) {
      const x = OFFSET + SPACING * i,
        y = OFFSET + SPACING * j;
      const tx = Math.floor(x / TILE_LEVEL0.width),
        ty = Math.floor(y / TILE_LEVEL0.height);
      const key = `${tx},${ty}`;
      const level0 = { x: tx * TILE_LEVEL0.width, y: ty * TILE_LEVEL0.height, ...TILE_LEVEL0 };
      if (!tiles.has(key)) tiles.set(key, { key, level0, cells: [] });
      // In the tile's map pixels (half resolution), as the contour tracer gives them.
      const mx = (x - level0.x) * GRID_SCALE,
        my = (y - level0.y) * GRID_SCALE,
        s = SIDE * GRID_SCALE;
      tiles
        .get(key)!
        .cells.push({ rings: [Float64Array.of(mx, my, mx + s, my, mx + s, my + s, mx, my + s)], area: s * s });
    }
  }
  return [...tiles.values()].map((t) => ({ ...t, tile: { width: w, height: h } }));
}

/** Area of the part of a convex polygon (flat x, y pairs) inside [0, width] × [0, height] (Sutherland–Hodgman). */
function clippedArea(polygon: number[], width: number, height: number): number {
  let points = polygon;
  const edges: [(x: number, y: number) => number][] = [
    [(x) => x],
    [(x) => width - x],
    [(_x, y) => y],
    [(_x, y) => height - y],
  ];
  for (const [inside] of edges) {
    const out: number[] = [];
    for (let i = 0; i < points.length; i += 2) {
      const j = (i + 2) % points.length;
      const [ax, ay, bx, by] = [points[i], points[i + 1], points[j], points[j + 1]];
      const da = inside(ax, ay),
        db = inside(bx, by);
      if (da >= 0) out.push(ax, ay);
      if (da >= 0 !== db >= 0) {
        const t = da / (da - db);
        out.push(ax + t * (bx - ax), ay + t * (by - ay));
      }
    }
    points = out;
    if (points.length < 6) return 0;
  }
  let area = 0;
  for (let i = 0; i < points.length; i += 2) {
    const j = (i + 2) % points.length;
    area += points[i] * points[j + 1] - points[j] * points[i + 1];
  }
  return Math.abs(area) / 2;
}

describe('contour layer: cells and area in view', function () {
  let viewer: OpenSeadragon.Viewer;
  let layer: ContourLayer;

  before(async () => {
    viewer = await openViewer();
    layer = createContourLayer(viewer);
    for (const tile of squareTiles()) layer.addTile(tile);
    assert.equal(layer.cellCount, COLUMNS * ROWS);
    assert.equal(layer.tileCount, 4);
  });
  after(() => {
    layer.destroy();
    closeViewer(viewer);
  });

  it('the whole slide: every cell', async () => {
    await view(viewer, { x: SLIDE.width / 2, y: SLIDE.height / 2, cssPerPixel: 0.3 });
    assert.deepEqual(layer.inView(), { cells: COLUMNS * ROWS, area: COLUMNS * ROWS * SIDE * SIDE });
  });

  it('cells too small on screen are counted but not drawn', async () => {
    await view(viewer, { x: SLIDE.width / 2, y: SLIDE.height / 2, cssPerPixel: 0.3 });
    const opaque = (l: ContourLayer) => {
      const d = readCanvas(l.canvas).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    };
    layer.redraw();
    assert.isAbove(opaque(layer), 1000, 'cells 4.2 CSS px across are drawn by default');
    // Cells of 10 level-0 px, 14 on the diagonal: 4.2 CSS px here, 5.6 at 0.4.
    const coarse = createContourLayer(viewer, { minCellSize: 5 });
    try {
      for (const tile of squareTiles()) coarse.addTile(tile);
      coarse.redraw();
      assert.equal(opaque(coarse), 0);
      assert.equal(coarse.inView().cells, COLUMNS * ROWS);
      await view(viewer, { x: SLIDE.width / 2, y: SLIDE.height / 2, cssPerPixel: 0.4 });
      coarse.redraw();
      assert.isAbove(opaque(coarse), 1000);
    } finally {
      coarse.destroy();
    }
  });

  it('an unrotated view of a known rectangle: the cells counted by hand', async () => {
    // Level-0 x 400…1040, y 300…780, the viewer's own aspect: columns 10…25 (cells from x = 425
    // to 1025), rows 7…18 (y = 305 to 745); the nearest cells outside are 5 px from its edges.
    const vp = viewer.viewport;
    vp.setRotation(0, true);
    vp.setFlip(false);
    vp.fitBounds(vp.imageToViewportRectangle(400, 300, 640, 480), true);
    await settle(viewer);
    assert.deepEqual(layer.inView(), { cells: 16 * 12, area: 16 * 12 * SIDE * SIDE });
  });

  for (const at of [
    { name: 'rotated 30° and flipped', x: 1000, y: 700, cssPerPixel: 1.3, rotation: 30, flip: true },
    { name: 'rotated 200°, zoomed in', x: 1500, y: 400, cssPerPixel: 4.1, rotation: 200 },
    { name: 'rotated 75°, at the slide’s corner', x: 100, y: 1450, cssPerPixel: 0.9, rotation: 75 },
  ]) {
    it(`${at.name}: the same cells as clipping each cell's outline on screen`, async () => {
      await view(viewer, at);
      // Independent count: each cell's box through OpenSeadragon's conversion onto the viewer
      // element, clipped to the element.
      const item = viewer.world.getItemAt(0);
      const size = viewer.viewport.getContainerSize();
      const flipped = viewer.viewport.getFlip();
      let cells = 0;
      for (let j = 0; j < ROWS; j++) {
        for (let i = 0; i < COLUMNS; i++) {
          const x = OFFSET + SPACING * i,
            y = OFFSET + SPACING * j;
          const corners = [x, y, x + SIDE, y, x + SIDE, y + SIDE, x, y + SIDE];
          const onScreen: number[] = [];
          for (let k = 0; k < 8; k += 2) {
            const p = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(corners[k], corners[k + 1]));
            onScreen.push(flipped ? size.x - p.x : p.x, p.y);
          }
          if (clippedArea(onScreen, size.x, size.y) > 0) cells++;
        }
      }
      const counted = layer.inView();
      console.log(`cells in view, ${at.name}: ${counted.cells} (by clipping on screen: ${cells})`);
      assert.isAbove(cells, 10);
      assert.isBelow(cells, COLUMNS * ROWS);
      assert.equal(counted.cells, cells);
      assert.equal(counted.area, cells * SIDE * SIDE);
    });
  }

  it("cells traced by core/cells/cell-contours.ts: one per mark piece, their areas the marks'", async () => {
    layer.clear();
    assert.deepEqual(layer.inView(), { cells: 0, area: 0 });
    for (const tile of markContourTiles()) layer.addTile(tile);
    await view(viewer, { x: SLIDE.width / 2, y: SLIDE.height / 2, cssPerPixel: 0.3 });
    const total = MARKS.reduce((s, m) => s + m.width * m.height, 0);
    assert.deepEqual(layer.inView(), { cells: MARK_PIECES, area: total });
    // Only the first mark (900…924, 700…724) in view.
    await view(viewer, { x: 900, y: 700, cssPerPixel: 4 });
    assert.deepEqual(layer.inView(), { cells: 1, area: 24 * 24 });
    assert.isTrue(layer.removeTile('0,0'));
    assert.deepEqual(layer.inView(), { cells: 0, area: 0 });
  });

  it('draws 20 000 cells in view (time reported, not asserted)', async () => {
    layer.clear();
    // 164 × 122 cells, 16-gons of radius 4 level-0 pixels, 12.5 apart, over the whole slide.
    const cells: ContourCell[] = [];
    for (let j = 0; j < 122; j++) {
      for (let i = 0; i < 164; i++) {
        const cx = 6 + 12.5 * i,
          cy = 6 + 12.5 * j;
        const ring = new Float64Array(32);
        for (let k = 0; k < 16; k++) {
          ring[2 * k] = cx + 4 * Math.cos((k * Math.PI) / 8);
          ring[2 * k + 1] = cy + 4 * Math.sin((k * Math.PI) / 8);
        }
        cells.push({ rings: [ring], area: 50 });
      }
    }
    const t0 = performance.now();
    layer.addTile({ key: 'all', level0: { x: 0, y: 0, ...SLIDE }, tile: SLIDE, cells });
    const build = performance.now() - t0;
    await view(viewer, { x: SLIDE.width / 2, y: SLIDE.height / 2, cssPerPixel: 0.3 });
    assert.equal(layer.inView().cells, 164 * 122);
    const times: number[] = [];
    for (let k = 0; k < 10; k++) {
      const start = performance.now();
      layer.redraw();
      // getImageData waits for the canvas to finish drawing: what the user waits for too.
      layer.canvas.getContext('2d')!.getImageData(0, 0, 1, 1);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const t1 = performance.now();
    for (let k = 0; k < 10; k++) layer.inView();
    const count = (performance.now() - t1) / 10;
    console.log(
      `contour layer, ${cells.length} cells in view (16-gons, 640×480 viewer): ` +
        `Path2D built in ${build.toFixed(1)} ms, ` +
        `draw median ${times[5].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[9].toFixed(1)}), ` +
        `inView ${count.toFixed(2)} ms`,
    );
    const drawn = readCanvas(layer.canvas).data;
    let opaque = 0;
    for (let i = 3; i < drawn.length; i += 4) if (drawn[i] > 0) opaque++;
    assert.isAbove(opaque, (drawn.length / 4) * 0.2, 'the cells are drawn');
  });
});

describe('contour layer: the cell at a point, and clicks on cells', function () {
  let viewer: OpenSeadragon.Viewer;
  let layer: ContourLayer;

  before(async () => {
    viewer = await openViewer();
    layer = createContourLayer(viewer);
  });
  after(() => {
    layer.destroy();
    closeViewer(viewer);
  });

  /** The 2 × 2 result tiles (half resolution) with cells from `place`, their areas the outer rings'. */
  function tilesOf(place: (random: SeededRandom) => [number, number][], seed: number): ContourTile[] {
    const random = new SeededRandom(seed);
    return resultTiles(() => 0).map(({ key, level0, tile }) => ({
      key,
      level0,
      tile,
      cells: place(random).map(([x, y]) => {
        const rings = randomCell(random, x, y);
        return { rings, area: Math.abs(signedArea(rings[0])) };
      }),
    }));
  }

  it('cellAt: the smallest cell holding the point, as testing every cell of every tile finds', () => {
    // 600 cells per tile at random: many overlap, and some have holes.
    const tiles = tilesOf((r) => Array.from({ length: 600 }, () => [8 + r.next() * 496, 8 + r.next() * 368]), 5);
    layer.clear();
    for (const t of tiles) layer.addTile(t);
    const random = new SeededRandom(6);
    let hits = 0,
      overlaps = 0;
    for (let k = 0; k < 3000; k++) {
      const x = random.next() * SLIDE.width,
        y = random.next() * SLIDE.height;
      let expected: { key: string; index: number } | null = null;
      let smallest = Infinity,
        holding = 0;
      for (const t of tiles) {
        const s = t.level0.width / t.tile.width;
        t.cells.forEach((c, index) => {
          if (!insideByWinding(c.rings, (x - t.level0.x) / s, (y - t.level0.y) / s)) return;
          holding++;
          if (c.area < smallest) {
            smallest = c.area;
            expected = { key: t.key, index };
          }
        });
      }
      const got = layer.cellAt(x, y);
      assert.deepEqual(got && { key: got.key, index: got.index }, expected, `at ${x}, ${y}`);
      if (got) assert.strictEqual(got.cell, tiles.find((t) => t.key === got.key)!.cells[got.index]);
      if (holding) hits++;
      if (holding > 1) overlaps++;
    }
    assert.isAbove(hits, 300);
    assert.isAbove(overlaps, 10);
  });

  for (const at of [
    { name: 'unrotated', rotation: 0, flip: false },
    { name: 'rotated 30° and flipped', rotation: 30, flip: true },
  ]) {
    it(`${at.name}: a click on a cell raises cellclick with it and does not zoom; between cells, null`, async () => {
      // A cell every 20 map pixels (40 level-0), radii ≤ 8: none overlaps another.
      const grid = () => {
        const out: [number, number][] = [];
        for (let y = 10; y < 384; y += 20) for (let x = 10; x < 512; x += 20) out.push([x, y]);
        return out;
      };
      const tiles = tilesOf(grid, 8);
      layer.clear();
      for (const t of tiles) layer.addTile(t);
      await view(viewer, { x: 1030, y: 770, cssPerPixel: 2, ...at });
      const clickAt = async (x: number, y: number) => {
        const [dx, dy] = expectedDevicePoint(viewer, x, y);
        const canvas = viewer.drawer.canvas as HTMLCanvasElement;
        const box = viewer.element.getBoundingClientRect();
        const css = canvas.width / viewer.viewport.getContainerSize().x;
        const clicked = new Promise<CellClick>((resolve) =>
          layer.addEventListener('cellclick', (e) => resolve(e.detail), { once: true }),
        );
        await sendMouse({ type: 'click', position: [Math.round(box.left + dx / css), Math.round(box.top + dy / css)] });
        return clicked;
      };
      // Tile 1,1's cell at map point (30, 30): row 1, column 1 of 26.
      const tile = tiles.find((t) => t.key === '1,1')!;
      const index = 1 * 26 + 1;
      const zoom = viewer.viewport.getZoom();
      const click = await clickAt(tile.level0.x + 2 * 30, tile.level0.y + 2 * 30);
      assert.deepEqual(click.hit && { key: click.hit.key, index: click.hit.index }, { key: '1,1', index });
      assert.isBelow(Math.hypot(click.x - (tile.level0.x + 60), click.y - (tile.level0.y + 60)), 1.5);
      await nextFrame();
      assert.equal(viewer.viewport.getZoom(), zoom, 'a click on a cell does not zoom');
      // Between four cells: 14 map px from each centre, more than any radius.
      const between = await clickAt(tile.level0.x + 2 * 40, tile.level0.y + 2 * 40);
      assert.isNull(between.hit);
    });
  }
});
