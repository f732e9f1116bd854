import type { OverlayFrame } from './overlay-canvas.js';
import { apply, args, compose, invert, type Affine } from './view-transform.js';

/** Something drawn in level-0 pixels, cached as a raster of its own. */
export interface RasterItem {
  /** minX, minY, maxX, maxY in level-0 pixels: what the item's drawing covers, less `pad`. */
  readonly bounds: readonly [number, number, number, number];
}

export interface RasterCacheOptions<T extends RasterItem> {
  /** Draws `item` on `ctx` (cleared, any state) through `toTarget`: level-0 pixels → its pixels. */
  readonly draw: (ctx: Context2D, item: T, toTarget: Affine, pixelRatio: number) => void;
  /** How far a drawing reaches beyond its item's bounds, in device pixels (half a line and its antialiasing). */
  readonly pad: (pixelRatio: number) => number;
  /** A zoom or rotation is drawn afresh once the view's scale and rotation have held this long. */
  readonly restMs: number;
  /** Asks for another frame: work was left for it, or the view will have rested by then. */
  readonly invalidate: () => void;
}

export type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

interface Raster {
  image: OffscreenCanvas | HTMLCanvasElement;
  /** Level-0 pixels → the raster's pixels, as it was drawn. */
  toRaster: Affine;
  generation: number;
  /** The frame it was last shown in. */
  shown: number;
}

export interface RasterCache<T extends RasterItem> {
  /**
   * Shows `items` (those in view) on the frame from their rasters, drawing first the rasters that
   * are missing, outdated or do not cover the view, then (once the view's scale and rotation
   * have rested) those drawn at another zoom, within `budgetMs` of drawing per frame (all of
   * them when `all`). Rasters not drawn yet are shown as they were, moved with the view.
   */
  draw(frame: OverlayFrame, items: readonly T[], all?: boolean): void;
  /** Every raster is outdated (the style or the items changed): drawn again before shown as they are. */
  outdate(): void;
  forget(item: T): void;
  clear(): void;
  destroy(): void;
}

/**
 * Why cached rasters and not WebGL: headless Chromium on this project's 2-core CPU machines draws
 * WebGL with SwiftShader, and an instanced-quad WebGL prototype of the outlines (one quad per
 * segment, view transform as a uniform; not kept) took 4.5 s per frame for 10 000 cells at a
 * load of 28, its vertex work growing with the outlines, while compositing rasters is a copy of
 * about the view's pixels per frame, whatever the number of cells (bench:draw, 100 000 cells).
 * Each item gets one raster of its own drawn at the zoom of its frame, clipped to the view and
 * half a view around it: a pan moves the rasters (whole device pixels, so an exact copy) and
 * draws only the items that come into view; a zoom moves and scales them until it rests, then
 * they are drawn afresh a few per frame. The item, not a screen tile, is the unit so that each
 * outline is stroked once.
 */
export function createRasterCache<T extends RasterItem>(options: RasterCacheOptions<T>): RasterCache<T> {
  const rasters = new Map<T, Raster>();
  let generation = 0;
  let frameNumber = 0;
  let linear: Linear = { a: NaN, b: NaN, c: NaN, d: NaN };
  let linearSince = 0;
  let restTimer: ReturnType<typeof setTimeout> | undefined;

  const render = (item: T, frame: OverlayFrame, old: Raster | undefined): Raster | undefined => {
    const { toCanvas: t, width, height, pixelRatio } = frame;
    const pad = options.pad(pixelRatio);
    const [x0, y0, x1, y1] = item.bounds;
    let bx0 = Infinity,
      by0 = Infinity,
      bx1 = -Infinity,
      by1 = -Infinity;
    for (const [x, y] of [apply(t, x0, y0), apply(t, x1, y0), apply(t, x1, y1), apply(t, x0, y1)]) {
      bx0 = Math.min(bx0, x);
      by0 = Math.min(by0, y);
      bx1 = Math.max(bx1, x);
      by1 = Math.max(by1, y);
    }
    const rx0 = Math.floor(Math.max(bx0 - pad, -width / 2));
    const ry0 = Math.floor(Math.max(by0 - pad, -height / 2));
    const rx1 = Math.ceil(Math.min(bx1 + pad, width * 1.5));
    const ry1 = Math.ceil(Math.min(by1 + pad, height * 1.5));
    if (rx1 <= rx0 || ry1 <= ry0) return undefined;
    const w = rx1 - rx0,
      h = ry1 - ry0;
    const image = old && old.image.width === w && old.image.height === h ? old.image : newCanvas(w, h);
    const ctx = image.getContext('2d') as Context2D;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const toRaster: Affine = { ...t, e: t.e - rx0, f: t.f - ry0 };
    options.draw(ctx, item, toRaster, pixelRatio);
    return { image, toRaster, generation, shown: frameNumber };
  };

  /** Whether the raster holds all of the item that the frame shows. */
  const covers = (r: Raster, item: T, frame: OverlayFrame): boolean => {
    const m = compose(r.toRaster, invert(frame.toCanvas));
    const { width: w, height: h } = frame;
    const view = box([apply(m, 0, 0), apply(m, w, 0), apply(m, w, h), apply(m, 0, h)]);
    const [x0, y0, x1, y1] = item.bounds;
    const t = r.toRaster;
    const pad = options.pad(frame.pixelRatio);
    const own = box([apply(t, x0, y0), apply(t, x1, y0), apply(t, x1, y1), apply(t, x0, y1)]);
    const nx0 = Math.max(view[0], own[0] - pad),
      ny0 = Math.max(view[1], own[1] - pad);
    const nx1 = Math.min(view[2], own[2] + pad),
      ny1 = Math.min(view[3], own[3] + pad);
    if (nx1 <= nx0 || ny1 <= ny0) return true;
    // Half a pixel: the raster's bounds were rounded outwards from the same numbers.
    return nx0 >= -0.5 && ny0 >= -0.5 && nx1 <= r.image.width + 0.5 && ny1 <= r.image.height + 0.5;
  };

  return {
    draw(frame, items, all = false) {
      frameNumber++;
      const t = frame.toCanvas;
      const now = performance.now();
      if (!sameLinear(linear, t)) {
        linear = { a: t.a, b: t.b, c: t.c, d: t.d };
        linearSince = now;
      }
      const rested = now - linearSince >= options.restMs;
      const urgent: T[] = [];
      const later: T[] = [];
      for (const item of items) {
        const r = rasters.get(item);
        if (!r || r.generation !== generation || !covers(r, item, frame)) urgent.push(item);
        else if (!sameLinear(linear, r.toRaster)) later.push(item);
      }
      const start = performance.now();
      const queue = rested || all ? urgent.concat(later) : urgent;
      let done = 0;
      for (const item of queue) {
        if (!all && done > 0 && performance.now() - start > BUDGET_MS) break;
        const r = render(item, frame, rasters.get(item));
        if (r) rasters.set(item, r);
        else rasters.delete(item);
        done++;
      }
      if (done < queue.length) options.invalidate();
      else if (later.length > 0 && !rested) {
        clearTimeout(restTimer);
        restTimer = setTimeout(options.invalidate, options.restMs - (now - linearSince));
      }
      const { ctx } = frame;
      for (const item of items) {
        const r = rasters.get(item);
        if (!r) continue;
        r.shown = frameNumber;
        const m = compose(t, invert(r.toRaster));
        // Moved by whole device pixels only: the raster is copied as it is, no resampling blur.
        const moved = isTranslation(m);
        ctx.imageSmoothingEnabled = !moved;
        if (moved) ctx.setTransform(1, 0, 0, 1, Math.round(m.e), Math.round(m.f));
        else ctx.setTransform(...args(m));
        ctx.drawImage(r.image, 0, 0);
      }
      ctx.imageSmoothingEnabled = true;
      evict(frame);
    },
    outdate() {
      generation++;
    },
    forget(item) {
      rasters.delete(item);
    },
    clear() {
      rasters.clear();
    },
    destroy() {
      clearTimeout(restTimer);
      rasters.clear();
    },
  };

  /** Keeps the pixels held within a few views' worth, dropping the rasters shown longest ago first. */
  function evict(frame: OverlayFrame): void {
    let pixels = 0;
    for (const r of rasters.values()) pixels += r.image.width * r.image.height;
    const limit = HELD_VIEWS * frame.width * frame.height;
    if (pixels <= limit) return;
    const old = [...rasters].filter(([, r]) => r.shown !== frameNumber).sort((p, q) => p[1].shown - q[1].shown);
    for (const [item, r] of old) {
      if (pixels <= limit) break;
      pixels -= r.image.width * r.image.height;
      rasters.delete(item);
    }
  }
}

/**
 * Drawing per frame before the rest waits for the next: a frame at 50 fps is 20 ms, and the
 * compositing of a full-HD view takes a few of them on a CPU.
 */
const BUDGET_MS = 8;
/** Raster pixels held, in views: those in view (up to twice the view each way) and some around it. */
const HELD_VIEWS = 8;

function box(points: [number, number][]): [number, number, number, number] {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return [x0, y0, x1, y1];
}

type Linear = Pick<Affine, 'a' | 'b' | 'c' | 'd'>;

/**
 * The same scale, rotation and flip: to a billionth, since a pan alone changes the last bits of
 * the transform OpenSeadragon's conversions give.
 */
function sameLinear(p: Linear, t: Linear): boolean {
  const e = 1e-9 * (Math.abs(t.a) + Math.abs(t.b) + Math.abs(t.c) + Math.abs(t.d));
  return Math.abs(p.a - t.a) <= e && Math.abs(p.b - t.b) <= e && Math.abs(p.c - t.c) <= e && Math.abs(p.d - t.d) <= e;
}

const isTranslation = (m: Affine): boolean => sameLinear(m, { a: 1, b: 0, c: 0, d: 1 });

export function newCanvas(width: number, height: number): OffscreenCanvas | HTMLCanvasElement {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}
