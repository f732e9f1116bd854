/**
 * The browser side of bench:draw (tools/bench-draw.ts bundles it with a contour layer and runs it
 * in headless Chromium): a full-HD OpenSeadragon viewer over a plain slide, a contour layer of
 * seeded random nuclei, a scripted pan and zoom whose requestAnimationFrame intervals are the
 * frame times, and hit-tests of random points. The layer factory is passed in, so the same
 * script runs any version of the layer (this folder does not import plugin/).
 */
import OpenSeadragon from 'openseadragon';
import { SeededRandom } from '../core/math/seeded-random.js';

interface Cell {
  readonly rings: readonly ArrayLike<number>[];
  readonly area: number;
}
interface Tile {
  readonly key: string;
  readonly level0: { x: number; y: number; width: number; height: number };
  readonly tile: { width: number; height: number };
  readonly cells: readonly Cell[];
}
/** What the script needs of a contour layer, old or new. */
export interface BenchLayer {
  addTile(tile: Tile): void;
  inView(): { cells: number };
  cellAt?(x: number, y: number): { key: string; index: number } | null;
  destroy(): void;
}
export type LayerFactory = (viewer: OpenSeadragon.Viewer) => BenchLayer;

export interface DrawBenchOptions {
  readonly cells: number;
  readonly clicks: number;
}

export interface FrameStats {
  readonly frames: number;
  readonly median: number;
  readonly p95: number;
  readonly max: number;
  readonly fps: number;
}

export interface DrawBenchResult {
  readonly cellsInView: number;
  readonly vertices: number;
  readonly loadMs: number;
  /** The frames of the gestures (pan strokes and zooms), and of the whole script with its rests. */
  readonly gestures: FrameStats;
  readonly all: FrameStats;
  readonly hit?: {
    readonly medianMs: number;
    readonly meanMs: number;
    readonly bruteMs: number;
    readonly agree: number;
  };
}

/** Map pixels per level-0 pixel of the result tiles: an inference grid at half the slide's resolution. */
const GRID = 0.5;
const TILE = 1024;
const VIEW = { width: 1920, height: 1080 };

/**
 * Nuclei as the tracer gives them: one per 400 level-0 px² (the sample's density), radii 3–7 px,
 * a ring of one vertex per 2.5 px of perimeter (8–20, as simplified outlines have) with a little
 * jitter, in tiles of 1024 level-0 pixels traced at half resolution.
 */
function nuclei(count: number): { tiles: Tile[]; width: number; height: number; vertices: number } {
  const random = new SeededRandom(7);
  const height = Math.ceil(Math.sqrt((count * 400 * VIEW.height) / VIEW.width));
  const width = Math.ceil((count * 400) / height);
  const tiles = new Map<string, { key: string; level0: Tile['level0']; cells: Cell[] }>();
  let vertices = 0;
  for (let n = 0; n < count; n++) {
    const cx = 8 + random.next() * (width - 16),
      cy = 8 + random.next() * (height - 16);
    const a = 3 + 4 * random.next(),
      b = 3 + 4 * random.next(),
      angle = Math.PI * random.next();
    const tx = Math.floor(cx / TILE),
      ty = Math.floor(cy / TILE);
    const key = `${tx},${ty}`;
    if (!tiles.has(key))
      tiles.set(key, { key, level0: { x: tx * TILE, y: ty * TILE, width: TILE, height: TILE }, cells: [] });
    const k = Math.max(8, Math.min(20, Math.round((Math.PI * (a + b)) / 2.5)));
    const ring = new Float64Array(2 * k);
    for (let i = 0; i < k; i++) {
      const t = (2 * Math.PI * i) / k,
        r = 1 + 0.08 * (random.next() - 0.5);
      const u = a * r * Math.cos(t),
        v = b * r * Math.sin(t);
      ring[2 * i] = (cx - tx * TILE + u * Math.cos(angle) - v * Math.sin(angle)) * GRID;
      ring[2 * i + 1] = (cy - ty * TILE + u * Math.sin(angle) + v * Math.cos(angle)) * GRID;
    }
    const cell = { rings: [ring], area: Math.PI * a * b * GRID * GRID };
    tiles.get(key)!.cells.push(cell);
    vertices += k;
  }
  const out = [...tiles.values()].map((t) => ({ ...t, tile: { width: TILE * GRID, height: TILE * GRID } }));
  return { tiles: out, width, height, vertices };
}

function stats(intervals: readonly number[]): FrameStats {
  const s = [...intervals].sort((p, q) => p - q);
  const mean = s.reduce((t, v) => t + v, 0) / s.length;
  return {
    frames: s.length,
    median: s[Math.floor(s.length / 2)],
    p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))],
    max: s[s.length - 1],
    fps: 1000 / mean,
  };
}

const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));

/** Even-odd, ray to the right: the brute-force reference for the layer's hit-test. */
function inRing(ring: ArrayLike<number>, x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 2; i < ring.length; j = i, i += 2) {
    const yi = ring[i + 1],
      yj = ring[j + 1];
    if (yi > y !== yj > y && x < ((ring[j] - ring[i]) * (y - yi)) / (yj - yi) + ring[i]) inside = !inside;
  }
  return inside;
}

export async function runDrawBench(create: LayerFactory, options: DrawBenchOptions): Promise<DrawBenchResult> {
  const { tiles, width, height, vertices } = nuclei(options.cells);
  const element = document.createElement('div');
  Object.assign(element.style, { width: `${VIEW.width}px`, height: `${VIEW.height}px` });
  document.body.append(element);
  // A plain slide: every tile the same small grey PNG, so the slide's own drawing costs alike for both layers.
  const grey = document.createElement('canvas');
  grey.width = grey.height = 256;
  const g = grey.getContext('2d')!;
  g.fillStyle = '#e6e0ea';
  g.fillRect(0, 0, 256, 256);
  const url = grey.toDataURL();
  const viewer = OpenSeadragon({
    element,
    drawer: 'canvas',
    showNavigationControl: false,
    animationTime: 0,
    blendTime: 0,
    tileSources: { width, height, tileSize: 256, tileOverlap: 0, getTileUrl: () => url } as never,
  });
  await new Promise<void>((resolve) => viewer.addOnceHandler('open', () => resolve()));
  viewer.viewport.fitBounds(viewer.viewport.imageToViewportRectangle(0, 0, width, height), true);
  const layer = create(viewer);
  const t0 = performance.now();
  for (const tile of tiles) layer.addTile(tile);
  const loadMs = performance.now() - t0;
  for (let i = 0; i < 10; i++) await nextFrame();
  const cellsInView = layer.inView().cells;

  const gestures: number[] = [];
  const everything: number[] = [];
  let last = await nextFrame();
  const frame = async (gesture: boolean) => {
    const now = await nextFrame();
    everything.push(now - last);
    if (gesture) gestures.push(now - last);
    last = now;
  };
  const rest = async (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) await frame(false);
  };
  const vp = viewer.viewport;
  const step = vp.getBounds().width / 250;
  const strokes: [number, () => void][] = [
    [90, () => vp.panBy(new OpenSeadragon.Point(step, 0), true)],
    [60, () => vp.panBy(new OpenSeadragon.Point(0, step), true)],
    [60, () => vp.zoomBy(1.02, undefined, true)],
    [90, () => vp.panBy(new OpenSeadragon.Point(-step, -step / 2), true)],
    [60, () => vp.zoomBy(1 / 1.02, undefined, true)],
  ];
  await rest(500);
  for (const [frames, move] of strokes) {
    for (let i = 0; i < frames; i++) {
      move();
      await frame(true);
    }
    // A hand stops between strokes: the layer may redraw then, and that counts.
    await rest(400);
  }

  let hit: DrawBenchResult['hit'];
  if (layer.cellAt) {
    const random = new SeededRandom(11);
    const points = Array.from({ length: options.clicks }, () => [random.next() * width, random.next() * height]);
    const times: number[] = [];
    for (const [x, y] of points) {
      const s = performance.now();
      layer.cellAt(x, y);
      times.push(performance.now() - s);
    }
    const s = performance.now();
    for (const [x, y] of points) layer.cellAt(x, y);
    const meanMs = (performance.now() - s) / points.length;
    // The reference: every cell's ring, for a few of the points.
    const placed = tiles.flatMap((t) => t.cells.map((c, i) => ({ t, c, i })));
    let agree = 0;
    const b = performance.now();
    const few = points.slice(0, 20);
    for (const [x, y] of few) {
      const found = placed.filter(({ t, c }) => inRing(c.rings[0], (x - t.level0.x) * GRID, (y - t.level0.y) * GRID));
      const got = layer.cellAt(x, y);
      const same = found.length === 0 ? got === null : found.some(({ t, i }) => got?.key === t.key && got.index === i);
      if (same) agree++;
    }
    const bruteMs = (performance.now() - b) / few.length;
    times.sort((p, q) => p - q);
    hit = { medianMs: times[Math.floor(times.length / 2)], meanMs, bruteMs, agree: agree / few.length };
  }
  layer.destroy();
  viewer.destroy();
  element.remove();
  return { cellsInView, vertices, loadMs, gestures: stats(gestures), all: stats(everything), hit };
}
