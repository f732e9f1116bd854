/**
 * Interactive speed of the built demo in headless Chromium ("Interactive speed on a CPU", item 6):
 * per slide, for the 'whole' and the 'patches' tiling (a fresh browser page each, so that caches and
 * memory start alike), the time from a pan settling to the first overlay tile and to the last tile
 * of a full-HD view (1920×1080 output pixels at the extractors' scale), output MP/s, the slide
 * bytes and requests the page and its workers read (counted by this script's server), a region run
 * of the whole slide (CMU only), and the memory of the page and its workers after 0, 100 and N
 * pans with live prediction on. Adapt (seconds and phase split) is measured on the sample slide,
 * once per run: it does not depend on the tiling. Figures only, no pass/fail: the targets (2 cores,
 * headless Chromium, wasm) are printed beside them.
 *
 *   npm run bench:view                          # sample slide, and CMU-1-Small-Region.svs when ../shared has it
 *   npm run bench:view -- --quick               # 1 run, 200 pans, region runs capped
 *   npm run bench:view -- --slides cmu --runs 5 --workers 2 --pans 1000
 *   npm run bench:view -- --workers 1,2 --tilings whole   # worker counts side by side, one run
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import type { HeadJson } from '../core/adaptation/head.js';
import type { PixelSource } from '../core/slide/pixel-source.js';
import { openTiff } from '../core/slide/tiff-source.js';
import { supportSetToText } from '../core/support-set/support-set-file.js';
import type { SlideIdentity } from '../core/support-set/support-set.js';
import { makeSampleSlide } from './sample/index.js';
import { choiceOption, integerOption, listOption, startCli } from './cli.js';
import { serveDemo } from './serve.js';
import { findChromium } from './setup.mjs';

const args = startCli({
  name: 'bench:view',
  command: 'npm run bench:view',
  synopsis: '[options]',
  description: `
Interactive speed of the built demo in headless Chromium, per slide and tiling (whole, patches):
time from a pan to the first overlay tile and to a full-HD view, output MP/s, slide bytes and
requests, a region run of the whole slide (CMU only), adapt seconds and phases, and the memory of
the page and its workers over many pans with live prediction on. Figures only, no pass/fail.`,
  options: {
    slides: {
      type: 'string',
      value: 'LIST',
      default: 'sample,cmu',
      description: 'sample and/or cmu (cmu: ../shared/data/wsi/CMU-1-Small-Region.svs)',
    },
    runs: {
      type: 'string',
      value: 'N',
      description: 'view fills (and adaptations) per tiling, medians printed (default 3)',
    },
    pans: {
      type: 'string',
      value: 'N',
      description: 'pans for the memory figures, printed after 0, 100 and N (default 1000; 0: none)',
    },
    workers: {
      type: 'string',
      value: 'N[,M…]',
      description: "pool workers (default: the pool's choice); a list benches each, side by side",
    },
    tilings: { type: 'string', value: 'LIST', default: 'whole,patches', description: 'whole and/or patches' },
    'region-limit': {
      type: 'string',
      value: 'S',
      description: 'stop the whole-tiling region run after S seconds (default 0: run to the end)',
    },
    'patches-region-limit': {
      type: 'string',
      value: 'S',
      description: 'stop the patches region run after S seconds (default 120)',
    },
    drawer: {
      type: 'string',
      value: 'canvas|webgl',
      default: 'canvas',
      description: "OpenSeadragon's drawer (webgl, the demo's own, is software GL headless: 0.3–1.5 s stalls per pan)",
    },
    trace: {
      type: 'string',
      value: 'DIR',
      description: 'Chromium performance traces of the view fills (one file per page) for npm run trace:long-tasks',
    },
    quick: {
      type: 'boolean',
      default: false,
      description: '--runs 1 --pans 200 --region-limit 60 --patches-region-limit 30 (unless given)',
    },
  },
  examples: [
    'npm run bench:view -- --quick',
    'npm run bench:view -- --slides cmu --runs 5 --workers 2,1 --tilings whole --pans 1000',
  ],
});
const quick = args.quick;
/** An integer option ≥ min, or its default (which --quick changes) when not given. */
const integer = (name: string, value: string | undefined, fallback: number, min: number): number =>
  value === undefined ? fallback : integerOption(name, value, min);
const runs = integer('runs', args.runs, quick ? 1 : 3, 1);
const pans = integer('pans', args.pans, quick ? 200 : 1000, 0);
const workerCounts: readonly (number | undefined)[] =
  args.workers === undefined ? [undefined] : listOption('workers', args.workers, (w) => integerOption('workers', w, 1));
/** The worker count of the page being benched (one of workerCounts). */
let workers = workerCounts[0];
const regionLimit = integer('region-limit', args['region-limit'], quick ? 60 : 0, 0);
const patchesRegionLimit = integer('patches-region-limit', args['patches-region-limit'], quick ? 30 : 120, 0);
const slideIds = listOption('slides', args.slides, (id) => choiceOption('slides', id, ['sample', 'cmu'] as const));
const drawer = choiceOption('drawer', args.drawer, ['canvas', 'webgl'] as const);
const traceDir = args.trace;
/**
 * What a fill's trace records: the main thread's tasks and what ran in them (the timeline's events,
 * the compositor's, and V8's CPU profile samples, which name the functions of a long task).
 */
const TRACE_CATEGORIES = [
  '-*',
  'toplevel',
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  'v8.execute',
  'disabled-by-default-v8.cpu_profiler',
  'blink.user_timing',
  'cc',
];

type Tiling = 'whole' | 'patches';
const TILINGS: readonly Tiling[] = listOption('tilings', args.tilings, (t) =>
  choiceOption('tilings', t, ['whole', 'patches'] as const),
);
/** The view: full HD at one screen pixel per output (inference-grid) pixel. */
const VIEW = { width: 1920, height: 1080 };
const TILE = 512;
const SAMPLE_DIR = '.cache/sample';
const WSI_DIR = '../shared/data/wsi';
const SLIDES = {
  sample: { file: 'sample-slide.tif', dir: SAMPLE_DIR },
  cmu: { file: 'CMU-1-Small-Region.svs', dir: WSI_DIR },
} as const;
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // performance.memory in steps of bytes, not the 100 kB-quantised figure pages normally get.
  '--enable-precise-memory-info',
  // gc() in the page and its workers: memory figures are what is still held, not garbage not yet collected.
  '--js-flags=--expose-gc',
  // Without WebGL, OpenSeadragon falls back to its canvas drawer, as on a machine without GPU
  // acceleration: headless Chromium's WebGL is SwiftShader, on which the demo's default WebGL drawer
  // held the main thread 0.3–1.5 s per pan (live off too) and no live plan could run. The workers'
  // backend is wasm either way (TF.js skips software GPUs).
  ...(drawer === 'canvas' ? ['--disable-webgl'] : []),
];
const LYMPHOCYTE = 2;

const median = (values: readonly number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const MB = 2 ** 20;
const fixed = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** `promise`, or a rejection after `ms` naming what was waited for. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Build and data

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
  return newest;
}

/** Builds when dist is missing or any input of the build is newer than its outputs. */
function ensureBuilt(): void {
  const outputs = ['dist/index.js', 'dist/worker.js', 'dist/demo/index.html', 'dist/demo/demo.js'];
  const inputs = ['core', 'worker', 'plugin', 'viewer-demo', 'models', 'rollup.config.ts', 'package.json'];
  const stale =
    outputs.some((o) => !fs.existsSync(o)) ||
    Math.max(...inputs.filter((i) => fs.existsSync(i)).map(newestMtime)) >
      Math.min(...outputs.map((o) => fs.statSync(o).mtimeMs));
  if (!stale) return;
  console.log('bench:view: dist is missing or older than its sources: npm run build');
  execSync('npm run build', { stdio: 'inherit' });
}

/** The support file's text: 5 patches where the sample's lymphocytes are plentiful, labelled from its ground truth. */
async function sampleSupportFile(store: {
  slide: SlideIdentity;
  extractorMpp: number;
  patchSize: number;
  scale: number;
}): Promise<string> {
  const labels: PixelSource = await openTiff({
    kind: 'blob',
    blob: new Blob([fs.readFileSync(path.join(SAMPLE_DIR, 'sample-slide-labels.tif'))]),
    name: 'labels',
  });
  const { patchSize, scale } = store;
  const side = Math.ceil(patchSize * scale);
  // The end-to-end test's choice (test/viewer-demo/fewshot.node.test.ts): the 5 densest windows of a
  // 3072² area, apart from each other.
  const area = { x: 1024, y: 1024, width: 3072, height: 3072 };
  const rgb = await labels.readRegion({ level: 0, ...area });
  const isClass = (x: number, y: number) => rgb[3 * (y * area.width + x)] === LYMPHOCYTE;
  const scored: { x: number; y: number; n: number }[] = [];
  for (let y = 0; y + side <= area.height; y += 64) {
    for (let x = 0; x + side <= area.width; x += 64) {
      let n = 0;
      for (let r = y; r < y + side; r++) for (let c = x; c < x + side; c++) n += isClass(c, r) ? 1 : 0;
      scored.push({ x, y, n });
    }
  }
  scored.sort((a, b) => b.n - a.n);
  const picked: { x: number; y: number }[] = [];
  for (const s of scored) {
    if (picked.length === 5) break;
    if (picked.every((p) => Math.abs(p.x - s.x) > 2 * side || Math.abs(p.y - s.y) > 2 * side)) picked.push(s);
  }
  const patches = picked.map((p, i) => {
    const mask = new Uint8Array(patchSize * patchSize);
    for (let r = 0; r < patchSize; r++)
      for (let c = 0; c < patchSize; c++)
        mask[r * patchSize + c] = isClass(p.x + Math.floor(c * scale), p.y + Math.floor(r * scale)) ? 1 : 0;
    return { id: `bench-${i + 1}`, x: area.x + p.x, y: area.y + p.y, scale, mask };
  });
  return supportSetToText({ slide: store.slide, extractorMpp: store.extractorMpp, patchSize, patches });
}

// ---------------------------------------------------------------------------------------------
// Slide reads, counted where they are answered: every Range request of the page and its workers.

interface Reads {
  requests: number;
  ranged: number;
  bytes: number;
}
const reads = new Map<string, Reads>();
/**
 * The body bytes of a slide response, from the request's range: sirv hands its headers to
 * writeHead, where res.getHeader does not see them.
 */
function bytesSent(file: string, status: number, range: string | undefined): number {
  if (status !== 200 && status !== 206) return 0;
  const size = fs.statSync(file).size;
  const m = range === undefined || status === 200 ? null : /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m) return size;
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return Math.max(0, end - start + 1);
}
const readsOf = (file: string): Reads => ({ ...(reads.get(file) ?? { requests: 0, ranged: 0, bytes: 0 }) });
const readsSince = (file: string, before: Reads): Reads => {
  const now = readsOf(file);
  return {
    requests: now.requests - before.requests,
    ranged: now.ranged - before.ranged,
    bytes: now.bytes - before.bytes,
  };
};

// ---------------------------------------------------------------------------------------------
// Memory: the page's JS heap, each pool worker's V8 heap (through the DevTools protocol: a worker
// has no performance.memory) and TF.js bytes, the renderer processes' RSS (wasm memory included).

interface WorkerHeap {
  readonly title: string;
  readonly used: number;
  /** Array buffers' backing stores: a worker's WebAssembly memories are among them. */
  readonly backing: number;
}

/** Runtime.getHeapUsage in each worker, over a page session that attaches to them (non-flat, so one session serves). */
class WorkerHeaps {
  private readonly sessions = new Map<string, string>();
  private readonly pending = new Map<number, (message: { result?: Record<string, number> }) => void>();
  private nextId = 1;

  private constructor(private readonly cdp: CDPSession) {}

  static async attach(page: Page): Promise<WorkerHeaps> {
    const cdp = await page.context().newCDPSession(page);
    const heaps = new WorkerHeaps(cdp);
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker') heaps.sessions.set(e.sessionId, e.targetInfo.title);
    });
    cdp.on('Target.detachedFromTarget', (e) => {
      if (e.sessionId) heaps.sessions.delete(e.sessionId);
    });
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const message = JSON.parse(e.message);
      heaps.pending.get(message.id)?.(message);
      heaps.pending.delete(message.id);
    });
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    return heaps;
  }

  /** The pool's workers (named `openseadragon-fewshot N` by the pool), in index order. */
  async usage(): Promise<WorkerHeap[]> {
    const pool = [...this.sessions].filter(([, title]) => /^openseadragon-fewshot \d+$/.test(title));
    pool.sort((a, b) => a[1].localeCompare(b[1], 'en', { numeric: true }));
    return Promise.all(
      pool.map(async ([sessionId, title]) => {
        const id = this.nextId++;
        const answer = new Promise<{ result?: Record<string, number> }>((resolve) => this.pending.set(id, resolve));
        const message = JSON.stringify({ id, method: 'Runtime.getHeapUsage' });
        await this.cdp.send('Target.sendMessageToTarget', { sessionId, message });
        const { result } = await within(60_000, `heap usage of ${title}`, answer);
        return { title, used: result?.usedSize ?? NaN, backing: result?.backingStorageSize ?? NaN };
      }),
    );
  }
}

async function rendererRss(browserCdp: CDPSession): Promise<number | undefined> {
  if (process.platform !== 'linux') return undefined;
  const { processInfo } = await browserCdp.send('SystemInfo.getProcessInfo');
  let kb = 0;
  for (const p of processInfo.filter((q) => q.type === 'renderer')) {
    const status = fs.readFileSync(`/proc/${p.id}/status`, 'utf8');
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return kb * 1024;
}

interface Memory {
  readonly pans: number;
  readonly heap: number;
  readonly workers: readonly WorkerHeap[];
  readonly tf: readonly ({ numBytes: number; numTensors: number } | null)[];
  readonly rss?: number;
  readonly userAgent?: number;
  readonly userAgentNote?: string;
  readonly results: number;
}

async function memory(page: Page, heaps: WorkerHeaps, browserCdp: CDPSession, panned: number): Promise<Memory> {
  await page.evaluate(() => (window as any).gc?.());
  await Promise.all(page.workers().map((w) => w.evaluate(() => (self as any).gc?.()).catch(() => undefined)));
  const inPage = await page.evaluate(async () => {
    const h = (window as any).demoPanel.handle;
    const tf = await Promise.all(
      h.workers.map((_: unknown, i: number) =>
        h.pool.memory(i).then(
          (m: any) => ({ numBytes: m.numBytes, numTensors: m.numTensors }),
          () => null,
        ),
      ),
    );
    const p = performance as any;
    let userAgent: number | undefined;
    let userAgentNote: string | undefined;
    if (!crossOriginIsolated) userAgentNote = 'n/a: the demo is not cross-origin isolated';
    else if (!p.measureUserAgentSpecificMemory) userAgentNote = 'n/a in this browser';
    else userAgent = (await p.measureUserAgentSpecificMemory()).bytes;
    return { heap: p.memory.usedJSHeapSize as number, tf, userAgent, userAgentNote, results: h.session.results.size };
  });
  const [workers, rss] = await Promise.all([heaps.usage(), rendererRss(browserCdp)]);
  return { pans: panned, ...inPage, workers, rss };
}

// ---------------------------------------------------------------------------------------------
// The page

/**
 * Before the page's scripts run: collects the panel's `ready` handles and the demo's `slide-open`,
 * gives the panel its pool size, and installs the view helpers the measurements call.
 */
function initPage(options: { workers?: number }) {
  const w = window as any;
  // tsx (esbuild, keepNames) wraps functions named in code that page.evaluate sends in __name(…),
  // which the page lacks: a pass-through keeps the evaluated code as written.
  w.__name = (f: unknown) => f;
  w.__handles = [];
  w.__opened = [];
  // Main-thread tasks over 50 ms (the Long Tasks API): the target is none.
  w.__longTasks = [] as number[];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__longTasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: true });
  document.addEventListener('ready', (e) => w.__handles.push((e as CustomEvent).detail));
  document.addEventListener('slide-open', (e) => w.__opened.push((e as CustomEvent).detail));
  document.addEventListener('error', (e) => {
    const d = (e as unknown as CustomEvent).detail;
    if (d?.task === 'attach') w.__attachError = String(d.error?.message ?? d.error);
  });
  if (options.workers !== undefined) {
    // The demo assigns window.demoPanel before it gives the panel a slide: the panel attaches with these options.
    let panel: any;
    Object.defineProperty(window, 'demoPanel', {
      configurable: true,
      get: () => panel,
      set: (p) => {
        panel = p;
        p.options = { ...p.options, workers: options.workers };
      },
    });
  }
  w.__bench = {
    /** Shows a level-0 rectangle filling the viewer at once (no animation): a pan that has settled. */
    jump(rect: { x: number; y: number; width: number; height: number }) {
      const vp = w.demoViewer.viewport;
      vp.fitBounds(vp.imageToViewportRectangle(rect.x, rect.y, rect.width, rect.height), true);
      vp.applyConstraints(true);
    },
    /** Jumps and resolves once the viewer has drawn every display tile of the new view. */
    show(rect: { x: number; y: number; width: number; height: number }) {
      const viewer = w.demoViewer;
      const item = viewer.world.getItemAt(0);
      return new Promise<void>((resolve) => {
        viewer.addOnceHandler('update-viewport', () => {
          if (item.getFullyLoaded()) return resolve();
          item.addOnceHandler('fully-loaded-change', () => resolve());
        });
        w.__bench.jump(rect);
        viewer.forceRedraw();
      });
    },
  };
}

interface Geometry {
  name: string;
  grid: { width: number; height: number; level: number; scaleX: number; scaleY: number; mpp: number };
  backends: string[];
  budget: number;
  /** The view and the one a pan comes from, in level-0 pixels. */
  target: { x: number; y: number; width: number; height: number };
  from: { x: number; y: number; width: number; height: number };
  gridView: { x: number; y: number };
  /** The viewer element's CSS size. */
  screen: { width: number; height: number };
}

interface Fill {
  plan: number;
  first: number;
  last: number;
  tiles: number;
  megapixels: number;
  later: number;
  jobs: number;
  /** Forwards that computed several tiles (the pool's blocks); 0 from a build without them. */
  blocks: number;
  reads: Reads;
}

interface Region {
  state: string;
  wall: number;
  totalTiles: number;
  doneTiles: number;
  failedTiles: number;
  totalMegapixels: number;
  doneMegapixels: number;
  reads: Reads;
}

interface Pans {
  memory: Memory[];
  tiles: number;
  plans: number;
  seconds: number;
}

interface Adapt {
  wall: number;
  seconds: number;
  timings: Record<'features' | 'standardise' | 'logistic' | 'bfgs' | 'total', number>;
  logistic: number;
  bfgs?: number;
  stop?: string;
  backend: string;
}

/** One page session: one slide, one tiling. */
interface PageResult {
  geometry: Geometry;
  /** What the viewer showed at the view, in output pixels. */
  visible: string;
  fills: Fill[];
  region?: Region;
  pans?: Pans;
  adapts: Adapt[];
  errors: string[];
  /** Everything the page read of the slide, from opening it to the end. */
  session: Reads;
  /** Main-thread tasks over 50 ms after the page opened the slide (ms each). */
  longTasks: number[];
  /** The same by phase: where they come from. */
  longTasksIn: Record<Phase, number[]>;
}

const PHASES = ['adapt', 'fill', 'pans', 'region'] as const;
type Phase = (typeof PHASES)[number];
const PHASE_LABEL: Record<Phase, string> = {
  adapt: 'adapting',
  fill: 'filling the view',
  pans: 'panning',
  region: 'the region run',
};

interface SlideResult {
  pages: Partial<Record<Tiling, PageResult>>;
  loadBefore: string;
  loadAfter: string;
  minutes: number;
}

async function openSlidePage(
  browser: Browser,
  url: string,
  slide: (typeof SLIDES)[keyof typeof SLIDES],
  errors: string[],
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 2400, height: 1300 }, deviceScaleFactor: 1 });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.addInitScript(initPage, { workers });
  // `?slide=`: the demo opens this slide (served from the bench's folder) instead of its embedded one.
  await page.goto(`${url}?slide=${encodeURIComponent(`slides/${slide.file}`)}`);
  await within(
    300_000,
    `the panel and viewer on ${slide.file}`,
    page.waitForFunction(
      (file) => {
        const w = window as any;
        if (w.__attachError) return true;
        const h = w.demoPanel?.handle;
        return (
          h?.slide.info.name.endsWith(file) &&
          w.__handles.includes(h) &&
          w.__opened.some((n: string) => n.endsWith(file)) &&
          w.demoViewer.world.getItemAt(0)
        );
      },
      slide.file,
      { polling: 200, timeout: 0 },
    ),
  );
  const attachError = await page.evaluate(() => (window as any).__attachError);
  if (attachError) throw new Error(`the panel did not start: ${attachError}`);
  return page;
}

async function geometry(page: Page): Promise<Geometry> {
  const g = await page.evaluate(() => {
    const h = (window as any).demoPanel.handle;
    const { width, height, level, scaleX, scaleY, mpp } = h.grid;
    return {
      // The file's name (a URL slide's info names the URL).
      name: String(h.slide.info.name).replace(/^.*\//, ''),
      grid: { width, height, level, scaleX, scaleY, mpp: mpp.x },
      backends: h.workers.map((w: any) => String(w.backend)),
      budget: (window as any).demoPanel.options?.budgetMegapixels ?? 4,
    };
  });
  const { width, height, scaleX, scaleY } = g.grid;
  if (width < VIEW.width + 16 || height < VIEW.height + 16)
    throw new Error(`${g.name}: its ${width}×${height} grid is smaller than a full-HD view`);
  // The viewer shows the 1920×1080 output pixels at one screen pixel per level-0 pixel (per output
  // pixel when the slide is coarser than the grid): OpenSeadragon's maxZoomPixelRatio (1.1 in the
  // demo) allows no closer, so on a 20× slide (2 output pixels per level-0 pixel) the viewer element
  // is 960×540. A fixed CSS size, not a fitted window: the demo's header is a fraction of a pixel high.
  const screen = {
    width: Math.round(VIEW.width * Math.min(1, scaleX)),
    height: Math.round(VIEW.height * Math.min(1, scaleY)),
  };
  await page.addStyleTag({ content: `#viewer { width: ${screen.width}px; height: ${screen.height}px; }` });
  await within(
    30_000,
    'the viewer at its size',
    page.waitForFunction(
      ([w, h]) => {
        const s = (window as any).demoViewer.viewport.getContainerSize();
        return s.x === w && s.y === h;
      },
      [screen.width, screen.height],
      { polling: 100, timeout: 0 },
    ),
  );
  // Top-left 8 pixels inside an output tile, so that the view's 1920×1080 lies within 4×3 tiles and
  // float rounding of the visible rectangle never adds a row or column.
  const at = (size: number, view: number) =>
    Math.min(Math.max(0, Math.floor((size / 2 - view / 2) / TILE)) * TILE + 8, size - view - 8);
  const x = at(width, VIEW.width);
  const y = at(height, VIEW.height);
  const level0 = (gx: number, gy: number) => ({
    x: gx * scaleX,
    y: gy * scaleY,
    width: VIEW.width * scaleX,
    height: VIEW.height * scaleY,
  });
  // The pan comes from far enough that nothing the view needs (its tiles' receptive-field margins
  // included) was read for the view it left: the page's block cache then holds none of it on run 1.
  const far = [
    [x - 3 * 1024, y],
    [x + 3 * 1024, y],
    [x, y - 5 * TILE],
    [x, y + 5 * TILE],
  ].find(([fx, fy]) => fx >= 0 && fy >= 0 && fx + VIEW.width <= width && fy + VIEW.height <= height) ?? [0, 0];
  return { ...g, screen, target: level0(x, y), from: level0(far[0], far[1]), gridView: { x, y } };
}

/** Adapts on the imported support set; the head is installed in every worker when it resolves. */
async function adaptOnce(page: Page): Promise<Adapt> {
  return page.evaluate(async () => {
    const h = (window as any).demoPanel.handle;
    const t0 = performance.now();
    const out = await h.adapt();
    const r = out.report;
    return {
      wall: (performance.now() - t0) / 1000,
      seconds: out.seconds,
      timings: r.timings,
      logistic: r.logistic.iterations,
      bfgs: r.bfgs?.iterations,
      stop: r.bfgs?.stop,
      backend: r.backend,
    };
  });
}

/**
 * A head that computes the same work under a new cache key (b shifted by 1e-6·k): the pool's tile
 * cache and the session's results hold nothing for it, so every tile runs again.
 */
const variant = (head: HeadJson, k: number): HeadJson => ({ ...head, b: head.b + 1e-6 * k });

/** Live off, a fresh head, the view a pan starts from drawn: nothing runs while it is set up. */
async function prepare(page: Page, head: HeadJson, from: Geometry['from']): Promise<void> {
  await within(
    120_000,
    'setting up a view',
    page.evaluate(
      async ([head, from]) => {
        const w = window as any;
        const h = w.demoPanel.handle;
        h.setLive(false);
        await h.loadHead(head);
        await w.__bench.show(from);
      },
      [head, from] as const,
    ),
  );
}

/**
 * Live on and the pan in one task, timed from the pan (an immediate jump: settled at once) to the
 * first and the last tile of live prediction's latest plan.
 */
async function measureFill(page: Page, file: string, target: Geometry['target']): Promise<Fill> {
  const before = readsOf(file);
  const fill = await within(
    1_800_000,
    'the view filling in',
    page.evaluate(
      (target) =>
        new Promise<Omit<Fill, 'reads'>>((resolve) => {
          const w = window as any;
          const h = w.demoPanel.handle;
          const arrived = new Map<string, number>();
          let plan: any;
          let planAt = NaN;
          const jobs = h.pool.stats.jobs;
          const blocks = h.pool.stats.blocks ?? 0;
          const done = () => {
            const keys: string[] = plan ? [...plan.now].map((t: any) => t.key) : [];
            if (keys.length === 0 || !keys.every((k) => arrived.has(k))) return;
            h.removeEventListener('budget', onBudget);
            h.removeEventListener('prediction-tile', onTile);
            const times = keys.map((k) => arrived.get(k)! - t0);
            resolve({
              plan: (planAt - t0) / 1000,
              first: Math.min(...times) / 1000,
              last: Math.max(...times) / 1000,
              tiles: keys.length,
              megapixels: plan.now.megapixels,
              later: plan.later.count,
              jobs: h.pool.stats.jobs - jobs,
              blocks: (h.pool.stats.blocks ?? 0) - blocks,
            });
          };
          const onBudget = (e: CustomEvent) => {
            plan = e.detail;
            planAt = performance.now();
            done();
          };
          const onTile = (e: CustomEvent) => {
            arrived.set(e.detail.key, performance.now());
            done();
          };
          h.addEventListener('budget', onBudget);
          h.addEventListener('prediction-tile', onTile);
          h.setLive(true);
          w.__bench.jump(target);
          const t0 = performance.now();
        }),
      target,
    ),
  );
  return { ...fill, reads: readsSince(file, before) };
}

/** Pans `count` small steps back and forth with live on, each waiting for live's plan (or 1 s). */
async function panSteps(page: Page, from: number, count: number): Promise<{ tiles: number; plans: number }> {
  return within(
    1_800_000,
    'panning',
    page.evaluate(
      async ([from, count]) => {
        const w = window as any;
        const h = w.demoPanel.handle;
        const vp = w.demoViewer.viewport;
        const step = vp.getBounds().width / 16;
        let tiles = 0;
        let plans = 0;
        const onTile = () => tiles++;
        h.addEventListener('prediction-tile', onTile);
        for (let k = from; k < from + count; k++) {
          // 8 steps right, 8 back: half a screen to and fro, tile seams crossed on the way.
          const dx = Math.floor(k / 8) % 2 === 0 ? step : -step;
          await new Promise<void>((resolve) => {
            const planned = () => {
              plans++;
              finish();
            };
            const timer = setTimeout(() => finish(), 1000);
            const finish = () => {
              clearTimeout(timer);
              h.removeEventListener('budget', planned);
              resolve();
            };
            h.addEventListener('budget', planned);
            vp.panBy(new w.OpenSeadragon.Point(dx, 0), true);
            vp.applyConstraints(true);
          });
        }
        h.removeEventListener('prediction-tile', onTile);
        return { tiles, plans };
      },
      [from, count] as const,
    ),
  );
}

async function panPhase(
  page: Page,
  heaps: WorkerHeaps,
  browserCdp: CDPSession,
  target: Geometry['target'],
): Promise<Pans> {
  await page.evaluate(async (target) => {
    const w = window as any;
    w.demoPanel.handle.setLive(true);
    await w.__bench.show(target);
  }, target);
  const marks = [...new Set([0, Math.min(100, pans), pans])];
  const out: Memory[] = [];
  let tiles = 0;
  let plans = 0;
  let seconds = 0;
  let done = 0;
  for (const mark of marks) {
    if (mark > done) {
      const t0 = Date.now();
      const r = await panSteps(page, done, mark - done);
      seconds += (Date.now() - t0) / 1000;
      tiles += r.tiles;
      plans += r.plans;
      done = mark;
    }
    out.push(await memory(page, heaps, browserCdp, done));
  }
  return { memory: out, tiles, plans, seconds };
}

/** The whole slide as a region run with live off, stopped after `limit` seconds when > 0. */
async function regionRun(page: Page, file: string, head: HeadJson, limit: number): Promise<Region> {
  const before = readsOf(file);
  const r = await within(
    (limit > 0 ? limit + 600 : 4 * 3600) * 1000,
    'the region run',
    page.evaluate(
      async ([head, limit]) => {
        const h = (window as any).demoPanel.handle;
        h.setLive(false);
        await h.loadHead(head);
        const run = await h.predictRegion('slide');
        const t0 = performance.now();
        const timer = limit > 0 ? setTimeout(() => run.cancel(), limit * 1000) : undefined;
        const summary = await run.finished;
        clearTimeout(timer);
        const p = summary.progress;
        return {
          state: summary.state as string,
          wall: (performance.now() - t0) / 1000,
          totalTiles: p.totalTiles,
          doneTiles: p.doneTiles,
          failedTiles: p.failedTiles,
          totalMegapixels: p.totalMegapixels,
          doneMegapixels: p.doneMegapixels,
        };
      },
      [head, limit] as const,
    ),
  );
  return { ...r, reads: readsSince(file, before) };
}

// ---------------------------------------------------------------------------------------------
// One slide

/** Serves the demo with this slide, counting its reads. */
function serveSlide(slide: (typeof SLIDES)[keyof typeof SLIDES]) {
  return serveDemo({
    demoDir: 'dist/demo',
    slidesDir: slide.dir,
    port: 0,
    onRequest: (req, res) => {
      if (!req.url?.startsWith('/slides/')) return;
      const file = decodeURIComponent(req.url.slice('/slides/'.length).split('?')[0]);
      // Only this slide's folder is counted (the demo's embedded slide is served from elsewhere).
      if (!fs.existsSync(path.join(slide.dir, file))) return;
      const range = req.headers.range;
      res.on('finish', () => {
        const r = reads.get(file) ?? { requests: 0, ranged: 0, bytes: 0 };
        r.requests++;
        if (range !== undefined) r.ranged++;
        r.bytes += bytesSent(path.join(slide.dir, file), res.statusCode, range);
        reads.set(file, r);
      });
    },
  });
}

async function launch(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('no Chromium found: run `node tools/setup.mjs --chromium`');
  return chromium.launch({ executablePath, args: CHROMIUM_FLAGS });
}

/**
 * One fresh browser and page for one slide and tiling: its caches (the page's slide blocks, the
 * pool's tiles, the workers' memos) and memory start empty. Adapts first when there is no head yet.
 */
async function benchPage(
  id: keyof typeof SLIDES,
  url: string,
  tiling: Tiling,
  given: HeadJson | undefined,
): Promise<{ result: PageResult; head: HeadJson }> {
  const slide = SLIDES[id];
  const errors: string[] = [];
  const opened = readsOf(slide.file);
  const browser = await launch();
  try {
    const page = await openSlidePage(browser, url, slide, errors);
    // Tasks from here on: loading the page and starting the workers are not the live view's.
    const longTasksAtOpen = await page.evaluate(() => (window as any).__longTasks.length as number);
    /** Where each phase's long tasks end in the page's list. */
    const phaseEnds: Partial<Record<Phase, number>> = {};
    const phaseEnded = async (phase: Phase) =>
      (phaseEnds[phase] = await page.evaluate(() => (window as any).__longTasks.length as number));
    const heaps = await WorkerHeaps.attach(page);
    const browserCdp = await browser.newBrowserCDPSession();
    await page.evaluate(() => {
      const w = window as any;
      w.__errors = [];
      w.demoPanel.handle.addEventListener('error', (e: CustomEvent) =>
        w.__errors.push(`${e.detail.task}: ${e.detail.error?.message ?? e.detail.error}`),
      );
    });
    const geo = await geometry(page);
    console.log(
      `\n${geo.name}, ${tiling} (fresh page): grid ${geo.grid.width}×${geo.grid.height} at ` +
        `${geo.grid.mpp.toFixed(3)} µm/px from level ${geo.grid.level}; ${geo.backends.length} worker(s) on ` +
        `${geo.backends.join(', ')}; load ${load()}`,
    );

    const adapts: Adapt[] = [];
    let head = given;
    if (!head) {
      const store = await page.evaluate(() => {
        const s = (window as any).demoPanel.handle.support;
        return { slide: s.slide, extractorMpp: s.extractorMpp, patchSize: s.patchSize, scale: s.defaultScale };
      });
      const text = await sampleSupportFile(store);
      const n = await page.evaluate((text) => (window as any).demoPanel.handle.importSupportSet(text), text);
      for (let i = 0; i < runs; i++) {
        const a = await within(900_000, 'adapting', adaptOnce(page));
        adapts.push(a);
        console.log(`  adapt ${i + 1}/${runs} (${n} patches): ${a.seconds.toFixed(1)} s; load ${load()}`);
      }
      head = await page.evaluate(() => (window as any).demoPanel.handle.saveHead() as HeadJson);
    }
    await phaseEnded('adapt');
    const baseHead = head!;
    let k = 1;
    await page.evaluate((t) => (window as any).demoPanel.handle.setTiling(t), tiling);

    const fills: Fill[] = [];
    let visible = '';
    if (traceDir) await browser.startTracing(page, { categories: TRACE_CATEGORIES });
    for (let i = 0; i < runs; i++) {
      await prepare(page, variant(baseHead, k++), geo.from);
      const f = await measureFill(page, slide.file, geo.target);
      fills.push(f);
      if (i === 0) {
        // What the viewer shows, in output pixels: the view the plans cover.
        const r = await page.evaluate(
          ([sx, sy]) => {
            const vp = (window as any).demoViewer.viewport;
            const r = vp.viewportToImageRectangle(vp.getBounds(true));
            return [r.width / sx, r.height / sy, r.x / sx, r.y / sy];
          },
          [geo.grid.scaleX, geo.grid.scaleY] as const,
        );
        const [vw, vh, vx, vy] = r.map((v: number) => v.toFixed(0));
        visible = `${vw}×${vh} at (${vx}, ${vy})`;
      }
      console.log(
        `  ${tiling} view ${i + 1}/${runs}: ${f.tiles} tiles (${f.megapixels.toFixed(2)} MP, ${f.later} left out); ` +
          `first ${f.first.toFixed(1)} s, last ${f.last.toFixed(1)} s; ${f.reads.requests} reads, ` +
          `${(f.reads.bytes / MB).toFixed(1)} MB; load ${load()}`,
      );
    }
    if (traceDir) {
      fs.mkdirSync(traceDir, { recursive: true });
      const file = path.join(traceDir, `${id}-${tiling}-${workers ?? 'default'}w-fills.json`);
      fs.writeFileSync(file, await browser.stopTracing());
      console.log(`  trace of the fills: ${file}`);
    }
    await phaseEnded('fill');
    let panned: Pans | undefined;
    if (pans > 0) {
      panned = await panPhase(page, heaps, browserCdp, geo.target);
      console.log(
        `  ${tiling} pans: ${pans} in ${panned.seconds.toFixed(0)} s, ${panned.plans} plans, ` +
          `${panned.tiles} tiles drawn meanwhile; load ${load()}`,
      );
    }
    await phaseEnded('pans');
    let region: Region | undefined;
    if (id === 'cmu') {
      const limit = tiling === 'whole' ? regionLimit : patchesRegionLimit;
      region = await regionRun(page, slide.file, variant(baseHead, k++), limit);
      console.log(
        `  ${tiling} region run: ${region.state} after ${region.wall.toFixed(0)} s, ` +
          `${region.doneTiles}/${region.totalTiles} tiles, ${(region.doneMegapixels / region.wall).toFixed(3)} MP/s; ` +
          `load ${load()}`,
      );
    }
    errors.push(...(await page.evaluate(() => (window as any).__errors as string[])));
    const session = readsSince(slide.file, opened);
    await phaseEnded('region');
    const longTasks = await page.evaluate(
      (from) => ((window as any).__longTasks as number[]).slice(from),
      longTasksAtOpen,
    );
    // Between tiling changes and setting heads, tasks fall in the phase that follows.
    const longTasksIn = {} as Record<Phase, number[]>;
    let from = 0;
    for (const phase of PHASES) {
      const to = phaseEnds[phase]! - longTasksAtOpen;
      longTasksIn[phase] = longTasks.slice(from, to);
      from = to;
    }
    return {
      result: { geometry: geo, visible, fills, region, pans: panned, adapts, errors, session, longTasks, longTasksIn },
      head: baseHead,
    };
  } finally {
    await browser.close();
  }
}

async function benchSlide(
  id: keyof typeof SLIDES,
  head: HeadJson | undefined,
): Promise<{ result: SlideResult; head: HeadJson | undefined }> {
  const started = Date.now();
  const loadBefore = load();
  const served = await serveSlide(SLIDES[id]);
  const pages: SlideResult['pages'] = {};
  try {
    for (const tiling of TILINGS) {
      const out = await benchPage(id, served.url, tiling, head);
      pages[tiling] = out.result;
      head = out.head;
    }
  } finally {
    served.server.close();
  }
  return { result: { pages, loadBefore, loadAfter: load(), minutes: (Date.now() - started) / 60_000 }, head };
}

// ---------------------------------------------------------------------------------------------
// Tables

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n');
}

function printSlide(r: SlideResult): void {
  const w = r.pages.whole;
  const p = r.pages.patches;
  const g = (w ?? p)!.geometry;
  const mp = (g.grid.width * g.grid.height) / 1e6;
  const rows: string[][] = [['metric', 'whole', 'patches', 'patches/whole', 'target (2 cores)']];
  const ratio = (a: number, b: number) =>
    a > 0 && Number.isFinite(a) && Number.isFinite(b) ? `${(b / a).toFixed(2)}×` : '—';
  /** A row of one figure per tiling, from that page's result. */
  const add = (label: string, f: (x: PageResult) => number, digits: number, target = '') => {
    const a = w ? f(w) : NaN;
    const b = p ? f(p) : NaN;
    rows.push([label, fixed(a, digits), fixed(b, digits), ratio(a, b), target]);
  };
  const med = (f: (x: Fill) => number) => (x: PageResult) => median(x.fills.map(f));
  const cold = (f: (x: Fill) => number) => (x: PageResult) => (x.fills[0] ? f(x.fills[0]) : NaN);
  const warm = (f: (x: Fill) => number) => (x: PageResult) => median(x.fills.slice(1).map(f));
  const n = (w ?? p)!.fills[0]?.tiles ?? 0;
  const viewMp = (w ?? p)!.fills[0]?.megapixels ?? 0;
  const of = runs > 1 ? `median of ${runs}` : '1 run';
  add(
    `live plan after the pan settles, s (${of})`,
    med((f) => f.plan),
    2,
  );
  add(
    `first tile after the pan settles, s (${of})`,
    med((f) => f.first),
    1,
    '≤ 1.5',
  );
  add(
    `view filled (last of ${n} tiles), s (${of})`,
    med((f) => f.last),
    1,
    '≤ 4',
  );
  if (runs > 1) {
    add(
      'first tile, run 1 (cold: no block read), s',
      cold((f) => f.first),
      1,
      '≤ 1.5',
    );
    add(
      'view filled, run 1 (cold), s',
      cold((f) => f.last),
      1,
      '≤ 4',
    );
  }
  const rate = (f: Fill) => f.megapixels / (f.last - f.plan);
  add(`output MP/s, plan → last tile (${of})`, med(rate), 3);
  add(
    'slide requests, run 1 (cold: view + prediction)',
    cold((f) => f.reads.requests),
    0,
  );
  add(
    'slide MB read, run 1 (cold: view + prediction)',
    cold((f) => f.reads.bytes / MB),
    2,
  );
  if (runs > 1) {
    add(
      'slide requests, later runs (median)',
      warm((f) => f.reads.requests),
      0,
    );
    add(
      'slide MB read, later runs (median)',
      warm((f) => f.reads.bytes / MB),
      2,
    );
  }
  add(
    'tile jobs per fill',
    med((f) => f.jobs),
    0,
  );
  add(
    'of them in blocks: forwards of several tiles per fill',
    med((f) => f.blocks),
    0,
  );
  const size = fs.statSync(path.join(SLIDES[g.name === SLIDES.cmu.file ? 'cmu' : 'sample'].dir, g.name)).size / MB;
  add(`slide MB read by the page session (file: ${size.toFixed(1)} MB)`, (x) => x.session.bytes / MB, 2);
  add('slide requests in the page session', (x) => x.session.requests, 0);
  add('main-thread tasks > 50 ms in the page session', (x) => x.longTasks.length, 0, '0');
  add('longest main-thread task, ms', (x) => Math.max(0, ...x.longTasks), 0, '≤ 50');
  add('their time in all, s', (x) => x.longTasks.reduce((a, t) => a + t, 0) / 1000, 1);
  for (const phase of PHASES) {
    if (!(w ?? p)!.longTasksIn[phase].length && !(p ?? w)!.longTasksIn[phase].length) continue;
    add(`  of them while ${PHASE_LABEL[phase]}`, (x) => x.longTasksIn[phase].length, 0);
    add(`  longest while ${PHASE_LABEL[phase]}, ms`, (x) => Math.max(0, ...x.longTasksIn[phase]), 0);
    add(
      `  their time while ${PHASE_LABEL[phase]}, s`,
      (x) => x.longTasksIn[phase].reduce((a, t) => a + t, 0) / 1000,
      1,
    );
  }
  const rw = w?.region;
  const rp = p?.region;
  if (rw || rp) {
    const regionRate = (x?: Region) => (x ? x.doneMegapixels / x.wall : NaN);
    const secondsFor = (x?: Region) =>
      x ? (x.state === 'finished' ? x.wall : x.totalMegapixels / regionRate(x)) : NaN;
    const note = (x?: Region) =>
      x && x.state !== 'finished'
        ? ` (est.: ${x.state} at ${Math.round((100 * x.doneTiles) / x.totalTiles)} %)`
        : x?.failedTiles
          ? ` (${x.failedTiles} failed)`
          : '';
    rows.push([
      `region run, whole slide (${mp.toFixed(1)} MP), s`,
      fixed(secondsFor(rw), 0) + note(rw),
      fixed(secondsFor(rp), 0) + note(rp),
      ratio(secondsFor(rw), secondsFor(rp)),
      '≤ 60',
    ]);
    add('region run output MP/s', (x) => regionRate(x.region), 3);
    add('region run MB read (after the views)', (x) => (x.region ? x.region.reads.bytes / MB : NaN), 2);
  }
  const pw = w?.pans;
  const pp = p?.pans;
  if (pw || pp) {
    const marks = (pw ?? pp)!.memory.map((x) => x.pans).join('/');
    const series = (x: Pans | undefined, f: (m: Memory) => number | undefined, digits: number) =>
      x ? x.memory.map((m) => fixed(f(m), digits)).join(' → ') : '—';
    const memRow = (label: string, f: (m: Memory) => number | undefined, digits = 1) =>
      rows.push([`${label} after ${marks} pans`, series(pw, f, digits), series(pp, f, digits), '', 'flat']);
    memRow('page JS heap, MB', (m) => m.heap / MB);
    const workerCount = Math.max(...[pw, pp].map((x) => x?.memory[0]?.workers.length ?? 0));
    for (let i = 0; i < workerCount; i++) {
      memRow(`worker ${i} V8 heap, MB`, (m) => (m.workers[i] ? m.workers[i].used / MB : undefined));
      memRow(`worker ${i} array buffers + wasm, MB`, (m) => (m.workers[i] ? m.workers[i].backing / MB : undefined));
      memRow(`worker ${i} TF.js tensors, MB`, (m) => (m.tf[i] ? m.tf[i]!.numBytes / MB : undefined), 2);
    }
    memRow('renderer processes RSS, MB', (m) => (m.rss === undefined ? undefined : m.rss / MB), 0);
    memRow('result tiles held', (m) => m.results, 0);
    const drawn = (x?: Pans) => (x ? `${x.tiles} / ${x.plans}` : '—');
    rows.push([`tiles drawn / live plans in ${pans} pans`, drawn(pw), drawn(pp), '', '']);
    add('ms per pan (pan → live plan)', (x) => (x.pans ? (1000 * x.pans.seconds) / pans : NaN), 0);
  }
  console.log(
    `\n${g.name} — grid ${g.grid.width}×${g.grid.height} (${mp.toFixed(1)} MP at ${g.grid.mpp.toFixed(3)} µm/px); ` +
      `view 1920×1080 output px at grid (${g.gridView.x}, ${g.gridView.y}) (shown: ${(w ?? p)!.visible}) on a ` +
      `${g.screen.width}×${g.screen.height} viewer (${drawer} drawer) = ${n} output tiles, ${viewMp.toFixed(2)} MP ` +
      `computed (budget ${g.budget} MP); ${g.backends.length} worker(s) on ${g.backends.join(', ')}; a fresh page ` +
      `per tiling, each run a new head (nothing cached but the page's slide blocks from earlier runs); ` +
      `load ${r.loadBefore} → ${r.loadAfter} on ${os.cpus().length} CPUs; ${r.minutes.toFixed(1)} min`,
  );
  console.log(table(rows));
  const session = [w, p].filter((x) => x !== undefined).map((x) => x.session);
  const ranged = session.reduce((a, x) => a + x.ranged, 0);
  const all = session.reduce((a, x) => a + x.requests, 0);
  console.log(`slide requests with a Range header: ${ranged} of ${all}`);
  const ua = (pw ?? pp)?.memory[0];
  if (ua) console.log(`performance.measureUserAgentSpecificMemory: ${ua.userAgentNote ?? `${fixed(ua.userAgent)} B`}`);
  const adapts = [...(w?.adapts ?? []), ...(p?.adapts ?? [])];
  if (adapts.length) {
    const t = (f: (a: Adapt) => number) => fixed(median(adapts.map(f)), 2);
    const a = adapts[0];
    console.log(
      `adapt (5 sample patches of lymphocytes; the same for both tilings), ${adapts.length} run(s), median s: ` +
        `${t((x) => x.seconds)} in the handle (${t((x) => x.wall)} awaited in the page) = features ` +
        `${t((x) => x.timings.features / 1000)} + standardise ${t((x) => x.timings.standardise / 1000)} + ` +
        `logistic ${t((x) => x.timings.logistic / 1000)} (${a.logistic} Newton steps) + BFGS ` +
        `${t((x) => x.timings.bfgs / 1000)} (${a.bfgs ?? 0} steps, ${a.stop ?? '—'}); ` +
        `${t((x) => x.timings.total / 1000)} in the worker's fit, the rest reading the patches and ` +
        `installing the head; backend ${a.backend}`,
    );
  }
  for (const e of [...(w?.errors ?? []), ...(p?.errors ?? [])]) console.log(`error seen: ${e}`);
}

// ---------------------------------------------------------------------------------------------

ensureBuilt();
await makeSampleSlide({ out: SAMPLE_DIR });
console.log(
  `bench:view: ${runs} run(s) per tiling, ${pans} pans, ` +
    `workers ${workerCounts.map((w) => w ?? 'default').join(', ')}, ` +
    `tilings ${TILINGS.join(', ')}, ${drawer} drawer, ` +
    `region limits ${regionLimit || 'none'} / ${patchesRegionLimit || 'none'} s (whole / patches); ` +
    `${os.cpus().length} CPUs, load ${load()}`,
);
let head: HeadJson | undefined;
// The head is fitted on the sample: it goes first whenever CMU is benchmarked too.
const order = (['sample', 'cmu'] as const).filter((id) => slideIds.includes(id));
for (const id of order) {
  if (id === 'cmu' && !fs.existsSync(path.join(WSI_DIR, SLIDES.cmu.file))) {
    console.log(`\nskipped: ${SLIDES.cmu.file} (${path.join(WSI_DIR, SLIDES.cmu.file)} is absent)`);
    continue;
  }
  if (id === 'cmu' && !head) {
    // CMU has no labels here: its head is fitted on the sample slide's, in a sample page first.
    console.log('\n(fitting the head on the sample slide first: --slides cmu needs one)');
    head = await fitHeadOnSample();
  }
  const byWorkers: { workers: number; result: SlideResult }[] = [];
  for (const w of workerCounts) {
    workers = w;
    const { result, head: used } = await benchSlide(id, head);
    head = used;
    printSlide(result);
    const any = Object.values(result.pages)[0];
    byWorkers.push({ workers: any?.geometry.backends.length ?? 0, result });
  }
  if (byWorkers.length > 1) printWorkerComparison(id, byWorkers);
}

/** The same slide benched with each worker count: key figures side by side, as ratios to the first count. */
function printWorkerComparison(id: string, results: readonly { workers: number; result: SlideResult }[]): void {
  for (const tiling of TILINGS) {
    const pages = results.map((r) => r.result.pages[tiling]);
    if (pages.some((p) => !p)) continue;
    const header = ['metric', ...results.map((r) => `${r.workers} worker(s)`), 'ratio to the first'];
    const rows: string[][] = [header];
    const add = (label: string, f: (x: PageResult) => number, digits: number) => {
      const v = pages.map((p) => f(p!));
      rows.push([
        label,
        ...v.map((x) => fixed(x, digits)),
        v
          .slice(1)
          .map((x) => (v[0] > 0 && Number.isFinite(x) ? `${(x / v[0]).toFixed(2)}×` : '—'))
          .join(', '),
      ]);
    };
    const med = (f: (x: Fill) => number) => (x: PageResult) => median(x.fills.map(f));
    add(
      'first tile after the pan settles, s (median)',
      med((f) => f.first),
      2,
    );
    add(
      'view filled, s (median)',
      med((f) => f.last),
      2,
    );
    add(
      'output MP/s, plan → last tile (median)',
      med((f) => f.megapixels / (f.last - f.plan)),
      3,
    );
    add('region run output MP/s', (x) => (x.region ? x.region.doneMegapixels / x.region.wall : NaN), 3);
    add('ms per pan (pan → live plan)', (x) => (x.pans ? (1000 * x.pans.seconds) / pans : NaN), 0);
    add('main-thread tasks > 50 ms', (x) => x.longTasks.length, 0);
    add('longest main-thread task, ms', (x) => Math.max(0, ...x.longTasks), 0);
    console.log(`\n${id}, ${tiling}: worker counts side by side (same build, same run; load ${load()})`);
    console.log(table(rows));
  }
}

/** A head from one adaptation on the sample page, for a CMU-only run. */
async function fitHeadOnSample(): Promise<HeadJson> {
  const served = await serveDemo({ demoDir: 'dist/demo', slidesDir: SAMPLE_DIR, port: 0 });
  const browser = await launch();
  try {
    const page = await openSlidePage(browser, served.url, SLIDES.sample, []);
    const store = await page.evaluate(() => {
      const s = (window as any).demoPanel.handle.support;
      return { slide: s.slide, extractorMpp: s.extractorMpp, patchSize: s.patchSize, scale: s.defaultScale };
    });
    await page.evaluate(
      (text) => (window as any).demoPanel.handle.importSupportSet(text),
      await sampleSupportFile(store),
    );
    await within(900_000, 'adapting', adaptOnce(page));
    return await page.evaluate(() => (window as any).demoPanel.handle.saveHead() as HeadJson);
  } finally {
    await browser.close();
    served.server.close();
  }
}
