import type OpenSeadragon from 'openseadragon';
import { parseColor } from './css-color.js';
import { createOverlayCanvas, type OverlayCanvasOptions } from './overlay-canvas.js';
import { args } from './view-transform.js';

/**
 * One cell picked out over the viewer (the cell table's selection): its outline stroked wide in
 * a colour of its own above the contour layer, a constant width on screen at every zoom.
 */
export interface CellHighlight {
  readonly canvas: HTMLCanvasElement;
  /** The outline shown, flat [x0, y0, …] in level-0 pixels, or none. */
  readonly outline: Float64Array | undefined;
  show(outline: Float64Array | undefined): void;
  destroy(): void;
}

export interface CellHighlightOptions extends OverlayCanvasOptions {
  /** Any CSS colour; default cyan, apart from the contours' yellow and the mask's green. */
  readonly color?: string;
  /** CSS pixels; default 3. */
  readonly lineWidth?: number;
}

export function createCellHighlight(viewer: OpenSeadragon.Viewer, options: CellHighlightOptions = {}): CellHighlight {
  const color = options.color ?? '#00e5ff';
  parseColor(color);
  const lineWidth = options.lineWidth ?? 3;
  let outline: Float64Array | undefined;
  const host = createOverlayCanvas(
    viewer,
    ({ ctx, toCanvas, pixelRatio, scale }) => {
      if (!outline || outline.length < 6) return;
      ctx.setTransform(...args(toCanvas));
      ctx.beginPath();
      for (let i = 0; i < outline.length; i += 2)
        if (i === 0) ctx.moveTo(outline[i], outline[i + 1]);
        else ctx.lineTo(outline[i], outline[i + 1]);
      ctx.closePath();
      ctx.lineWidth = (lineWidth * pixelRatio) / scale;
      ctx.strokeStyle = color;
      ctx.stroke();
    },
    {
      className: options.className ?? 'fewshot-cell-highlight',
      item: options.item,
      isEmpty: () => !outline || outline.length < 6,
    },
  );
  return {
    canvas: host.canvas,
    get outline() {
      return outline;
    },
    show(next) {
      outline = next;
      host.invalidate();
    },
    destroy: () => host.destroy(),
  };
}
