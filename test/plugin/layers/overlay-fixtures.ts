import OpenSeadragon from 'openseadragon';
import { pixelTileSource } from '../../../plugin/slide/pixel-tile-source.js';
import type { PixelSource } from '../../../core/slide/pixel-source.js';
import type { Rect } from '../../../core/math/rect.js';

/** The synthetic slide of the overlay tests: light grey with red marks at known level-0 places. */
export const SLIDE = { width: 2048, height: 1536 };

/**
 * Marks around the slide's centre, so a zoomed-in view holds them all; of different shapes (a
 * wrong rotation or flip would move them onto each other's places) and one straddling the
 * boundary between result tiles at x = 1024. Even coordinates and sizes: exact in the
 * half-resolution probability maps below.
 */
export const MARKS: readonly Rect[] = [
  { x: 900, y: 700, width: 24, height: 24 },
  { x: 1012, y: 640, width: 24, height: 24 },
  { x: 1100, y: 760, width: 40, height: 16 },
  { x: 960, y: 836, width: 16, height: 40 },
  { x: 1140, y: 860, width: 20, height: 20 },
];

export const BACKGROUND = [236, 236, 236];
export const MARK_RGB = [210, 20, 20];

function inMark(x: number, y: number): boolean {
  return MARKS.some((m) => x >= m.x && x < m.x + m.width && y >= m.y && y < m.y + m.height);
}

/** A PixelSource made in memory: one level, computed per read. */
export function syntheticSlide(): PixelSource {
  return {
    name: 'synthetic-overlay-slide',
    levels: [{ width: SLIDE.width, height: SLIDE.height, downsample: 1, tileWidth: 256, tileHeight: 256 }],
    async readRegion({ x, y, width, height }) {
      const rgb = new Uint8Array(width * height * 3);
      for (let j = 0, o = 0; j < height; j++) {
        for (let i = 0; i < width; i++, o += 3) {
          const colour = inMark(x + i, y + j) ? MARK_RGB : BACKGROUND;
          rgb[o] = colour[0];
          rgb[o + 1] = colour[1];
          rgb[o + 2] = colour[2];
        }
      }
      return rgb;
    },
  };
}

/** Result tiles at half the slide's resolution (an inference grid at 2× the level-0 µm/px), 2 × 2 tiles. */
export const GRID_SCALE = 0.5;
export const TILE_LEVEL0 = { width: 1024, height: 768 };

export function resultTiles(
  probability: (x0: number, y0: number) => number,
): { key: string; level0: Rect; tile: { width: number; height: number }; probabilities: Float32Array }[] {
  const tiles = [];
  for (let ty = 0; ty < SLIDE.height / TILE_LEVEL0.height; ty++) {
    for (let tx = 0; tx < SLIDE.width / TILE_LEVEL0.width; tx++) {
      const level0 = { x: tx * TILE_LEVEL0.width, y: ty * TILE_LEVEL0.height, ...TILE_LEVEL0 };
      const width = TILE_LEVEL0.width * GRID_SCALE;
      const height = TILE_LEVEL0.height * GRID_SCALE;
      const probabilities = new Float32Array(width * height);
      for (let j = 0; j < height; j++) {
        for (let i = 0; i < width; i++) {
          // The level-0 pixel at the probability pixel's centre.
          probabilities[j * width + i] = probability(
            Math.floor(level0.x + (i + 0.5) / GRID_SCALE),
            Math.floor(level0.y + (j + 0.5) / GRID_SCALE),
          );
        }
      }
      tiles.push({ key: `${tx},${ty}`, level0, tile: { width, height }, probabilities });
    }
  }
  return tiles;
}

export const markProbabilities = () => resultTiles((x, y) => (inMark(x, y) ? 1 : 0));

export const VIEWER_CSS = { width: 640, height: 480 };

export async function openViewer(options: Partial<OpenSeadragon.Options> = {}): Promise<OpenSeadragon.Viewer> {
  const element = document.createElement('div');
  element.style.width = `${VIEWER_CSS.width}px`;
  element.style.height = `${VIEWER_CSS.height}px`;
  document.body.append(element);
  const viewer = OpenSeadragon({
    element,
    showNavigationControl: false,
    // Tests read the drawn pixels; nothing may fade in after the viewer says it is loaded.
    blendTime: 0,
    alwaysBlend: false,
    animationTime: 0,
    ...options,
  });
  const opened = new Promise<void>((resolve, reject) => {
    viewer.addOnceHandler('open', () => resolve());
    viewer.addOnceHandler('open-failed', (e) => reject(new Error(String(e.message))));
  });
  viewer.open({ tileSource: pixelTileSource(syntheticSlide()) });
  await opened;
  return viewer;
}

export function closeViewer(viewer: OpenSeadragon.Viewer): void {
  const element = viewer.element;
  viewer.destroy();
  element.remove();
}

export const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

/** Waits until the viewer has loaded and drawn the best tiles for the view it shows now. */
export async function settle(viewer: OpenSeadragon.Viewer): Promise<void> {
  for (let i = 0, quiet = 0; i < 2000; i++) {
    await nextFrame();
    const item = viewer.world.getItemAt(0);
    quiet = item && item.getFullyLoaded() && !viewer.world.needsDraw() ? quiet + 1 : 0;
    if (quiet >= 3) return;
  }
  throw new Error('the viewer never finished loading its tiles');
}

/**
 * Shows level-0 point (x, y) at the viewer's centre with `cssPerPixel` CSS pixels per level-0
 * pixel, rotated and flipped, all at once (no animation).
 */
export async function view(
  viewer: OpenSeadragon.Viewer,
  at: { x: number; y: number; cssPerPixel: number; rotation?: number; flip?: boolean },
): Promise<void> {
  const vp = viewer.viewport;
  vp.setFlip(at.flip ?? false);
  vp.setRotation(at.rotation ?? 0, true);
  // Viewport zoom 1 shows the image's width across the container.
  vp.zoomTo((at.cssPerPixel * SLIDE.width) / vp.getContainerSize().x, undefined, true);
  vp.panTo(vp.imageToViewportCoordinates(at.x, at.y), true);
  await settle(viewer);
}

/** Where OpenSeadragon itself puts a level-0 point, in device pixels of its canvas. */
export function expectedDevicePoint(viewer: OpenSeadragon.Viewer, x: number, y: number): [number, number] {
  const item = viewer.world.getItemAt(0);
  const p = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(item.getFlip() ? SLIDE.width - x : x, y));
  const size = viewer.viewport.getContainerSize();
  const px = viewer.viewport.getFlip() ? size.x - p.x : p.x;
  const canvas = viewer.drawer.canvas as HTMLCanvasElement;
  return [(px * canvas.width) / size.x, (p.y * canvas.height) / size.y];
}

export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

export function readCanvas(canvas: HTMLCanvasElement): Pixels {
  const ctx = canvas.getContext('2d')!;
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { width: canvas.width, height: canvas.height, data };
}

/** Pixel indices in a square window (clipped to the image) where `test` holds. */
export function pixelsWhere(
  p: Pixels,
  cx: number,
  cy: number,
  radius: number,
  test: (r: number, g: number, b: number, a: number) => boolean,
): [number, number][] {
  const out: [number, number][] = [];
  const x0 = Math.max(0, Math.floor(cx - radius)),
    x1 = Math.min(p.width - 1, Math.ceil(cx + radius));
  const y0 = Math.max(0, Math.floor(cy - radius)),
    y1 = Math.min(p.height - 1, Math.ceil(cy + radius));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const o = (y * p.width + x) * 4;
      if (test(p.data[o], p.data[o + 1], p.data[o + 2], p.data[o + 3])) out.push([x, y]);
    }
  }
  return out;
}

/** Pixel centres. */
export function centroid(points: readonly [number, number][]): [number, number] {
  let sx = 0,
    sy = 0;
  for (const [x, y] of points) {
    sx += x + 0.5;
    sy += y + 0.5;
  }
  return [sx / points.length, sy / points.length];
}

export function dice(a: readonly [number, number][], b: readonly [number, number][]): number {
  const set = new Set(a.map(([x, y]) => `${x},${y}`));
  const common = b.filter(([x, y]) => set.has(`${x},${y}`)).length;
  return (2 * common) / (a.length + b.length);
}

/** Red of the slide's marks against its grey, at half contrast (the drawer interpolates edges). */
export const isMarkRed = (r: number, g: number) =>
  r - g > (MARK_RGB[0] - MARK_RGB[1]) / 2 + (BACKGROUND[0] - BACKGROUND[1]) / 2;
