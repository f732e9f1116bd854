import type OpenSeadragon from 'openseadragon';
import { ByteLru } from '../../core/cache/byte-lru.js';
import type { Rect } from '../../core/math/rect.js';
import { parseColor, type Rgba } from './css-color.js';
import { createOverlayCanvas, type OverlayCanvasOptions, type OverlayFrame } from './overlay-canvas.js';
import { args, boxMeetsQuad, local } from './view-transform.js';

/** How probabilities become colours. */
export type MaskMode = 'probability' | 'mask';

/**
 * For the probability mode: 'viridis' colours every pixel by its probability (perceptually
 * even, readable by the colour-blind); 'ramp' is the layer's colour with alpha = probability,
 * which leaves the tissue visible where the model sees nothing.
 */
export type Colormap = 'viridis' | 'ramp';

export interface MaskStyle {
  readonly mode: MaskMode;
  /** Mask mode: a pixel is shown when its probability is above this (as core/cells/cell-contours.ts). */
  readonly threshold: number;
  /** Any CSS colour: the mask's, and the ramp's. */
  readonly color: string;
  readonly colormap: Colormap;
  /** 0…1, the whole layer's. */
  readonly opacity: number;
}

export const DEFAULT_MASK_STYLE: MaskStyle = {
  mode: 'mask',
  threshold: 0.5,
  color: '#00e676',
  colormap: 'viridis',
  opacity: 0.5,
};

/**
 * One result tile. A region run's TileDone (core/session/region-run.ts) is one as it is:
 * `tile.width × tile.height` probabilities drawn over the level-0 rectangle `level0`.
 */
export interface MaskTile {
  /** Names the tile: adding a tile with a key already shown replaces it. */
  readonly key: string;
  /** Where it lies, in level-0 pixels (fractional when the inference grid is scaled). */
  readonly level0: Rect;
  /** Size of the probability map (the inference resolution). */
  readonly tile: { readonly width: number; readonly height: number };
  /** Row-major. Kept, not copied, and never modified. */
  readonly probabilities: Float32Array;
  /**
   * Several classes (core/cells/class-composition.ts's composeClasses): each pixel's class, 1-based
   * (0 none), drawn in `colors[k - 1]` whatever the mode and threshold. Row-major, as probabilities.
   */
  readonly labels?: Uint8Array;
  /** The classes' CSS colours, with `labels`. */
  readonly colors?: readonly string[];
}

export interface MaskLayerOptions extends OverlayCanvasOptions, Partial<MaskStyle> {
  readonly visible?: boolean;
  /**
   * Coloured tiles kept for redrawing, in pixels (4 bytes each). Default 32 M (128 MB): the
   * tiles of a large screen at full resolution several times over. Tiles out of the budget
   * keep their probabilities and are coloured again when next in view.
   */
  readonly cachePixels?: number;
}

export interface MaskLayer {
  readonly canvas: HTMLCanvasElement;
  /** Hidden: nothing is drawn, tiles are kept; shown again at once when set. */
  visible: boolean;
  readonly style: MaskStyle;
  /** Changes the look only: stored probabilities are coloured again, the model is not run. */
  setStyle(style: Partial<MaskStyle>): void;
  addTile(tile: MaskTile): void;
  removeTile(key: string): boolean;
  has(key: string): boolean;
  readonly tileCount: number;
  clear(): void;
  /** Draws now instead of on the next frame, every tile coloured (tests, screenshots). */
  redraw(): void;
  destroy(): void;
}

/** A tile coloured at `stride` (1: every probability pixel; 2: every other one, for zoomed-out views). */
interface TileImage {
  readonly canvas: OffscreenCanvas | HTMLCanvasElement;
  readonly stride: number;
  /** The style version it was coloured in. */
  readonly version: number;
}

const MAX_STRIDE = 64;
/**
 * Pixels coloured per frame (4 tiles of 256²), at least one tile: a strip of 20 tiles arriving
 * together was coloured in one frame, 100–200 ms of the page's thread on a loaded 2-core machine
 * (bench:view's trace of three full-HD fills). Tiles past it keep their older image, or wait a frame.
 */
const COLOUR_PIXELS_PER_FRAME = 4 * 256 * 256;

/**
 * Result tiles as a layer over an OpenSeadragon viewer: aligned through the item's image
 * coordinates at any zoom, rotation, flip and pixel ratio (view-transform.ts); each tile is
 * coloured once per style into a small canvas and then only drawn with a transform, so pans,
 * zooms and opacity changes cost a drawImage per visible tile, and a threshold or colour change
 * one colouring pass over the visible tiles.
 */
export function createMaskLayer(viewer: OpenSeadragon.Viewer, options: MaskLayerOptions = {}): MaskLayer {
  let style = checkStyle({ ...DEFAULT_MASK_STYLE, ...pickStyle(options) });
  let palette = makePalette(style);
  let version = 0;
  const budget = options.cachePixels ?? 32 * 1024 * 1024;
  const tiles = new Map<string, MaskTile>();
  // Coloured images by tile key, least recently drawn first, sized in pixels. Unbounded while a
  // frame draws and trimmed after it, never below the frame's own pixels: a view larger than the
  // budget would otherwise colour all its tiles again each frame.
  const images = new ByteLru<string, TileImage>(Infinity, (i) => i.canvas.width * i.canvas.height);

  /** redraw(): every tile coloured in this one drawing, whatever the frame budget. */
  let unbudgeted = false;
  const draw = (frame: OverlayFrame) => {
    const { ctx, toCanvas, view, scale } = frame;
    // Probability pixels are measurements: show them as squares, never blurred into neighbours.
    ctx.imageSmoothingEnabled = false;
    let framePixels = 0;
    let coloured = 0;
    let behind = false;
    for (const t of tiles.values()) {
      const { level0, tile } = t;
      if (!boxMeetsQuad(level0.x, level0.y, level0.x + level0.width, level0.y + level0.height, view)) continue;
      // Zoomed out, a probability pixel covers less than a device pixel: colour every stride-th.
      const devicePerPixel = scale * (level0.width / tile.width);
      const stride = devicePerPixel >= 1 ? 1 : Math.min(MAX_STRIDE, 2 ** Math.floor(Math.log2(1 / devicePerPixel)));
      let image = freshImage(t, stride);
      if (!image && (unbudgeted || coloured < COLOUR_PIXELS_PER_FRAME)) {
        image = colourTile(t, stride);
        coloured += image.width * image.height;
      } else if (!image) {
        // Over the frame's budget: its older image (another stride or style) if any, coloured next frame.
        behind = true;
        image = images.get(t.key)?.canvas;
        if (!image) continue;
      }
      ctx.setTransform(
        ...args(local(toCanvas, level0.x, level0.y, level0.width / image.width, level0.height / image.height)),
      );
      ctx.drawImage(image, 0, 0);
      framePixels += image.width * image.height;
    }
    images.trim(Math.max(budget, framePixels));
    if (behind) host.invalidate();
  };

  /** The tile's image at this stride in the current style (now the most recently drawn), if it has one. */
  const freshImage = (t: MaskTile, stride: number): OffscreenCanvas | HTMLCanvasElement | undefined => {
    const old = images.get(t.key);
    return old && old.stride === stride && old.version === version ? old.canvas : undefined;
  };

  /** The tile coloured at this stride in the current style, into its older image's canvas if any. */
  const colourTile = (t: MaskTile, stride: number): OffscreenCanvas | HTMLCanvasElement => {
    const old = images.get(t.key);
    const { width, height } = t.tile;
    const w = Math.max(1, Math.ceil(width / stride));
    const h = Math.max(1, Math.ceil(height / stride));
    const canvas = old?.canvas ?? newCanvas(w, h);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const pixels = new ImageData(w, h);
    const out = new Uint32Array(pixels.data.buffer);
    if (t.labels) colourPixels(t.labels, width, height, w, h, labelPalette(t.colors ?? []), out);
    else colourPixels(t.probabilities, width, height, w, h, palette, out);
    (canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D).putImageData(
      pixels,
      0,
      0,
    );
    images.set(t.key, { canvas, stride, version });
    return canvas;
  };

  const host = createOverlayCanvas(viewer, draw, {
    className: options.className ?? 'fewshot-mask-layer',
    item: options.item,
    isEmpty: () => tiles.size === 0,
  });
  host.canvas.style.opacity = String(style.opacity);
  if (options.visible === false) host.visible = false;

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
      const next = checkStyle({ ...style, ...change });
      // Opacity is the canvas's: changing it neither recolours nor redraws.
      host.canvas.style.opacity = String(next.opacity);
      const looks =
        next.mode !== style.mode ||
        next.threshold !== style.threshold ||
        next.color !== style.color ||
        next.colormap !== style.colormap;
      style = next;
      if (!looks) return;
      palette = makePalette(style);
      version++;
      host.invalidate();
    },
    addTile(tile) {
      checkTile(tile);
      // A replaced tile goes to the end of the drawing order, as a new one.
      tiles.delete(tile.key);
      images.delete(tile.key);
      tiles.set(tile.key, tile);
      host.invalidate();
    },
    removeTile(key) {
      if (!tiles.delete(key)) return false;
      images.delete(key);
      host.invalidate();
      return true;
    },
    has(key) {
      return tiles.has(key);
    },
    get tileCount() {
      return tiles.size;
    },
    clear() {
      tiles.clear();
      images.clear();
      host.invalidate();
    },
    redraw() {
      unbudgeted = true;
      try {
        host.drawNow();
      } finally {
        unbudgeted = false;
      }
    },
    destroy() {
      tiles.clear();
      images.clear();
      host.destroy();
    },
  };
}

/** What colouring needs, made once per style: colours packed as the platform's RGBA words. */
interface Palette {
  readonly mode: MaskMode;
  readonly threshold: number;
  readonly mask: number;
  /** 256 colours by probability (probability mode). */
  readonly ramp: Uint32Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function pack([r, g, b, a]: Rgba): number {
  return LITTLE_ENDIAN ? ((a << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
}

// matplotlib's viridis at 0, 0.1, …, 1.
const VIRIDIS = [
  [68, 1, 84],
  [72, 36, 117],
  [65, 68, 135],
  [53, 95, 141],
  [42, 120, 142],
  [33, 145, 140],
  [34, 168, 132],
  [68, 191, 112],
  [122, 209, 81],
  [189, 223, 38],
  [253, 231, 37],
];

function makePalette(style: MaskStyle): Palette {
  const colour = parseColor(style.color);
  const ramp = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const p = i / 255;
    if (style.colormap === 'ramp') {
      ramp[i] = pack([colour[0], colour[1], colour[2], Math.round(p * colour[3])]);
    } else {
      const s = p * 10;
      const k = Math.min(9, Math.floor(s));
      const f = s - k;
      const [r0, g0, b0] = VIRIDIS[k];
      const [r1, g1, b1] = VIRIDIS[k + 1];
      ramp[i] = pack([
        Math.round(r0 + (r1 - r0) * f),
        Math.round(g0 + (g1 - g0) * f),
        Math.round(b0 + (b1 - b0) * f),
        255,
      ]);
    }
  }
  return { mode: style.mode, threshold: style.threshold, mask: pack(colour), ramp };
}

/** Labels as colours: label k (1…) in the k-th class colour, 0 transparent (the probability branch, by index). */
function labelPalette(colors: readonly string[]): Palette {
  const ramp = new Uint32Array(256);
  colors.forEach((c, k) => (ramp[k + 1] = pack(parseColor(c))));
  return { mode: 'probability', threshold: 0, mask: 0, ramp };
}

/**
 * Colours a w × h sampling of a width × height probability map (or a label map, through a
 * labelPalette): output pixel (i, j) shows the value at the centre of the block it stands for
 * (nearest neighbour, as the canvas then draws it). NaN is transparent.
 */
function colourPixels(
  p: Float32Array | Uint8Array,
  width: number,
  height: number,
  w: number,
  h: number,
  palette: Palette,
  out: Uint32Array,
): void {
  const columns = new Int32Array(w);
  for (let i = 0; i < w; i++) columns[i] = Math.min(width - 1, Math.floor(((i + 0.5) * width) / w));
  const { mode, threshold, mask, ramp } = palette;
  const labels = p instanceof Uint8Array;
  for (let j = 0, o = 0; j < h; j++) {
    const row = Math.min(height - 1, Math.floor(((j + 0.5) * height) / h)) * width;
    if (mode === 'mask') {
      for (let i = 0; i < w; i++, o++) out[o] = p[row + columns[i]] > threshold ? mask : 0;
    } else {
      for (let i = 0; i < w; i++, o++) {
        const v = p[row + columns[i]];
        out[o] = labels ? ramp[v] : v >= 0 ? ramp[v >= 1 ? 255 : (v * 255 + 0.5) | 0] : v < 0 ? ramp[0] : 0;
      }
    }
  }
}

function newCanvas(width: number, height: number): OffscreenCanvas | HTMLCanvasElement {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function pickStyle(options: Partial<MaskStyle>): Partial<MaskStyle> {
  const out: Partial<Record<keyof MaskStyle, unknown>> = {};
  for (const k of ['mode', 'threshold', 'color', 'colormap', 'opacity'] as const)
    if (options[k] !== undefined) out[k] = options[k];
  return out as Partial<MaskStyle>;
}

function checkStyle(style: MaskStyle): MaskStyle {
  if (style.mode !== 'mask' && style.mode !== 'probability')
    throw new RangeError(`mode is ${String(style.mode)}; it is 'mask' or 'probability'`);
  if (style.colormap !== 'viridis' && style.colormap !== 'ramp')
    throw new RangeError(`colormap is ${String(style.colormap)}; it is 'viridis' or 'ramp'`);
  if (!Number.isFinite(style.threshold)) throw new RangeError(`threshold is ${style.threshold}; it is a finite number`);
  if (!(style.opacity >= 0 && style.opacity <= 1))
    throw new RangeError(`opacity is ${style.opacity}; it is between 0 and 1`);
  parseColor(style.color);
  return style;
}

function checkTile(tile: MaskTile): void {
  const { width, height } = tile.tile;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`tile ${tile.key}: its size is ${width}×${height}; it is whole pixels`);
  }
  if (tile.probabilities.length !== width * height) {
    throw new RangeError(`tile ${tile.key}: ${tile.probabilities.length} probabilities for ${width}×${height} pixels`);
  }
  if (tile.labels && tile.labels.length !== width * height)
    throw new RangeError(`tile ${tile.key}: ${tile.labels.length} labels for ${width}×${height} pixels`);
  const r = tile.level0;
  if (![r.x, r.y, r.width, r.height].every(Number.isFinite) || !(r.width > 0 && r.height > 0)) {
    throw new RangeError(
      `tile ${tile.key}: its level-0 rectangle ${r.x},${r.y} ${r.width}×${r.height} is not a rectangle`,
    );
  }
}
