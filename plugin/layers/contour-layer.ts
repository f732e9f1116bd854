import type OpenSeadragon from 'openseadragon';
import type { Rect } from '../../core/math/rect.js';
import { CellIndex } from '../../core/cells/cell-index.js';
import { withEvents } from '../../core/events/event-handle.js';
import { Emitter, type TypedEventTarget } from '../../core/events/typed-events.js';
import { parseColor } from './css-color.js';
import { createOverlayCanvas, type OverlayCanvasOptions, type OverlayFrame } from './overlay-canvas.js';
import { createRasterCache, type Context2D, type RasterItem } from './raster-cache.js';
import { args, boxInsideQuad, boxMeetsQuad, clickToLevel0, local, scaleOf, type Affine } from './view-transform.js';

/**
 * One cell's outline. core/cells/cell-contours.ts's CellContour is one as it is: rings as flat
 * [x0, y0, x1, y1, …] (outer first, then holes, first vertex not repeated) in the pixels of
 * the map it was traced in, and the area in those pixels.
 */
export interface ContourCell {
  readonly rings: readonly ArrayLike<number>[];
  readonly area: number;
}

/** The cells of one result tile. */
export interface ContourTile {
  /** Adding a tile with a key already shown replaces it. */
  readonly key: string;
  /** Where the map the cells were traced in lies, in level-0 pixels. */
  readonly level0: Rect;
  /** That map's size: ring coordinates run over [0, width] × [0, height]. */
  readonly tile: { readonly width: number; readonly height: number };
  readonly cells: readonly ContourCell[];
}

export interface ContourStyle {
  /** Any CSS colour. */
  readonly color: string;
  /** Outline width in CSS pixels, the same at every zoom. */
  readonly lineWidth: number;
  /** 0 (default): outlines only; above, the cells are also filled in their colour at this alpha. */
  readonly fillOpacity: number;
}

export const DEFAULT_CONTOUR_STYLE: ContourStyle = { color: '#ffeb3b', lineWidth: 1.5, fillOpacity: 0 };

export interface ContourLayerOptions extends OverlayCanvasOptions, Partial<ContourStyle> {
  readonly visible?: boolean;
  /**
   * Cells whose outline is smaller on screen than this, in CSS pixels (the diagonal of their
   * box, averaged over a tile), are not drawn: at that size an outline is a dot, and a whole
   * slide's hundreds of thousands of them would take seconds per frame. Default 2. They still
   * count in inView().
   */
  readonly minCellSize?: number;
  /**
   * Above this many outline segments in view, outlines are shown from rasters cached per group
   * of cells (raster-cache.ts): a pan or zoom moves them, and only what comes into view, or
   * what a zoom left blurred once it rests, is stroked again, a few groups per frame. Below it
   * they are stroked afresh every frame: about a microsecond per segment on a CPU raster
   * (bench:draw), so 5 000 keep a frame within a third of 50 fps's 20 ms. Default 5 000. 0: always cached.
   */
  readonly cacheAbove?: number;
  /** A zoom is drawn sharp again once it has rested this long. Default 150. */
  readonly restMs?: number;
}

/**
 * Cells in the view now: a cell counts when its outer ring's bounding box meets the view
 * (partly visible cells count whole); area is the sum of their areas in level-0 pixels².
 */
export interface CellsInView {
  readonly cells: number;
  readonly area: number;
}

/** A cell found at a point: the tile it was added in and its place in that tile's `cells`. */
export interface CellHit {
  readonly key: string;
  readonly index: number;
  readonly cell: ContourCell;
}

/** A click on the slide (a quick one: not the end of a drag), while the layer is shown. */
export interface CellClick {
  /** Where, in level-0 pixels. */
  readonly x: number;
  readonly y: number;
  /** The cell there, or null between cells. */
  readonly hit: CellHit | null;
}

export type ContourLayerEvents = {
  /**
   * Each click on the slide. A click on a cell selects it rather than zooming in
   * (OpenSeadragon's click-to-zoom is kept for clicks between cells).
   */
  cellclick: CellClick;
};

export interface ContourLayer extends TypedEventTarget<ContourLayerEvents> {
  readonly canvas: HTMLCanvasElement;
  visible: boolean;
  readonly style: ContourStyle;
  setStyle(style: Partial<ContourStyle>): void;
  addTile(tile: ContourTile): void;
  removeTile(key: string): boolean;
  has(key: string): boolean;
  readonly tileCount: number;
  /** Cells held, in all tiles. */
  readonly cellCount: number;
  clear(): void;
  /** Counted whether the layer is shown or not. */
  inView(): CellsInView;
  /**
   * The cell whose outline holds level-0 point (x, y) (holes excluded), or null. Where tiles
   * overlap and several do, the smallest. A spatial index per tile: microseconds among 100 000.
   */
  cellAt(x: number, y: number): CellHit | null;
  redraw(): void;
  destroy(): void;
}

/** Cells of a tile drawn and cached together: a band of the tile in the tracer's raster order. */
interface CellGroup extends RasterItem {
  /** Level-0 origin of the tile: the path's coordinates are relative to it. */
  readonly x: number;
  readonly y: number;
  /** The group's outlines in level-0 pixels relative to (x, y), made once. */
  readonly path: Path2D;
  /** Line segments in the path: the cost of stroking it. */
  readonly segments: number;
  /** Mean diagonal of the cells' boxes, level-0 pixels. */
  readonly cellSize: number;
}

interface StoredTile {
  readonly key: string;
  readonly cells: readonly ContourCell[];
  readonly groups: readonly CellGroup[];
  /** Per cell: minX, minY, maxX, maxY of the outer ring in level-0 pixels. */
  readonly boxes: Float64Array;
  /** Per cell, level-0 pixels². */
  readonly areas: Float64Array;
  readonly bounds: readonly [number, number, number, number];
  readonly totalArea: number;
  readonly index: CellIndex;
}

/**
 * Cells per group. Stroking 256 nuclei of ~14 vertices takes a few milliseconds on a CPU, so a
 * frame's drawing budget (raster-cache.ts) holds one or two groups even on a loaded machine.
 */
const GROUP_CELLS = 256;

/**
 * Cell outlines as vector shapes over an OpenSeadragon viewer, on one canvas: a tile's cells are
 * a few Path2Ds, built once, stroked through the view's transform (view-transform.ts), so tens
 * of thousands of cells cost a stroke call per group and no DOM node per cell; above
 * `cacheAbove` segments in view they are shown from cached rasters (raster-cache.ts).
 */
export function createContourLayer(viewer: OpenSeadragon.Viewer, options: ContourLayerOptions = {}): ContourLayer {
  let style = checkStyle({ ...DEFAULT_CONTOUR_STYLE, ...definedOf(options) });
  const minCellSize = options.minCellSize ?? 2;
  const cacheAbove = options.cacheAbove ?? 5_000;
  const tiles = new Map<string, StoredTile>();
  const events = new Emitter<ContourLayerEvents>();
  let cellCount = 0;
  let drawAll = false;

  /** Strokes a group through `toTarget` (level-0 → the target's device pixels). */
  const strokeGroup = (ctx: Context2D, g: CellGroup, toTarget: Affine, pixelRatio: number) => {
    const scale = scaleOf(toTarget);
    ctx.strokeStyle = style.color;
    ctx.fillStyle = style.color;
    // The path is in level-0 pixels: divide by the zoom for a constant width on screen.
    ctx.lineWidth = (style.lineWidth * pixelRatio) / scale;
    // Simplified outlines have sharp corners: bevel them rather than draw long miter spikes.
    ctx.miterLimit = 2;
    ctx.setTransform(...args(local(toTarget, g.x, g.y)));
    if (style.fillOpacity > 0) {
      ctx.globalAlpha = style.fillOpacity;
      ctx.fill(g.path, 'evenodd');
      ctx.globalAlpha = 1;
    }
    ctx.stroke(g.path);
  };

  const host = createOverlayCanvas(viewer, (frame) => draw(frame), {
    className: options.className ?? 'fewshot-contour-layer',
    item: options.item,
    isEmpty: () => tiles.size === 0,
  });
  const cache = createRasterCache<CellGroup>({
    draw: strokeGroup,
    // Half the line, a pixel of antialiasing and one for the miter.
    pad: (pixelRatio) => (style.lineWidth * pixelRatio) / 2 + 2,
    restMs: options.restMs ?? 150,
    invalidate: () => host.invalidate(),
  });

  const draw = (frame: OverlayFrame) => {
    const { view, scale, pixelRatio } = frame;
    const smallest = (minCellSize * pixelRatio) / scale;
    const shown: CellGroup[] = [];
    let segments = 0;
    for (const t of tiles.values()) {
      if (!boxMeetsQuad(...t.bounds, view)) continue;
      for (const g of t.groups) {
        if (g.cellSize < smallest || !boxMeetsQuad(...g.bounds, view)) continue;
        shown.push(g);
        segments += g.segments;
      }
    }
    const all = drawAll;
    drawAll = false;
    if (segments > cacheAbove) cache.draw(frame, shown, all);
    else for (const g of shown) strokeGroup(frame.ctx, g, frame.toCanvas, pixelRatio);
  };

  if (options.visible === false) host.visible = false;
  const styleChanged = () => {
    cache.outdate();
    host.invalidate();
  };

  const remove = (key: string) => {
    const old = tiles.get(key);
    if (!old) return false;
    tiles.delete(key);
    for (const g of old.groups) cache.forget(g);
    cellCount -= old.areas.length;
    return true;
  };

  const onClick = (event: OpenSeadragon.CanvasClickEvent) => {
    if (!event.quick || !host.visible) return;
    const [x, y] = clickToLevel0(viewer, event.position, options.item);
    if (!Number.isFinite(x)) return;
    const hit = layer.cellAt(x, y);
    if (hit) event.preventDefaultAction = true;
    events.emit('cellclick', { x, y, hit });
  };
  viewer.addHandler('canvas-click', onClick);

  const layer: ContourLayer = withEvents(events, {
    get canvas() {
      return host.canvas;
    },
    get visible() {
      return host.visible;
    },
    set visible(value: boolean) {
      host.visible = value;
    },
    get style() {
      return style;
    },
    setStyle(change) {
      style = checkStyle({ ...style, ...definedOf(change) });
      styleChanged();
    },
    addTile(tile) {
      const stored = storeTile(tile);
      remove(tile.key);
      tiles.set(tile.key, stored);
      cellCount += stored.areas.length;
      host.invalidate();
    },
    removeTile(key) {
      const removed = remove(key);
      if (removed) host.invalidate();
      return removed;
    },
    has(key) {
      return tiles.has(key);
    },
    get tileCount() {
      return tiles.size;
    },
    get cellCount() {
      return cellCount;
    },
    clear() {
      tiles.clear();
      cache.clear();
      cellCount = 0;
      host.invalidate();
    },
    inView() {
      const view = host.viewQuad();
      let cells = 0;
      let area = 0;
      if (!view) return { cells, area };
      for (const t of tiles.values()) {
        const [x0, y0, x1, y1] = t.bounds;
        if (!boxMeetsQuad(x0, y0, x1, y1, view)) continue;
        if (boxInsideQuad(x0, y0, x1, y1, view)) {
          cells += t.areas.length;
          area += t.totalArea;
          continue;
        }
        const b = t.boxes;
        for (let i = 0; i < t.areas.length; i++) {
          if (boxMeetsQuad(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3], view)) {
            cells++;
            area += t.areas[i];
          }
        }
      }
      return { cells, area };
    },
    cellAt(x, y) {
      let best: CellHit | null = null;
      let bestArea = Infinity;
      for (const t of tiles.values()) {
        const [x0, y0, x1, y1] = t.bounds;
        if (x < x0 || x > x1 || y < y0 || y > y1) continue;
        for (const i of t.index.cellsAt(x, y)) {
          if (t.areas[i] < bestArea) {
            bestArea = t.areas[i];
            best = { key: t.key, index: i, cell: t.cells[i] };
          }
        }
      }
      return best;
    },
    redraw() {
      cache.outdate();
      drawAll = true;
      host.drawNow();
    },
    destroy() {
      viewer.removeHandler('canvas-click', onClick);
      tiles.clear();
      cache.destroy();
      cellCount = 0;
      host.destroy();
    },
  });
  return layer;
}

function storeTile(tile: ContourTile): StoredTile {
  const { level0, cells } = tile;
  const { width, height } = tile.tile;
  if (
    !(width > 0 && height > 0) ||
    ![level0.x, level0.y, level0.width, level0.height].every(Number.isFinite) ||
    !(level0.width > 0 && level0.height > 0)
  ) {
    throw new RangeError(
      `tile ${tile.key}: a ${width}×${height} map over ${level0.width}×${level0.height} level-0 pixels is not a tile`,
    );
  }
  const sx = level0.width / width;
  const sy = level0.height / height;
  const boxes = new Float64Array(4 * cells.length);
  const areas = new Float64Array(cells.length);
  const outlines: string[] = new Array(cells.length);
  const segmentsOf = new Uint32Array(cells.length);
  let totalArea = 0;
  for (let c = 0; c < cells.length; c++) {
    const cell = cells[c];
    if (cell.rings.length === 0) throw new RangeError(`tile ${tile.key}, cell ${c} has no ring`);
    const own = emptyBox();
    let d = '';
    for (let r = 0; r < cell.rings.length; r++) {
      const ring = cell.rings[r];
      if (ring.length < 6 || ring.length % 2 !== 0) {
        throw new RangeError(
          `tile ${tile.key}, cell ${c}: ring ${r} has ${ring.length} coordinates; a ring is ≥ 3 x, y pairs`,
        );
      }
      for (let i = 0; i < ring.length; i += 2) {
        const x = ring[i] * sx;
        const y = ring[i + 1] * sy;
        if (!Number.isFinite(x) || !Number.isFinite(y))
          throw new RangeError(`tile ${tile.key}, cell ${c}: ring ${r} has a vertex that is not a number`);
        // A thousandth of a level-0 pixel: far below what any zoom shows, and short strings.
        d += `${i === 0 ? 'M' : 'L'}${Math.round(x * 1000) / 1000} ${Math.round(y * 1000) / 1000}`;
        if (r === 0) extend(own, x, y);
      }
      d += 'Z';
      segmentsOf[c] += ring.length / 2;
    }
    outlines[c] = d;
    boxes.set([level0.x + own[0], level0.y + own[1], level0.x + own[2], level0.y + own[3]], 4 * c);
    areas[c] = cell.area * sx * sy;
    totalArea += areas[c];
  }
  // Groups are bands of the tile (cells by the middle of their box, top to bottom), whatever
  // order the cells came in: a group's raster is then about its share of the tile, not all of it.
  const order = Array.from(cells, (_, c) => c).sort(
    (p, q) => boxes[4 * p + 1] + boxes[4 * p + 3] - boxes[4 * q + 1] - boxes[4 * q + 3],
  );
  const groups: CellGroup[] = [];
  for (let first = 0; first < order.length; first += GROUP_CELLS) {
    const members = order.slice(first, first + GROUP_CELLS);
    // One SVG path string per group, parsed once: Path2D's moveTo/lineTo cost a call into the
    // browser per vertex, fifty times slower for a tile of thousands of cells.
    const group = emptyBox();
    let segments = 0,
      diagonals = 0;
    for (const c of members) {
      extend(group, boxes[4 * c], boxes[4 * c + 1]);
      extend(group, boxes[4 * c + 2], boxes[4 * c + 3]);
      segments += segmentsOf[c];
      diagonals += Math.hypot(boxes[4 * c + 2] - boxes[4 * c], boxes[4 * c + 3] - boxes[4 * c + 1]);
    }
    groups.push({
      x: level0.x,
      y: level0.y,
      path: new Path2D(members.map((c) => outlines[c]).join('')),
      bounds: group,
      segments,
      cellSize: diagonals / members.length,
    });
  }
  let bounds: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const g of groups) {
    bounds = [
      Math.min(bounds[0], g.bounds[0]),
      Math.min(bounds[1], g.bounds[1]),
      Math.max(bounds[2], g.bounds[2]),
      Math.max(bounds[3], g.bounds[3]),
    ];
  }
  // (An empty tile's bounds are empty: it is never in view.)
  const index = new CellIndex({ cells, boxes, x: level0.x, y: level0.y, scaleX: sx, scaleY: sy });
  return { key: tile.key, cells, groups, boxes, areas, bounds, totalArea, index };
}

const emptyBox = (): [number, number, number, number] => [Infinity, Infinity, -Infinity, -Infinity];

function extend(b: [number, number, number, number], x: number, y: number): void {
  if (x < b[0]) b[0] = x;
  if (y < b[1]) b[1] = y;
  if (x > b[2]) b[2] = x;
  if (y > b[3]) b[3] = y;
}

function definedOf(options: Partial<ContourStyle>): Partial<ContourStyle> {
  const out: Partial<Record<keyof ContourStyle, unknown>> = {};
  for (const k of ['color', 'lineWidth', 'fillOpacity'] as const) if (options[k] !== undefined) out[k] = options[k];
  return out as Partial<ContourStyle>;
}

function checkStyle(style: ContourStyle): ContourStyle {
  parseColor(style.color);
  if (!(style.lineWidth > 0 && Number.isFinite(style.lineWidth)))
    throw new RangeError(`lineWidth is ${style.lineWidth}; it is a width > 0 in CSS pixels`);
  if (!(style.fillOpacity >= 0 && style.fillOpacity <= 1))
    throw new RangeError(`fillOpacity is ${style.fillOpacity}; it is between 0 and 1`);
  return style;
}
