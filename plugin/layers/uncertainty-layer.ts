import type OpenSeadragon from 'openseadragon';
import type { Rect } from '../../core/math/rect.js';
import { createMaskLayer, type MaskLayer } from './mask-layer.js';
import type { OverlayCanvasOptions } from './overlay-canvas.js';

/**
 * The head's per-pixel uncertainty (core/inference/uncertainty.ts) as a layer over the viewer.
 *
 * Colour map: one colour (default magenta, #ff00ff: far from the class's default green and from
 * H&E's pinks and purples at full strength) with alpha = u, so a sure pixel (u = 0) leaves the
 * slide as it is and a pixel the head cannot call (u = 1: p = ½, or members that disagree fully)
 * is that colour at the layer's opacity. A ramp of one hue reads as "more or less doubt" without
 * a legend, and it stays readable over the mask layer, which it is drawn above.
 *
 * It is the mask layer's canvas and drawing (mask-layer.ts, 'probability' mode with its 'ramp'
 * colour map) fed u instead of p: the same alignment at any zoom, rotation and flip, the same
 * per-tile colouring cache. A tile's bytes are turned into floats once, when it is added.
 */
export const DEFAULT_UNCERTAINTY_COLOR = '#ff00ff';

export interface UncertaintyTile {
  /** Names the tile: adding a tile with a key already shown replaces it. */
  readonly key: string;
  /** Where it lies, in level-0 pixels. */
  readonly level0: Rect;
  readonly tile: { readonly width: number; readonly height: number };
  /** round(255·u) per pixel, row-major (core/inference/uncertainty.ts). */
  readonly uncertainty: Uint8Array;
}

export interface UncertaintyLayerOptions extends OverlayCanvasOptions {
  readonly visible?: boolean;
  /** Any CSS colour; default DEFAULT_UNCERTAINTY_COLOR. */
  readonly color?: string;
  /** 0…1; default 0.7. */
  readonly opacity?: number;
}

export interface UncertaintyLayer {
  readonly canvas: HTMLCanvasElement;
  visible: boolean;
  addTile(tile: UncertaintyTile): void;
  has(key: string): boolean;
  readonly tileCount: number;
  clear(): void;
  redraw(): void;
  destroy(): void;
}

export function createUncertaintyLayer(
  viewer: OpenSeadragon.Viewer,
  options: UncertaintyLayerOptions = {},
): UncertaintyLayer {
  const layer: MaskLayer = createMaskLayer(viewer, {
    className: options.className ?? 'fewshot-uncertainty-layer',
    item: options.item,
    visible: options.visible,
    mode: 'probability',
    colormap: 'ramp',
    color: options.color ?? DEFAULT_UNCERTAINTY_COLOR,
    opacity: options.opacity ?? 0.7,
  });
  return {
    get canvas() {
      return layer.canvas;
    },
    get visible() {
      return layer.visible;
    },
    set visible(on: boolean) {
      layer.visible = on;
    },
    addTile(tile) {
      const { width, height } = tile.tile;
      if (tile.uncertainty.length !== width * height)
        throw new RangeError(`tile ${tile.key}: ${tile.uncertainty.length} values for ${width}×${height} pixels`);
      const u = new Float32Array(tile.uncertainty.length);
      for (let i = 0; i < u.length; i++) u[i] = tile.uncertainty[i] / 255;
      layer.addTile({ key: tile.key, level0: tile.level0, tile: tile.tile, probabilities: u });
    },
    has: (key) => layer.has(key),
    get tileCount() {
      return layer.tileCount;
    },
    clear: () => layer.clear(),
    redraw: () => layer.redraw(),
    destroy: () => layer.destroy(),
  };
}
