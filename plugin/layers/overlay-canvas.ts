import type OpenSeadragon from 'openseadragon';
import { imageToElement, scaleOf, slideItem, viewQuad, type Affine } from './view-transform.js';

/** What a layer draws with, once per frame. */
export interface OverlayFrame {
  /** Cleared, identity transform; the layer sets its own transforms. */
  readonly ctx: CanvasRenderingContext2D;
  /** Slide level-0 pixels → canvas (device) pixels. */
  readonly toCanvas: Affine;
  /** Device pixels per level-0 pixel. */
  readonly scale: number;
  /** Device pixels per CSS pixel. */
  readonly pixelRatio: number;
  /** The canvas's corners in level-0 pixels (see viewQuad): what is in view. */
  readonly view: Float64Array;
  /** The canvas's size in device pixels. */
  readonly width: number;
  readonly height: number;
}

export interface OverlayCanvasOptions {
  /** The item whose image pixels the layer's coordinates are; default the world's first. */
  readonly item?: (viewer: OpenSeadragon.Viewer) => OpenSeadragon.TiledImage | undefined;
  /** CSS class of the canvas, for the host page's styling and for finding it. */
  readonly className?: string;
  /**
   * The layer has nothing to draw now: its canvas is cleared once and taken out of the page's
   * layout (display: none) until it has, instead of being cleared and composited every frame.
   * Without a GPU, Chromium copies each 2D canvas that changed into the compositor per frame
   * (bench:view traces: the commit was most of the page's long tasks while panning).
   */
  readonly isEmpty?: () => boolean;
}

export interface OverlayCanvas {
  readonly canvas: HTMLCanvasElement;
  visible: boolean;
  /** The layer's content changed: draw it on the next animation frame (several asks, one draw). */
  invalidate(): void;
  /** Draws now, whether or not anything changed. */
  drawNow(): void;
  /** The view in level-0 pixels now (corners of the viewer element), or null with no slide open. */
  viewQuad(): Float64Array | null;
  destroy(): void;
}

/**
 * One canvas over an OpenSeadragon viewer, sized to the viewer in device pixels, redrawn in the
 * same frame as OpenSeadragon's own drawing (its 'update-viewport' event comes right after
 * the world is drawn), so the overlay never lags the slide by a frame while it animates.
 * Inserted below the viewer's HTML overlays (support boxes stay clickable and on top) and
 * transparent to the pointer (panning and zooming go to the viewer).
 */
export function createOverlayCanvas(
  viewer: OpenSeadragon.Viewer,
  draw: (frame: OverlayFrame) => void,
  options: OverlayCanvasOptions = {},
): OverlayCanvas {
  const itemOf = options.item ?? slideItem;
  const canvas = document.createElement('canvas');
  if (options.className) canvas.className = options.className;
  Object.assign(canvas.style, {
    position: 'absolute',
    left: '0px',
    top: '0px',
    width: '100%',
    height: '100%',
    pointerEvents: 'none',
  });
  viewer.canvas.insertBefore(canvas, viewer.overlaysContainer ?? null);
  const ctx = canvas.getContext('2d')!;

  let visible = true;
  /** Out of the layout for having nothing to draw (isEmpty). */
  let empty = false;
  const showCanvas = () => (canvas.style.display = visible && !empty ? '' : 'none');
  let dirty = true;
  let frameRequest = 0;
  let destroyed = false;
  let last: Affine | null = null;

  /** Device pixels per CSS pixel now; read each frame, since moving the window to another screen changes it. */
  const pixelRatio = () => window.devicePixelRatio || 1;

  const transformNow = (): { toElement: Affine; cssWidth: number; cssHeight: number } | null => {
    const item = itemOf(viewer);
    if (!item || !viewer.viewport) return null;
    const size = viewer.viewport.getContainerSize();
    if (!(size.x > 0 && size.y > 0)) return null;
    return { toElement: imageToElement(viewer, item), cssWidth: size.x, cssHeight: size.y };
  };

  const render = (force: boolean) => {
    if (destroyed || !visible) return;
    if (options.isEmpty?.()) {
      if (!empty) {
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        empty = true;
        showCanvas();
      }
      last = null;
      dirty = false;
      return;
    }
    if (empty) {
      empty = false;
      showCanvas();
    }
    const now = transformNow();
    const ratio = pixelRatio();
    // The drawers size their canvases the same way, so both round to the same device pixels.
    const width = now ? Math.round(now.cssWidth * ratio) : canvas.width;
    const height = now ? Math.round(now.cssHeight * ratio) : canvas.height;
    const resized = width !== canvas.width || height !== canvas.height;
    if (resized) {
      canvas.width = width;
      canvas.height = height;
    }
    if (!now) {
      if (last || force || dirty) ctx.clearRect(0, 0, canvas.width, canvas.height);
      last = null;
      dirty = false;
      return;
    }
    const sx = width / now.cssWidth;
    const sy = height / now.cssHeight;
    const t = now.toElement;
    const toCanvas: Affine = { a: t.a * sx, b: t.b * sy, c: t.c * sx, d: t.d * sy, e: t.e * sx, f: t.f * sy };
    // OpenSeadragon raises several events per frame ('animation' and 'update-viewport'); one draw each.
    if (!force && !dirty && !resized && last && sameAffine(last, toCanvas)) return;
    last = toCanvas;
    dirty = false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    draw({
      ctx,
      toCanvas,
      scale: scaleOf(toCanvas),
      pixelRatio: ratio,
      view: viewQuad(toCanvas, width, height),
      width,
      height,
    });
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  };

  const onFrame = () => {
    frameRequest = 0;
    render(false);
  };
  const invalidate = () => {
    dirty = true;
    if (!frameRequest && !destroyed) frameRequest = requestAnimationFrame(onFrame);
  };
  const onViewerDrawn = () => render(false);

  // Drawn with the world; the others change the view and are followed by a world draw, but a
  // frame of our own covers the case where OpenSeadragon has nothing to redraw.
  viewer.addHandler('update-viewport', onViewerDrawn);
  viewer.addHandler('animation', onViewerDrawn);
  viewer.addHandler('resize', invalidate);
  viewer.addHandler('rotate', invalidate);
  viewer.addHandler('flip', invalidate);
  viewer.addHandler('open', invalidate);
  viewer.addHandler('close', invalidate);
  viewer.world.addHandler('add-item', invalidate);
  viewer.world.addHandler('remove-item', invalidate);

  return {
    canvas,
    get visible() {
      return visible;
    },
    set visible(value: boolean) {
      if (value === visible) return;
      visible = value;
      showCanvas();
      if (value) invalidate();
    },
    invalidate,
    drawNow() {
      if (frameRequest) cancelAnimationFrame(frameRequest);
      frameRequest = 0;
      render(true);
    },
    viewQuad() {
      const now = transformNow();
      return now ? viewQuad(now.toElement, now.cssWidth, now.cssHeight) : null;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      if (frameRequest) cancelAnimationFrame(frameRequest);
      viewer.removeHandler('update-viewport', onViewerDrawn);
      viewer.removeHandler('animation', onViewerDrawn);
      viewer.removeHandler('resize', invalidate);
      viewer.removeHandler('rotate', invalidate);
      viewer.removeHandler('flip', invalidate);
      viewer.removeHandler('open', invalidate);
      viewer.removeHandler('close', invalidate);
      viewer.world?.removeHandler('add-item', invalidate);
      viewer.world?.removeHandler('remove-item', invalidate);
      canvas.remove();
    },
  };
}

function sameAffine(p: Affine, q: Affine): boolean {
  return p.a === q.a && p.b === q.b && p.c === q.c && p.d === q.d && p.e === q.e && p.f === q.f;
}
