import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import type OpenSeadragon from 'openseadragon';
import type { SlideDescription } from '../../core/slide/pixel-source.js';
import type { RegionRun, RunProgress } from '../../core/session/region-run.js';
import type { Tiling } from '../../core/inference/tiling.js';
import { textOfFile } from '../../core/cells/gzip.js';
import { backendGpuNote } from '../../core/msd/gpu-adapter.js';
import { parseQuPathGeoJson, type QuPathAnnotations } from '../../core/support-set/qupath-import.js';
import type { SupportSetChange, SupportSetPatch } from '../../core/support-set/support-set.js';
import {
  attachFewShot,
  type FewShot,
  type FewShotEvents,
  type FewShotOptions,
  type FewShotTask,
} from '../attach-fewshot.js';
import type { SupportTool } from '../support/support-tools.js';
import { loopRound, renderAnnotationLoop, type LoopRound } from './annotation-loop.js';
import type { StainMethod } from '../../core/stain/stain-stats.js';
import { stainSelect } from './stain-select.js';
import { cellHitIndex, type CellHitIndex } from '../../core/cells/cell-hit-index.js';
import type { CellTableRow } from '../../core/session/session.js';
import { createCellHighlight, type CellHighlight } from '../layers/cell-highlight.js';
import { apply, imageToElement, invert } from '../layers/view-transform.js';
import './cell-table.js';
import type { CellSelectDetail, CellTable } from './cell-table.js';

/**
 * `<fewshot-segmenter>`: the panel over attachFewShot. Give it `viewer` and `slide` (or an
 * attached `handle`); it renders the support tools, Adapt with progress, live prediction,
 * region runs, overlay controls, exports and the keyboard shortcuts, and re-dispatches the
 * handle's events from itself (bubbling, composed) so a host page can listen on the element.
 * It uses the handle through its public API only, as any host page could.
 */

/** `panel.addEventListener('adapted', (e) => e.detail.head)`: the `detail` of each event. */
export type FewShotSegmenterEvents = Omit<FewShotEvents, 'error'> & {
  /** The handle is attached and ready (workers started, extractors loaded, slide open, support set restored). */
  ready: FewShot;
  /** The handle's errors, and the panel's own: starting (`attach`) and adapting from its button (`adapt`). */
  error: { readonly error: unknown; readonly task: FewShotTask | 'attach' | 'adapt' };
};

type PanelListener<K extends keyof FewShotSegmenterEvents> = (
  this: FewShotSegmenter,
  event: CustomEvent<FewShotSegmenterEvents[K]>,
) => void;

/** Colours of added classes, in turn: distinct from each other and from the default green. */
const CLASS_COLOURS = ['#e6194b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#ffe119'];

const TOOLS: readonly { tool: SupportTool; label: string; key: string }[] = [
  { tool: 'navigate', label: 'Navigate', key: 'N' },
  { tool: 'place', label: 'Place patch', key: 'P' },
  { tool: 'brush', label: 'Brush', key: 'B' },
  { tool: 'erase', label: 'Erase', key: 'E' },
  { tool: 'ignore', label: 'Ignore', key: 'I' },
  { tool: 'polygon', label: 'Polygon', key: 'G' },
];

const SHORTCUTS: readonly [string, string][] = [
  ['N P B E I G', 'tools: navigate, place patch, brush, erase, ignore, polygon'],
  ['[ ]', 'brush smaller / larger'],
  ['Enter / Esc', 'close / cancel polygon; Esc also cancels adapting'],
  ['Ctrl+Z, Ctrl+Shift+Z', 'undo, redo'],
  ['Delete', 'delete the selected patch'],
  ['A', 'adapt'],
  ['L', 'live prediction on/off'],
  ['H', 'hide / show the overlay'],
  ['S / Y', 'suggest where to annotate next (again: skip to the next) / accept it'],
];

// Whole tiles: one forward over a 512² tile and the 125 px receptive-field margin of depth-25
// extractors, 1.2–1.4 s per tile on one wasm thread here, against 8–10 s for the paper's
// stride-64 patches (16 per pixel); same slide, same extractors.
const TILINGS: readonly { tiling: Tiling; label: string }[] = [
  { tiling: 'whole', label: 'Whole tiles (fast)' },
  { tiling: 'patches', label: 'Patches 256², stride 64 (paper)' },
];

/**
 * Why the workers run on cpu when wasm was to be had (" — wasm: https://…simd.wasm answered HTML…"),
 * or '': cpu is several times slower, and a missing binary must not pass for a slow machine.
 */
const slowBackendNote = (h: FewShot): string => {
  // 'wasm: …' from the automatic order, "The TF.js backend 'wasm' could not start: …" when named.
  const why = h.workers
    .find((w) => w.backend === 'cpu')
    ?.failures.find((f) => f.startsWith('wasm:') || f.includes("backend 'wasm'"));
  return why ? ` — ${why}` : '';
};

/** What GPU the workers saw, real or software, and whether they use it (gpu-adapter.ts). */
const gpuNote = (h: FewShot): string => backendGpuNote(h.workers);

const seconds = (s: number) => (s < 10 ? s.toFixed(1) : Math.round(s).toString());

const UNCERTAINTY_TITLE =
  'Where the head is unsure: the entropy of its probability and the disagreement of its ensemble ' +
  '(refits on resamples of the support); magenta, stronger where less sure';

/** What the uncertainty comes from now: " (fitting ensemble…)", " (from p)" for a head without one. */
const uncertaintyNote = (h: FewShot) =>
  h.session.ensemblePending ? ' (fitting ensemble…)' : h.head && !h.session.ensemble ? ' (from p)' : '';

/** What live mode does now, read from the handle each render (never a message left from earlier). */
const liveState = (h: FewShot) =>
  !h.head ? '' : h.live ? 'Live: the view is predicted as it moves' : 'Live off: Predict view computes this view once';

export class FewShotSegmenter extends LitElement {
  static override properties = {
    viewer: { attribute: false },
    slide: { attribute: false },
    options: { attribute: false },
    assetsBaseUrl: { attribute: 'assets-base-url' },
    handle: { attribute: false },
  };

  declare viewer: OpenSeadragon.Viewer | undefined;
  declare slide: SlideDescription | undefined;
  declare options: Omit<FewShotOptions, 'slide'>;
  /** `assets-base-url`: where the package's files are served (a CDN, self-hosting); wins over options.assetsBaseUrl. */
  declare assetsBaseUrl: string | undefined;
  declare handle: FewShot | undefined;

  private attaching?: Promise<void>;
  private ownsHandle = false;
  private message?: { text: string; error: boolean };
  private adaptProgress?: string;
  private adaptController?: AbortController;
  private run?: RegionRun;
  private runProgress?: RunProgress;
  /** Each adapt of this handle's loop, oldest first (annotation-loop.ts). */
  private rounds: LoopRound[] = [];
  /**
   * Each patch's thumbnail, shown as the canvas itself: a data: URL in an <img> would need
   * `img-src data:`, which a strict Content-Security-Policy does not allow.
   */
  private thumbnails = new Map<string, HTMLCanvasElement>();
  private unsubscribe: (() => void)[] = [];
  /** A QuPath file read and waiting for the user to pick its new class (and whether to place patches). */
  private qupath?: { name: string; file: QuPathAnnotations; className: string; place: boolean };
  /** The cell table's rows (a snapshot of the finished tiles' cells) and their outlines' index. */
  private cells?: { rows: CellTableRow[]; index: CellHitIndex };
  private cellsLoading = false;
  private highlight?: CellHighlight;

  constructor() {
    super();
    this.options = {};
  }

  // Typed overloads for a host page: the panel's own events first, then the element's usual ones.
  override addEventListener<K extends keyof FewShotSegmenterEvents>(
    type: K,
    listener: PanelListener<K> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener<K extends keyof HTMLElementEventMap>(
    type: K,
    listener: (this: HTMLElement, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(type: string, listener: unknown, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject, options);
  }

  override removeEventListener<K extends keyof FewShotSegmenterEvents>(
    type: K,
    listener: PanelListener<K> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener<K extends keyof HTMLElementEventMap>(
    type: K,
    listener: (this: HTMLElement, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(type: string, listener: unknown, options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject, options);
  }

  private emit<K extends keyof FewShotSegmenterEvents>(type: K, detail: FewShotSegmenterEvents[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  /** The handle's events go out from the panel as they came (each a FewShotSegmenterEvents member). */
  private redispatch(type: keyof FewShotEvents, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  static override styles = css`
    :host {
      display: block;
      font:
        13px/1.4 system-ui,
        sans-serif;
      color: #eee;
      background: #23262a;
      padding: 0.5rem 0.75rem;
      overflow-y: auto;
      box-sizing: border-box;
    }
    h2 {
      font-size: 0.95rem;
      margin: 0 0 0.4rem;
    }
    h3 {
      font-size: 0.8rem;
      text-transform: uppercase;
      letter-spacing: 0.04em;
      color: #9ab;
      margin: 0.9rem 0 0.3rem;
    }
    .row {
      display: flex;
      flex-wrap: wrap;
      gap: 0.3rem;
      align-items: center;
      margin: 0.2rem 0;
    }
    button {
      font: inherit;
      background: #353a40;
      color: #eee;
      border: 1px solid #4a5058;
      border-radius: 4px;
      padding: 0.2rem 0.5rem;
      cursor: pointer;
    }
    button[aria-pressed='true'] {
      background: #2e6b4f;
      border-color: #4caf50;
    }
    button:disabled {
      opacity: 0.5;
      cursor: default;
    }
    button.primary {
      background: #2b5c8a;
      border-color: #4a8fd0;
      font-weight: 600;
    }
    progress {
      width: 100%;
    }
    .patches {
      display: grid;
      grid-template-columns: repeat(auto-fill, 64px);
      gap: 0.3rem;
    }
    .patch {
      position: relative;
      width: 64px;
      height: 64px;
      border: 2px solid transparent;
      border-radius: 3px;
      padding: 0;
      background: #000;
    }
    .patch[aria-selected='true'] {
      border-color: #fff;
    }
    .patch canvas {
      width: 100%;
      height: 100%;
      display: block;
    }
    .patch span {
      position: absolute;
      left: 2px;
      top: 0;
      font-size: 11px;
      text-shadow: 0 0 2px #000;
    }
    .muted {
      color: #9aa;
    }
    .error {
      color: #ff8a80;
    }
    dl {
      display: grid;
      grid-template-columns: auto 1fr;
      gap: 0.1rem 0.6rem;
      margin: 0;
      font-size: 12px;
    }
    dt {
      font-family: ui-monospace, monospace;
      color: #cde;
    }
    dd {
      margin: 0;
      color: #aab;
    }
    label {
      display: inline-flex;
      gap: 0.3rem;
      align-items: center;
    }
    input[type='range'] {
      width: 8rem;
    }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('keydown', this.onKey);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('keydown', this.onKey);
    this.detach();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('handle') && this.handle && !this.ownsHandle && !this.attaching) this.listen(this.handle);
    if ((changed.has('viewer') || changed.has('slide')) && this.viewer && this.slide)
      void this.attach(this.viewer, this.slide);
  }

  /** A new slide replaces the old handle (its support set stays saved under the old slide). */
  private async attach(viewer: OpenSeadragon.Viewer, slide: SlideDescription): Promise<void> {
    const previous = this.attaching;
    const mine = (async () => {
      await previous?.catch(() => undefined);
      if (this.slide !== slide || this.viewer !== viewer) return;
      this.detach();
      this.say('Starting workers and loading the extractors…');
      try {
        const assetsBaseUrl = this.assetsBaseUrl ?? this.options.assetsBaseUrl;
        const handle = await attachFewShot(viewer, {
          ...this.options,
          ...(assetsBaseUrl ? { assetsBaseUrl } : {}),
          slide,
        });
        if (this.slide !== slide || this.viewer !== viewer || !this.isConnected) {
          handle.destroy();
          return;
        }
        this.ownsHandle = true;
        this.handle = handle;
        this.listen(handle);
        const backends =
          [...new Set(handle.workers.map((w) => w.backend))].join(', ') + gpuNote(handle) + slowBackendNote(handle);
        const restored = handle.support.patches.length;
        const supportNote = restored ? `${restored} support patch(es) restored` : 'place support patches to begin';
        const gridNote = handle.grid.note ? ` ${handle.grid.note}` : '';
        // A worker on cpu because wasm failed shows as a problem, with the reason.
        const slow = slowBackendNote(handle) !== '';
        this.say(`Ready: ${handle.workers.length} worker(s) on ${backends}; ${supportNote}.${gridNote}`, slow);
        this.emit('ready', handle);
      } catch (err) {
        this.say(`Could not start: ${(err as Error).message}`, true);
        this.emit('error', { error: err, task: 'attach' });
      }
    })();
    this.attaching = mine;
    await mine;
    if (this.attaching === mine) this.attaching = undefined;
  }

  /**
   * Another input stain normalisation changes every feature the head was fitted on, so the handle
   * is attached again with it (head and results dropped, Adapt needed) and keeps the support
   * patches: those the storage restored, or (without storage, or a save still pending) the ones here.
   */
  private async changeStain(stain: StainMethod): Promise<void> {
    const { viewer, slide, handle } = this;
    if (!viewer || !slide || !handle || stain === handle.stain) return;
    const patches = handle.support.patches;
    this.options = { ...this.options, stain };
    await this.attach(viewer, slide);
    const support = this.handle?.support;
    const kept = (a: SupportSetPatch, b: SupportSetPatch) =>
      a.id === b.id && a.x === b.x && a.y === b.y && a.scale === b.scale && a.mask.every((v, i) => v === b.mask[i]);
    if (support && (support.patches.length !== patches.length || patches.some((p, i) => !kept(p, support.patches[i]))))
      support.replacePatches(patches, { label: 'stain normalisation' });
  }

  private listen(handle: FewShot): void {
    /** Re-dispatches the handle's `type` from the panel, after `react` (the panel's own use of it). */
    const forward = <K extends keyof FewShotEvents>(type: K, react?: (detail: FewShotEvents[K]) => void) => {
      const listener = ({ detail }: CustomEvent<FewShotEvents[K]>) => {
        react?.(detail);
        this.redispatch(type, detail);
        this.requestUpdate();
      };
      handle.addEventListener(type, listener);
      this.unsubscribe.push(() => handle.removeEventListener(type, listener));
    };
    forward('progress', (p) => {
      if (p.task !== 'adapt') return;
      if (p.phase === 'features') this.adaptProgress = `features ${p.done}/${p.total}`;
      else {
        const phase = p.phase === 'logistic' ? 'logistic regression' : 'BFGS';
        this.adaptProgress = `${phase} step ${p.iteration}, loss ${p.loss.toFixed(4)}`;
      }
    });
    // Adapting from the panel turns live prediction on, before the panel's 'adapted' goes out:
    // a host listening for it finds the view already being predicted.
    forward('adapted', (outcome) => {
      this.rounds.push(loopRound(outcome));
      if (this.adaptController && !handle.live) handle.setLive(true);
    });
    forward('prediction-tile');
    forward('budget');
    forward('prefill', (o) => {
      if (o.outcome === 'failed') this.say(`pre-fill: ${(o.error as Error)?.message ?? o.error}`, true);
    });
    forward('change');
    // An export that left cells out says so (the extractors' warning is a line of its own, rendered from `warnings`).
    forward('warning', (w) => {
      if (w.kind === 'export') this.say(w.message, true);
    });
    forward('error', (e) => this.say(`${e.task}: ${(e.error as Error)?.message ?? e.error}`, true));
    const onSupportChange = ({ detail: change }: CustomEvent<SupportSetChange>) => {
      if (change.type === 'mask' || change.type === 'add') this.thumbnail(change.id);
      if (change.type === 'replace') {
        this.thumbnails.clear();
        handle.support.patches.forEach((p) => this.thumbnail(p.id));
      }
      this.requestUpdate();
    };
    const onToolsChange = () => this.requestUpdate();
    handle.support.addEventListener('change', onSupportChange);
    handle.tools.addEventListener('change', onToolsChange);
    this.unsubscribe.push(
      () => handle.support.removeEventListener('change', onSupportChange),
      () => handle.tools.removeEventListener('change', onToolsChange),
    );
    handle.support.patches.forEach((p) => this.thumbnail(p.id));
    // The cell table's selection over the viewer, and a click on a cell selecting its row.
    const highlight = createCellHighlight(handle.viewer);
    this.highlight = highlight;
    const onClick = (event: OpenSeadragon.CanvasClickEvent) => this.pickCell(handle, event);
    handle.viewer.addHandler('canvas-click', onClick);
    this.unsubscribe.push(() => {
      handle.viewer.removeHandler('canvas-click', onClick);
      highlight.destroy();
      if (this.highlight === highlight) this.highlight = undefined;
      this.cells = undefined;
    });
  }

  /** Measures the finished tiles' cells into the table (again: the results changed since). */
  private async loadCells(): Promise<void> {
    const handle = this.handle;
    if (!handle || this.cellsLoading) return;
    this.cellsLoading = true;
    this.requestUpdate();
    try {
      const rows = await handle.cellTable();
      if (handle !== this.handle) return;
      this.cells = { rows, index: cellHitIndex(rows.map((r) => r.outline)) };
      this.highlight?.show(undefined);
      if (rows.length === 0) this.say('No cells yet: predict the view (or a region) first.');
    } catch (err) {
      this.say(`Cell table: ${(err as Error).message}`, true);
    } finally {
      this.cellsLoading = false;
      this.requestUpdate();
    }
  }

  /** A row was chosen: the viewer goes to its cell (a few cells' widths around it) and outlines it. */
  private showCell(index: number): void {
    const h = this.handle;
    const cells = this.cells;
    const item = h?.viewer.world.getItemAt(0);
    if (!h || !cells || !item) return;
    const [x0, y0, x1, y1] = cells.index.bounds(index);
    const side = Math.max(8 * Math.max(x1 - x0, y1 - y0), 64);
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    h.viewer.viewport.fitBounds(item.imageToViewportRectangle(cx - side / 2, cy - side / 2, side, side));
    this.highlight?.show(cells.rows[index].outline);
  }

  /** A click on a cell in the viewer (navigate tool, table open) selects and shows its row. */
  private pickCell(handle: FewShot, event: OpenSeadragon.CanvasClickEvent): void {
    const cells = this.cells;
    const item = handle.viewer.world.getItemAt(0);
    if (!cells || !item || !event.quick || handle.tools.tool !== 'navigate') return;
    // OpenSeadragon mirrors a click's position when the viewport is flipped; the transform has the flip.
    const size = handle.viewer.viewport.getContainerSize();
    const raw = handle.viewer.viewport.getFlip()
      ? { x: size.x - event.position.x, y: event.position.y }
      : event.position;
    const [x, y] = apply(invert(imageToElement(handle.viewer, item)), raw.x, raw.y);
    const index = cells.index.cellAt(x, y);
    if (index < 0) return;
    event.preventDefaultAction = true;
    this.renderRoot.querySelector<CellTable>('fewshot-cell-table')?.select(index);
    this.highlight?.show(cells.rows[index].outline);
  }

  /** The suggestion box on the best window in view (again: the next one); says so when there is none. */
  private suggestNext(): void {
    const h = this.handle;
    if (h && !h.suggestion.next())
      this.say('No other window to suggest in view: the prediction must cover it (adapt, live on) first.');
    this.requestUpdate();
  }

  private acceptSuggestion(): void {
    this.handle?.suggestion.accept();
    this.requestUpdate();
  }

  private detach(): void {
    this.unsubscribe.forEach((u) => u());
    this.unsubscribe = [];
    this.rounds = [];
    this.run?.cancel();
    if (this.ownsHandle) this.handle?.destroy();
    this.handle = undefined;
    this.ownsHandle = false;
  }

  private say(text: string, error = false): void {
    this.message = { text, error };
    this.requestUpdate();
  }

  /** " · 12 %": how much of a pre-filled patch the user changed since its fill (nothing when not pre-filled). */
  private changedLabel(id: string): string {
    const c = this.handle?.support.changes(id);
    return c ? ` · ${Math.round(c.fraction * 100)} %` : '';
  }

  private changedNote(id: string): string {
    const c = this.handle?.support.changes(id);
    return c ? ` (pre-filled; ${c.pixels} px, ${(c.fraction * 100).toFixed(1)} % changed since)` : '';
  }

  /** The patch's slide pixels with its painted labels, as a small image (debounced per patch). */
  private thumbnailTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private thumbnail(id: string): void {
    clearTimeout(this.thumbnailTimers.get(id));
    this.thumbnailTimers.set(
      id,
      setTimeout(() => void this.drawThumbnail(id), 150),
    );
  }

  private async drawThumbnail(id: string): Promise<void> {
    const handle = this.handle;
    const patch = handle?.support.patch(id);
    if (!handle || !patch) return;
    const size = 64;
    const levels = handle.slide.info.levels;
    const side = handle.support.patchSize * patch.scale;
    // The coarsest level still giving the thumbnail at least its size.
    let level = 0;
    levels.forEach((l, i) => {
      if ((side * l.width) / levels[0].width >= size) level = i;
    });
    const f = levels[level].width / levels[0].width;
    const rect = {
      x: Math.floor(patch.x * f),
      y: Math.floor(patch.y * f),
      width: Math.max(1, Math.round(side * f)),
      height: Math.max(1, Math.round(side * f)),
    };
    let rgb: Uint8Array;
    try {
      rgb = await handle.pool.readRegion(handle.slide, level, rect);
    } catch {
      return;
    }
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const ctx = canvas.getContext('2d')!;
    const image = new ImageData(rect.width, rect.height);
    for (let i = 0; i < rect.width * rect.height; i++)
      image.data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
    const pixels = document.createElement('canvas');
    pixels.width = rect.width;
    pixels.height = rect.height;
    pixels.getContext('2d')!.putImageData(image, 0, 0);
    ctx.drawImage(pixels, 0, 0, size, size);
    ctx.drawImage(this.maskCanvas(patch), 0, 0, size, size);
    this.thumbnails.set(id, canvas);
    this.requestUpdate();
  }

  private maskCanvas(patch: SupportSetPatch): HTMLCanvasElement {
    const n = this.handle!.support.patchSize;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = n;
    const image = new ImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      const v = patch.mask[i];
      if (v === 1) image.data.set([0, 230, 118, 150], 4 * i);
      else if (v === 255) image.data.set([128, 128, 128, 170], 4 * i);
    }
    canvas.getContext('2d')!.putImageData(image, 0, 0);
    return canvas;
  }

  /**
   * The classes of the support set (core/support-set/support-classes.ts): with one, only *Add
   * class* (the panel as before); with several, each a radio choosing the brush's class, its name
   * and colour, and a remove button.
   */
  private renderClasses(h: FewShot) {
    const support = h.support;
    const classes = support.classes;
    const add = () => {
      // The first class is what the panel showed until now: the session's name and colour.
      if (classes.length === 1) support.updateClass(1, { name: h.session.className, color: h.session.color });
      const names = new Set(support.classes.map((c) => c.name));
      let k = support.classes.length + 1;
      while (names.has(`Class ${k}`)) k++;
      const label = support.addClass({ name: `Class ${k}`, color: CLASS_COLOURS[(k - 2) % CLASS_COLOURS.length] });
      h.tools.setActiveClass(label);
    };
    const edit = (label: number, change: { name?: string; color?: string }) => {
      try {
        support.updateClass(label, change);
      } catch (err) {
        this.say((err as Error).message, true);
        this.requestUpdate();
      }
    };
    const hex = (c: string) => (/^#[0-9a-f]{6}$/i.test(c) ? c : '#000000');
    return html`<div class="row" id="classes" role="radiogroup" aria-label="classes">
      ${
        classes.length > 1
          ? classes.map(
              (c, i) =>
                html`<span class="class" data-label=${i + 1}
                  ><input
                    type="radio"
                    name="active-class"
                    title="paint ${c.name}"
                    .checked=${h.tools.activeClass === i + 1}
                    @change=${() => h.tools.setActiveClass(i + 1)}
                  /><input
                    class="class-name"
                    size="10"
                    aria-label="class ${i + 1} name"
                    .value=${c.name}
                    @change=${(e: Event) => edit(i + 1, { name: (e.target as HTMLInputElement).value })}
                  /><input
                    type="color"
                    class="class-color"
                    aria-label="class ${i + 1} colour"
                    .value=${hex(c.color)}
                    @change=${(e: Event) => edit(i + 1, { color: (e.target as HTMLInputElement).value })}
                  /><button class="remove-class" title="remove ${c.name}" @click=${() => support.removeClass(i + 1)}>
                    ×
                  </button></span
                >`,
            )
          : nothing
      }
      <button id="add-class" title="a new class to paint and adapt alongside" @click=${add}>Add class</button>
    </div>`;
  }

  private async adapt(): Promise<void> {
    const handle = this.handle;
    if (!handle || handle.state === 'adapting') return;
    this.adaptController = new AbortController();
    this.adaptProgress = 'reading the support patches';
    this.say('Adapting…');
    if (handle.support.classes.length > 1) return this.adaptClasses(handle, this.adaptController.signal);
    try {
      // Live prediction was turned on as the handle's 'adapted' came (listen()).
      const outcome = await handle.adapt({ signal: this.adaptController.signal });
      const r = outcome.report;
      this.say(
        `Adapted in ${seconds(outcome.seconds)} s (${r.support.patches} patches, ${r.support.positive} class pixels; ` +
          `${r.logistic.iterations} Newton + ${r.bfgs?.iterations ?? 0} BFGS steps).`,
      );
    } catch (err) {
      this.adaptFailed(err);
    } finally {
      this.adaptController = undefined;
      this.adaptProgress = undefined;
    }
  }

  /** Several classes: one head per class (session.adaptClasses), offered as *Class heads* to save. */
  private async adaptClasses(handle: FewShot, signal: AbortSignal): Promise<void> {
    try {
      const started = performance.now();
      const answer = await handle.session.adaptClasses({ signal });
      const pixels = answer.reports.map((r, k) => `${answer.classes[k].name} ${r.support.positive}`).join(', ');
      // The view's composition of the classes, each in its colour (the live overlay predicts one head).
      const item = handle.viewer.world.getItemAt(0);
      const view = item?.viewportToImageRectangle(handle.viewer.viewport.getBounds(true));
      const region = view && { x: view.x, y: view.y, width: view.width, height: view.height };
      const overlay = await handle.session.classOverlay(region, { signal });
      if (overlay) {
        handle.maskLayer.clear();
        handle.maskLayer.addTile(overlay);
      }
      this.say(
        `Adapted ${answer.classes.length} classes in ${seconds((performance.now() - started) / 1000)} s ` +
          `(class pixels: ${pixels}); save them with Class heads. The view shows each class in its colour.`,
      );
    } catch (err) {
      this.adaptFailed(err);
    } finally {
      this.adaptController = undefined;
      this.adaptProgress = undefined;
    }
  }

  /** An adapt that threw: cancelled is said plainly, anything else is said and emitted as an error. */
  private adaptFailed(err: unknown): void {
    const e = err as Error;
    const aborted = e.name === 'AbortError';
    this.say(aborted ? 'Adapting was cancelled.' : `Adapt failed: ${e.message}`, !aborted);
    if (!aborted) this.emit('error', { error: err, task: 'adapt' });
  }

  private async runRegion(region: 'slide' | 'tissue'): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    this.run?.cancel();
    try {
      const run = this.follow(await handle.predictRegion(region));
      const summary = await run.finished;
      this.say(
        `Region run ${summary.state}: ${summary.progress.doneTiles}/${summary.progress.totalTiles} tiles` +
          `${summary.failures.length ? `, ${summary.failures.length} failed` : ''}.`,
        summary.failures.length > 0,
      );
    } catch (err) {
      this.say(`Region run failed: ${(err as Error).message}`, true);
    }
  }

  private download(name: string, blob: Blob): void {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  private async importFile(kind: 'support' | 'head', file: File | undefined): Promise<void> {
    const handle = this.handle;
    if (!handle || !file) return;
    try {
      const text = await file.text();
      if (kind === 'support')
        this.say(`Imported ${handle.importSupportSet(text)} support patch(es) from ${file.name}.`);
      else {
        await handle.loadHead(text);
        this.say(`Loaded the head from ${file.name}.`);
      }
    } catch (err) {
      this.say(`${file.name} was not loaded: ${(err as Error).message}`, true);
    }
  }

  /** Reads a QuPath GeoJSON (.geojson, .json or .geojson.gz) and asks which of its classes is the new class. */
  private async readQuPath(file: File | undefined): Promise<void> {
    if (!file) return;
    try {
      const parsed = parseQuPathGeoJson(await textOfFile(new Uint8Array(await file.arrayBuffer())));
      if (parsed.classes.length === 0) throw new Error('it has no classified annotation with an area');
      // The session's class name first, when QuPath calls its class the same.
      const preferred = parsed.classes.find((c) => c.name === this.handle?.className) ?? parsed.classes[0];
      this.qupath = { name: file.name, file: parsed, className: preferred.name, place: false };
      this.say(`${file.name}: ${parsed.objects.length} object(s) with an area; choose the new class and paint.`);
    } catch (err) {
      this.qupath = undefined;
      this.say(`${file.name} was not read: ${(err as Error).message}`, true);
    }
  }

  private paintFromQuPath(): void {
    const handle = this.handle;
    const pending = this.qupath;
    if (!handle || !pending) return;
    try {
      const r = handle.importQuPathAnnotations(pending.file, {
        className: pending.className,
        placePatches: pending.place,
      });
      this.qupath = undefined;
      const left = r.classPolygonsWithoutPatch
        ? ` ${r.classPolygonsWithoutPatch} ${pending.className} polygon(s) lie outside every patch` +
          (pending.place ? ' (patch limit reached).' : ': tick "place patches" to add patches on them.')
        : '';
      this.say(
        r.changedPixels === 0 && r.patchesPlaced === 0
          ? `Nothing to paint: no ${pending.className} or other classified annotation covers a patch.${left}`
          : `Painted ${r.patchesChanged} patch(es) from ${pending.name}` +
              (r.patchesPlaced ? `, ${r.patchesPlaced} placed` : '') +
              ` (${r.classPixels} class, ${r.otherPixels} background pixels; one undo step).${left}`,
      );
    } catch (err) {
      this.say(`${pending.name} was not imported: ${(err as Error).message}`, true);
    }
  }

  private readonly onKey = (event: KeyboardEvent) => {
    const handle = this.handle;
    if (!handle) return;
    const target = event.composedPath()[0] as HTMLElement | undefined;
    if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable)) return;
    const key = event.key;
    const ctrl = event.ctrlKey || event.metaKey;
    let used = true;
    if (ctrl && key.toLowerCase() === 'z') {
      if (event.shiftKey) handle.support.redo();
      else handle.support.undo();
    } else if (ctrl && key.toLowerCase() === 'y') handle.support.redo();
    else if (ctrl || event.altKey) used = false;
    else if (key === 'Delete' || key === 'Backspace') {
      if (handle.support.selectedId) handle.support.deletePatch(handle.support.selectedId);
    } else if (key === '[') handle.tools.setBrushSize(handle.tools.brushSize - 2);
    else if (key === ']') handle.tools.setBrushSize(handle.tools.brushSize + 2);
    else if (key === 'Enter') handle.tools.closePolygon();
    else if (key === 'Escape') {
      handle.tools.cancelPolygon();
      this.adaptController?.abort();
    } else if (key === 'a' || key === 'A') void this.adapt();
    else if (key === 'l' || key === 'L') handle.setLive(!handle.live);
    else if (key === 's' || key === 'S') this.suggestNext();
    else if ((key === 'y' || key === 'Y') && handle.suggestion.current) this.acceptSuggestion();
    else if (key === 'h' || key === 'H') {
      const show = !handle.maskLayer.visible;
      handle.maskLayer.visible = show;
      handle.contourLayer.visible = show;
    } else {
      const tool = TOOLS.find((t) => t.key === key.toUpperCase());
      if (tool) handle.tools.setTool(tool.tool);
      else used = false;
    }
    if (used) {
      event.preventDefault();
      this.requestUpdate();
    }
  };

  protected override render() {
    const h = this.handle;
    const msg = this.message
      ? html`<p class=${this.message.error ? 'error' : 'muted'} role="status">${this.message.text}</p>`
      : nothing;
    if (!h)
      return html`<h2>Few-shot segmentation</h2>
        ${msg}`;
    const backends = [...new Set(h.workers.map((w) => w.backend))].join(', ');
    const style = h.maskLayer.style;
    const view = h.cellsInView();
    const plan = h.plan;
    const run = this.run;
    const rp = this.runProgress;
    const rate = rp?.megapixelsPerSecond ? `, ${rp.megapixelsPerSecond.toFixed(3)} MP/s` : '';
    const left = rp?.etaSeconds ? `, ~${Math.round(rp.etaSeconds)} s left` : '';
    const lastAdapt = h.lastAdapt;
    const lastShots = lastAdapt && (lastAdapt.report.support.patches ?? h.support.patches.length);
    return html`
      <h2>Few-shot segmentation</h2>
      <div class="muted">
        ${h.workers.length} worker(s) · <span id="backend">${backends}${gpuNote(h)}${slowBackendNote(h)}</span> ·
        extractors ${h.extractors.map((e) => e.name).join(', ')}
      </div>
      ${h.warnings
        .filter((w) => w.kind === 'extractors')
        .map((w) => html`<div class="error" id="extractors-warning" role="note">${w.message}</div>`)}
      ${msg}

      <h3>Support patches</h3>
      <div class="row" role="toolbar" aria-label="support tools">
        ${TOOLS.map(
          (t) =>
            html`<button
              data-tool=${t.tool}
              aria-pressed=${h.tools.tool === t.tool}
              title="${t.label} (${t.key})"
              @click=${() => h.tools.setTool(t.tool)}
            >
              ${t.label}
            </button>`,
        )}
      </div>
      <div class="row">
        <label
          >Brush
          <input
            type="range"
            min="1"
            max="64"
            .value=${String(h.tools.brushSize)}
            @input=${(e: Event) => h.tools.setBrushSize(Number((e.target as HTMLInputElement).value))}
          />
          ${h.tools.brushSize} px</label
        >
        <button ?disabled=${!h.support.canUndo} title="Undo (Ctrl+Z)" @click=${() => h.support.undo()}>Undo</button>
        <button ?disabled=${!h.support.canRedo} title="Redo (Ctrl+Shift+Z)" @click=${() => h.support.redo()}>
          Redo
        </button>
      </div>
      ${this.renderClasses(h)}
      <div class="patches" role="listbox" aria-label="support patches">
        ${h.support.patches.map(
          (p, i) =>
            html`<button
              class="patch"
              role="option"
              aria-selected=${p.id === h.support.selectedId}
              title="patch ${i + 1}${this.changedNote(p.id)}: click to select"
              @click=${() => {
                h.support.select(p.id);
                const side = h.support.patchSize * p.scale;
                const item = h.viewer.world.getItemAt(0);
                if (item)
                  h.viewer.viewport.fitBounds(
                    item.imageToViewportRectangle(p.x - side * 0.25, p.y - side * 0.25, side * 1.5, side * 1.5),
                  );
              }}
            >
              ${this.thumbnails.get(p.id) ?? nothing}<span>${i + 1}${this.changedLabel(p.id)}</span>
            </button>`,
        )}
      </div>
      <div class="row">
        <label title="Paint each new patch from the current prediction (once adapted), to correct rather than paint"
          ><input
            type="checkbox"
            id="prefill"
            .checked=${h.prefill}
            @change=${(e: Event) => h.setPrefill((e.target as HTMLInputElement).checked)}
          />
          Pre-fill new patches${h.session.prefillPending ? ' (filling…)' : ''}</label
        >
      </div>
      <div class="row">
        <span class="muted">${h.support.patches.length} patch(es)</span>
        <button
          ?disabled=${!h.support.selectedId}
          @click=${() => h.support.selectedId && h.support.deletePatch(h.support.selectedId)}
        >
          Delete selected
        </button>
        <button
          @click=${() =>
            this.download('support-set.json', new Blob([h.exportSupportSet()], { type: 'application/json' }))}
        >
          Export
        </button>
        <label
          ><button
            @click=${(e: Event) => ((e.currentTarget as HTMLElement).nextElementSibling as HTMLInputElement).click()}
          >
            Import…</button
          ><input
            hidden
            type="file"
            accept=".json,application/json"
            @change=${(e: Event) => void this.importFile('support', (e.target as HTMLInputElement).files?.[0])}
        /></label>
        <label
          ><button
            id="qupath-import"
            title="Paint the patches from QuPath annotations (GeoJSON, .geojson.gz)"
            @click=${(e: Event) => ((e.currentTarget as HTMLElement).nextElementSibling as HTMLInputElement).click()}
          >
            QuPath annotations…</button
          ><input
            hidden
            type="file"
            accept=".geojson,.json,.gz,application/geo+json,application/json,application/gzip"
            @change=${(e: Event) => {
              const input = e.target as HTMLInputElement;
              void this.readQuPath(input.files?.[0]).finally(() => (input.value = ''));
            }}
        /></label>
      </div>
      ${this.renderQuPathChoice()}

      <h3>Adapt</h3>
      <div class="row">
        <button class="primary" id="adapt" ?disabled=${h.state === 'adapting'} @click=${() => void this.adapt()}>
          Adapt (A)
        </button>
        ${
          h.state === 'adapting' ? html`<button @click=${() => this.adaptController?.abort()}>Cancel</button>` : nothing
        }
        ${
          lastAdapt
            ? html`<span class="muted" id="adapt-time"
                >last: ${seconds(lastAdapt.seconds)} s, ${lastShots} shot(s)</span
              >`
            : nothing
        }
      </div>
      ${renderAnnotationLoop(h, this.rounds, {
        suggest: () => this.suggestNext(),
        accept: () => this.acceptSuggestion(),
      })}
      ${
        h.state === 'adapting'
          ? html`<progress></progress>
              <div class="muted">${this.adaptProgress}</div>`
          : nothing
      }

      <h3>Prediction</h3>
      <div class="row">
        <button id="live" aria-pressed=${h.live} ?disabled=${!h.head} @click=${() => h.setLive(!h.live)}>
          Live (L)
        </button>
        <button ?disabled=${!h.head} @click=${() => h.predictView()}>Predict view</button>
        <span class="muted" id="live-state">${liveState(h)}</span>
        <button ?disabled=${!h.head} @click=${() => void this.runRegion('tissue')}>Whole tissue</button>
        <button ?disabled=${!h.head} @click=${() => void this.runRegion('slide')}>Whole slide</button>
      </div>
      <div class="row">
        <label
          >Tiles
          <select
            id="tiling"
            title="How output tiles are computed; changing it drops the results computed the other way"
            @change=${(e: Event) => h.setTiling((e.target as HTMLSelectElement).value as Tiling)}
          >
            ${TILINGS.map(
              (t) => html`<option value=${t.tiling} ?selected=${h.tiling === t.tiling}>${t.label}</option>`,
            )}
          </select></label
        >
        <label title=${UNCERTAINTY_TITLE}
          ><input
            type="checkbox"
            id="uncertainty"
            .checked=${h.uncertainty}
            @change=${(e: Event) => void h.setUncertainty((e.target as HTMLInputElement).checked)}
          />
          Uncertainty${uncertaintyNote(h)}</label
        >
        ${stainSelect(h.stain, this.ownsHandle ? (stain) => void this.changeStain(stain) : undefined)}
      </div>
      ${
        plan && plan.later.count > 0
          ? html`<div class="row muted" id="budget">
              Zoomed out: ${plan.now.count} tile(s) computed, ${plan.later.count} (${plan.later.megapixels.toFixed(1)}
              MP) left out. <button @click=${() => void this.runRegionLater()}>Compute them</button>
            </div>`
          : nothing
      }
      ${
        run && (run.state === 'running' || run.state === 'paused')
          ? html`<progress max=${rp?.totalTiles ?? 1} value=${rp?.doneTiles ?? 0}></progress>
              <div class="row muted">
                ${rp?.doneTiles ?? 0}/${rp?.totalTiles ?? '?'} tiles${rate}${left}
                <button @click=${() => (run.state === 'paused' ? run.resume() : run.pause())}>
                  ${run.state === 'paused' ? 'Resume' : 'Pause'}
                </button>
                <button @click=${() => run.cancel()}>Cancel</button>
              </div>`
          : nothing
      }

      <h3>Overlay</h3>
      <div class="row">
        <label
          >Threshold
          <input
            id="threshold"
            type="range"
            min="0.05"
            max="0.95"
            step="0.05"
            .value=${String(style.threshold)}
            @input=${(e: Event) => h.setThreshold(Number((e.target as HTMLInputElement).value))}
          />
          ${style.threshold.toFixed(2)}</label
        >
        <label
          >Opacity
          <input
            type="range"
            min="0"
            max="1"
            step="0.05"
            .value=${String(style.opacity)}
            @input=${(e: Event) => h.maskLayer.setStyle({ opacity: Number((e.target as HTMLInputElement).value) })}
        /></label>
      </div>
      <div class="row">
        <label
          >Colour
          <input
            type="color"
            .value=${h.color}
            @input=${(e: Event) => h.setColor((e.target as HTMLInputElement).value)}
        /></label>
        <label
          ><input
            type="checkbox"
            .checked=${style.mode === 'probability'}
            @change=${(e: Event) =>
              h.maskLayer.setStyle({ mode: (e.target as HTMLInputElement).checked ? 'probability' : 'mask' })}
          />
          probability</label
        >
        <label
          ><input
            type="checkbox"
            .checked=${h.contourLayer.visible}
            @change=${(e: Event) => (h.contourLayer.visible = (e.target as HTMLInputElement).checked)}
          />
          contours</label
        >
        <button
          title="Hide / show (H)"
          @click=${() => {
            const v = !h.maskLayer.visible;
            h.maskLayer.visible = v;
            h.contourLayer.visible = v;
            this.requestUpdate();
          }}
        >
          ${h.maskLayer.visible ? 'Hide' : 'Show'}
        </button>
      </div>
      <div class="muted" id="counts">In view: ${view.cells} cell(s), ${view.area.toFixed(0)} ${view.unit}</div>

      <h3>Cells</h3>
      <div class="row">
        <button
          id="cell-table-load"
          ?disabled=${!h.head || this.cellsLoading}
          title="Measure the cells of every finished tile"
          @click=${() => void this.loadCells()}
        >
          ${this.cellsLoading ? 'Measuring…' : this.cells ? 'Refresh table' : 'Cell table'}
        </button>
        ${
          this.cells
            ? html`<button
                id="cell-table-close"
                @click=${() => {
                  this.cells = undefined;
                  this.highlight?.show(undefined);
                  this.requestUpdate();
                }}
              >
                Close
              </button>`
            : nothing
        }
      </div>
      ${
        this.cells
          ? html`<fewshot-cell-table
              .rows=${this.cells.rows}
              @cell-select=${(e: CustomEvent<CellSelectDetail>) => this.showCell(e.detail.index)}
            ></fewshot-cell-table>`
          : nothing
      }

      <h3>Export</h3>
      <div class="row">
        <button
          ?disabled=${!h.head}
          id="export-geojson"
          @click=${() =>
            void h.exportMeasuredGeoJson().then(
              (c) => this.download('cells.geojson', new Blob([JSON.stringify(c)], { type: 'application/geo+json' })),
              (e: Error) => this.say(e.message, true),
            )}
        >
          GeoJSON (QuPath)
        </button>
        <button
          ?disabled=${!h.head}
          id="export-geojson-gz"
          @click=${() =>
            void h.exportGeoJsonGz().then(
              (b) => this.download('cells.geojson.gz', b),
              (e: Error) => this.say(e.message, true),
            )}
        >
          GeoJSON (.geojson.gz)
        </button>
        <button
          ?disabled=${!h.head}
          id="export-cells-csv"
          @click=${() =>
            void h.exportCellsCsv().then(
              (text) => this.download('cells.csv', new Blob([text], { type: 'text/csv' })),
              (e: Error) => this.say(e.message, true),
            )}
        >
          Cells CSV
        </button>
        <button
          ?disabled=${!h.head}
          @click=${() =>
            void h.exportMaskPng().then(
              (b) => this.download('mask.png', b),
              (e: Error) => this.say(e.message, true),
            )}
        >
          Mask PNG
        </button>
        <button
          ?disabled=${!h.head}
          @click=${() =>
            this.download('head.json', new Blob([JSON.stringify(h.saveHead())], { type: 'application/json' }))}
        >
          Head JSON
        </button>
        ${
          h.session.classHeads
            ? html`<button
                id="save-class-heads"
                @click=${() =>
                  this.download(
                    'class-heads.json',
                    new Blob([JSON.stringify(h.session.saveClassHeads())], { type: 'application/json' }),
                  )}
              >
                Class heads
              </button>`
            : nothing
        }
        <label
          ><button
            @click=${(e: Event) => ((e.currentTarget as HTMLElement).nextElementSibling as HTMLInputElement).click()}
          >
            Load head…</button
          ><input
            hidden
            type="file"
            accept=".json,application/json"
            @change=${(e: Event) => void this.importFile('head', (e.target as HTMLInputElement).files?.[0])}
        /></label>
      </div>

      <h3>Keyboard</h3>
      <dl>
        ${SHORTCUTS.map(
          ([k, d]) =>
            html`<dt>${k}</dt>
              <dd>${d}</dd>`,
        )}
      </dl>
    `;
  }

  /** The class choice for a QuPath file just read: which class is the new class, whether to place patches. */
  private renderQuPathChoice() {
    const pending = this.qupath;
    if (!pending) return nothing;
    const change = (next: Partial<typeof pending>) => {
      this.qupath = { ...pending, ...next };
      this.requestUpdate();
    };
    return html`<div class="row" id="qupath-choice">
        <label
          >New class
          <select
            id="qupath-class"
            @change=${(e: Event) => change({ className: (e.target as HTMLSelectElement).value })}
          >
            ${pending.file.classes.map(
              (c) =>
                html`<option value=${c.name} ?selected=${c.name === pending.className}>${c.name} (${c.count})</option>`,
            )}
          </select></label
        >
        <label
          ><input
            id="qupath-place"
            type="checkbox"
            .checked=${pending.place}
            @change=${(e: Event) => change({ place: (e.target as HTMLInputElement).checked })}
          />
          place patches on annotations without one</label
        >
        <button class="primary" id="qupath-paint" @click=${() => this.paintFromQuPath()}>Paint patches</button>
        <button
          @click=${() => {
            this.qupath = undefined;
            this.say('QuPath import cancelled.');
          }}
        >
          Cancel
        </button>
      </div>
      <div class="muted">
        Inside the new class's annotations: class; inside other classes': background; unclassified ones are left alone.
      </div>`;
  }

  private async runRegionLater(): Promise<void> {
    const h = this.handle;
    if (!h?.plan) return;
    // What the budget left out lies in the view: run the view's rectangle (done tiles are skipped).
    const item = h.viewer.world.getItemAt(0);
    if (!item) return;
    const r = item.viewportToImageRectangle(h.viewer.viewport.getBounds(true));
    this.run?.cancel();
    this.follow(await h.predictRegion({ x: r.x, y: r.y, width: r.width, height: r.height }));
  }

  /** Shows a region run's progress and pause/cancel controls until it ends. */
  private follow(run: RegionRun): RegionRun {
    this.run = run;
    run.addEventListener('progress', (e) => {
      this.runProgress = e.detail;
      this.requestUpdate();
    });
    run.addEventListener('state', () => this.requestUpdate());
    return run;
  }
}

if (!customElements.get('fewshot-segmenter')) customElements.define('fewshot-segmenter', FewShotSegmenter);

declare global {
  interface HTMLElementTagNameMap {
    'fewshot-segmenter': FewShotSegmenter;
  }
}
