import type OpenSeadragon from 'openseadragon';
import type { Rect } from '../../core/math/rect.js';
import { parseColor } from './css-color.js';
import { createOverlayCanvas, type OverlayCanvasOptions, type OverlayFrame } from './overlay-canvas.js';
import { args, boxInsideQuad, boxMeetsQuad, compose, invert, local, type Affine } from './view-transform.js';

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
   * Above this many outline segments in view, a change of view is first shown by moving the
   * last drawing (exact: the change is affine) and the outlines are drawn afresh once the view
   * has rested for `restMs`: stroking costs about a microsecond per segment on a CPU raster,
   * too much to repeat on every frame of a zoom. Default 20 000. 0: always.
   */
  readonly reprojectAbove?: number;
  /** Default 150. */
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

export interface ContourLayer {
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
  redraw(): void;
  destroy(): void;
}

interface StoredTile {
  readonly key: string;
  /** Level-0 origin of the tile: the path's coordinates are relative to it. */
  readonly x: number;
  readonly y: number;
  /** All outlines in level-0 pixels relative to (x, y), made once. */
  readonly path: Path2D;
  /** Per cell: minX, minY, maxX, maxY of the outer ring in level-0 pixels. */
  readonly boxes: Float64Array;
  /** Per cell, level-0 pixels². */
  readonly areas: Float64Array;
  readonly bounds: readonly [number, number, number, number];
  readonly totalArea: number;
  /** Line segments in the path: the cost of stroking it. */
  readonly segments: number;
  /** Mean diagonal of the cells' boxes, level-0 pixels. */
  readonly cellSize: number;
}

/**
 * Cell outlines as vector shapes over an OpenSeadragon viewer, on one canvas: each tile's
 * cells are one Path2D, built once, stroked through the view's transform (view-transform.ts),
 * so tens of thousands of cells cost a stroke call per visible tile and no DOM node per cell.
 */
export function createContourLayer(viewer: OpenSeadragon.Viewer, options: ContourLayerOptions = {}): ContourLayer {
  let style = checkStyle({ ...DEFAULT_CONTOUR_STYLE, ...definedOf(options) });
  const minCellSize = options.minCellSize ?? 2;
  const reprojectAbove = options.reprojectAbove ?? 20_000;
  const restMs = options.restMs ?? 150;
  const tiles = new Map<string, StoredTile>();
  let cellCount = 0;
  /** Tiles or style changed since the last full drawing. */
  let changed = true;
  let drawFresh = false;
  let restTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last full drawing, when it was costly enough to move instead of redraw. */
  let last: { image: OffscreenCanvas | HTMLCanvasElement; toCanvas: Affine } | undefined;

  const draw = (frame: OverlayFrame) => {
    const { ctx, toCanvas } = frame;
    if (last && !changed && !drawFresh) {
      ctx.setTransform(...args(compose(toCanvas, invert(last.toCanvas))));
      ctx.drawImage(last.image, 0, 0);
      clearTimeout(restTimer);
      restTimer = setTimeout(() => {
        drawFresh = true;
        host.invalidate();
      }, restMs);
      return;
    }
    changed = false;
    drawFresh = false;
    const segments = drawOutlines(frame);
    if (segments <= reprojectAbove) {
      last = undefined;
      return;
    }
    const image =
      last?.image.width === frame.width && last.image.height === frame.height
        ? last.image
        : newCanvas(frame.width, frame.height);
    const copy = image.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
    copy.clearRect(0, 0, image.width, image.height);
    copy.drawImage(ctx.canvas, 0, 0);
    last = { image, toCanvas };
  };

  /** Strokes every tile in view; returns the segments stroked. */
  const drawOutlines = ({ ctx, toCanvas, view, scale, pixelRatio }: OverlayFrame): number => {
    ctx.strokeStyle = style.color;
    ctx.fillStyle = style.color;
    // The path is in level-0 pixels: divide by the zoom for a constant width on screen.
    ctx.lineWidth = (style.lineWidth * pixelRatio) / scale;
    // Simplified outlines have sharp corners: bevel them rather than draw long miter spikes.
    ctx.miterLimit = 2;
    const smallest = (minCellSize * pixelRatio) / scale;
    let segments = 0;
    for (const t of tiles.values()) {
      const [x0, y0, x1, y1] = t.bounds;
      if (t.cellSize < smallest || !boxMeetsQuad(x0, y0, x1, y1, view)) continue;
      ctx.setTransform(...args(local(toCanvas, t.x, t.y)));
      if (style.fillOpacity > 0) {
        ctx.globalAlpha = style.fillOpacity;
        ctx.fill(t.path, 'evenodd');
        ctx.globalAlpha = 1;
      }
      ctx.stroke(t.path);
      segments += t.segments;
    }
    return segments;
  };

  const host = createOverlayCanvas(viewer, draw, {
    className: options.className ?? 'fewshot-contour-layer',
    item: options.item,
  });
  if (options.visible === false) host.visible = false;
  const contentChanged = () => {
    changed = true;
    host.invalidate();
  };

  const remove = (key: string) => {
    const old = tiles.get(key);
    if (!old) return false;
    tiles.delete(key);
    cellCount -= old.areas.length;
    return true;
  };

  return {
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
      contentChanged();
    },
    addTile(tile) {
      const stored = storeTile(tile);
      remove(tile.key);
      tiles.set(tile.key, stored);
      cellCount += stored.areas.length;
      contentChanged();
    },
    removeTile(key) {
      const removed = remove(key);
      if (removed) contentChanged();
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
      cellCount = 0;
      contentChanged();
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
    redraw() {
      drawFresh = true;
      host.drawNow();
    },
    destroy() {
      clearTimeout(restTimer);
      tiles.clear();
      cellCount = 0;
      last = undefined;
      host.destroy();
    },
  };
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
  // One SVG path string parsed once: Path2D's moveTo/lineTo cost a call into the browser per
  // vertex, fifty times slower for a tile of thousands of cells.
  const parts: string[] = [];
  const boxes = new Float64Array(4 * cells.length);
  const areas = new Float64Array(cells.length);
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  let totalArea = 0,
    segments = 0,
    diagonals = 0;
  for (let c = 0; c < cells.length; c++) {
    const cell = cells[c];
    if (cell.rings.length === 0) throw new RangeError(`tile ${tile.key}, cell ${c} has no ring`);
    let bx0 = Infinity,
      by0 = Infinity,
      bx1 = -Infinity,
      by1 = -Infinity;
    for (let r = 0; r < cell.rings.length; r++) {
      const ring = cell.rings[r];
      if (ring.length < 6 || ring.length % 2 !== 0) {
        throw new RangeError(
          `tile ${tile.key}, cell ${c}: ring ${r} has ${ring.length} coordinates; a ring is ≥ 3 x, y pairs`,
        );
      }
      let d = '';
      for (let i = 0; i < ring.length; i += 2) {
        const x = ring[i] * sx;
        const y = ring[i + 1] * sy;
        if (!Number.isFinite(x) || !Number.isFinite(y))
          throw new RangeError(`tile ${tile.key}, cell ${c}: ring ${r} has a vertex that is not a number`);
        // A thousandth of a level-0 pixel: far below what any zoom shows, and short strings.
        d += `${i === 0 ? 'M' : 'L'}${Math.round(x * 1000) / 1000} ${Math.round(y * 1000) / 1000}`;
        if (r === 0) {
          if (x < bx0) bx0 = x;
          if (x > bx1) bx1 = x;
          if (y < by0) by0 = y;
          if (y > by1) by1 = y;
        }
      }
      parts.push(d, 'Z');
      segments += ring.length / 2;
    }
    boxes[4 * c] = level0.x + bx0;
    boxes[4 * c + 1] = level0.y + by0;
    boxes[4 * c + 2] = level0.x + bx1;
    boxes[4 * c + 3] = level0.y + by1;
    areas[c] = cell.area * sx * sy;
    totalArea += areas[c];
    diagonals += Math.hypot(bx1 - bx0, by1 - by0);
    if (bx0 < minX) minX = bx0;
    if (by0 < minY) minY = by0;
    if (bx1 > maxX) maxX = bx1;
    if (by1 > maxY) maxY = by1;
  }
  const bounds: [number, number, number, number] = cells.length
    ? [level0.x + minX, level0.y + minY, level0.x + maxX, level0.y + maxY]
    : // An empty tile is never in view.
      [Infinity, Infinity, -Infinity, -Infinity];
  const path = new Path2D(parts.join(''));
  return {
    key: tile.key,
    x: level0.x,
    y: level0.y,
    path,
    boxes,
    areas,
    bounds,
    totalArea,
    segments,
    cellSize: cells.length ? diagonals / cells.length : 0,
  };
}

function newCanvas(width: number, height: number): OffscreenCanvas | HTMLCanvasElement {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
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
