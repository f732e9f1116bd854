import { labelComponents } from '../core/cells/connected-components.js';
import { inferenceGrid, type InferenceGrid } from '../core/inference/inference-grid.js';
import { resampledSource } from '../core/inference/resampled-source.js';
import type { PixelSource } from '../core/slide/pixel-source.js';
import { serializeSupportSet } from '../core/support-set/support-set-file.js';
import {
  createSupportSet,
  DEFAULT_PATCH_SIZE,
  LABEL_BACKGROUND,
  LABEL_CLASS,
  LABEL_IGNORE,
  type SupportSetPatch,
} from '../core/support-set/support-set.js';

/**
 * The demo's *Try an example* support set (tools/make-example-support.ts writes it): five 256²
 * patches on a slide with its dark (haematoxylin-dense) nuclei painted as the class, labelled
 * from the slide's own pixels so that anyone can remake it and check it:
 *
 * 1. Haematoxylin optical density per pixel by colour deconvolution (Ruifrok & Johnston, Anal.
 *    Quant. Cytol. Histol. 2001; their H&E vectors), box-blurred over 5×5 pixels (1.25 µm)
 *    against JPEG noise, on the inference grid: the pixels the worker reads for adaptation.
 * 2. Nuclei by hysteresis: connected regions above `low`, kept when they reach `high` somewhere,
 *    so that dark nuclei come out whole and pale ones (the epidermis' upper keratinocytes) not at
 *    all: those stay background, as does everything that is not a nucleus.
 * 3. A dark region of a nucleus' size (`minArea`–`maxArea` µm²) is the class; smaller fragments,
 *    larger merged clumps (or keratin) and regions with the slide's marking dye in them are
 *    ignored, as a careful annotator leaves what they cannot call, and so is a ring of `ring`
 *    pixels around each class nucleus, where the threshold is unsure of the border.
 * 4. Five windows (on the stride-64 grid), mostly tissue and free of dye, with the most class
 *    pixels, each at least `separation` from the ones taken, alternately from the stroma and
 *    from the epidermis (by the mean density of the window), so that the head sees both.
 *
 * Measured with the shipped extractors on CMU-1-Small-Region.svs (in Node, the product's worker
 * pool over in-thread workers): adaptation took 21.5 s (34 BFGS steps); over a 28-tile region of
 * dermis and epidermis the head's mask at 0.5 has Dice 0.874 against these labels outside the
 * support patches (ignored pixels left out).
 *
 * Why this class: it is the one a threshold labels reliably there and the head can learn. A first
 * version painted only the round dark nuclei of the stroma (lymphocyte-like: area ≤ 50 µm²,
 * elongation ≤ 1.6, low density around them) and left spindle nuclei as background; the head
 * fitted to five such patches still marked every dark nucleus, spindles and the epidermis'
 * included (4.1 % of the same region predicted against 1.2 % labelled; Dice 0.18; BFGS stopped at
 * its 300-step cap), so the example showed another class than it claimed.
 */

export interface NucleusOptions {
  /** Haematoxylin OD a nucleus must reach somewhere (after the blur). */
  readonly high: number;
  /** Haematoxylin OD that bounds a nucleus. */
  readonly low: number;
  /** Half the blur's side, in grid pixels. */
  readonly blur: number;
  /** Class nuclei: area in µm² within [minArea, maxArea]. */
  readonly minArea: number;
  readonly maxArea: number;
  /** Ignored pixels around each class nucleus. */
  readonly ring: number;
  /**
   * Tissue-marking dye: the slide's blue-green ink absorbs red like haematoxylin, so the
   * deconvolution counts it as nuclei; H&E seldom leaves a pixel greener than it is red. A pixel
   * with G − R above `ink` is dye, and a nucleus with over 5 % of them is ignored. (Measured on
   * that slide: 0.5 % of the dark pixels of a dermis patch pass 20, and 60 % of an inked one.)
   */
  readonly ink: number;
  /** A pixel whose darkest channel is at least this is glass, not tissue. */
  readonly white: number;
}

export const NUCLEUS_DEFAULTS: NucleusOptions = {
  high: 1.05,
  low: 0.7,
  blur: 2,
  // Nuclei of that slide are 4–12 µm across; below 12 µm² a region is a fragment or a tangential cut.
  minArea: 12,
  maxArea: 120,
  ring: 2,
  ink: 20,
  white: 200,
};

/** Ruifrok & Johnston's stain vectors (optical density per R, G, B), normalised; the third is H×E. */
function deconvolution(): number[] {
  const unit = (v: number[]) => v.map((a) => a / Math.hypot(...v));
  const h = unit([0.65, 0.7, 0.29]);
  const e = unit([0.07, 0.99, 0.11]);
  const r = unit([h[1] * e[2] - h[2] * e[1], h[2] * e[0] - h[0] * e[2], h[0] * e[1] - h[1] * e[0]]);
  const m = [h, e, r];
  // od = c · m (rows are stains), so c = od · m⁻¹: the haematoxylin amount is od · (m⁻¹'s first column).
  const det =
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  return [0, 1, 2].map((c) => {
    // (m⁻¹)[c][0] = cofactor(0, c) / det.
    const rows = [1, 2];
    const cols = [0, 1, 2].filter((k) => k !== c);
    const minor = m[rows[0]][cols[0]] * m[rows[1]][cols[1]] - m[rows[0]][cols[1]] * m[rows[1]][cols[0]];
    return ((c % 2 === 0 ? 1 : -1) * minor) / det;
  });
}

/** Haematoxylin optical density of interleaved RGB pixels. */
export function haematoxylinDensity(rgb: Uint8Array): Float32Array {
  const weights = deconvolution();
  const od = Float64Array.from({ length: 256 }, (_, v) => -Math.log10((v + 1) / 256));
  const out = new Float32Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++) {
    out[i] = od[rgb[3 * i]] * weights[0] + od[rgb[3 * i + 1]] * weights[1] + od[rgb[3 * i + 2]] * weights[2];
  }
  return out;
}

/** Mean over the (2r+1)² box around each pixel (the box clipped at the edges). */
function boxBlur(values: Float32Array, width: number, height: number, r: number): Float32Array {
  const rows = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let n = 0;
      for (let q = Math.max(0, x - r); q <= Math.min(width - 1, x + r); q++, n++) sum += values[y * width + q];
      rows[y * width + x] = sum / n;
    }
  }
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let n = 0;
      for (let q = Math.max(0, y - r); q <= Math.min(height - 1, y + r); q++, n++) sum += rows[q * width + x];
      out[y * width + x] = sum / n;
    }
  }
  return out;
}

export interface NucleusLabels {
  /** Per pixel: LABEL_CLASS, LABEL_IGNORE or LABEL_BACKGROUND. */
  readonly labels: Uint8Array;
  /** Dark regions found: class nuclei and ignored ones. */
  readonly counts: { readonly nuclei: number; readonly ignored: number };
}

/** Labels the dark nuclei of an RGB image at `mpp` µm/px (steps 1–3 above). */
export function labelDarkNuclei(
  rgb: Uint8Array,
  width: number,
  height: number,
  mpp: number,
  options: NucleusOptions = NUCLEUS_DEFAULTS,
): NucleusLabels {
  const density = boxBlur(haematoxylinDensity(rgb), width, height, options.blur);
  const above = new Uint8Array(density.length);
  for (let i = 0; i < density.length; i++) above[i] = density[i] > options.low ? 1 : 0;
  const { labels: component, count, areas } = labelComponents(above, width, height, 8);
  const peak = new Float32Array(count + 1);
  const inked = new Int32Array(count + 1);
  for (let i = 0; i < component.length; i++) {
    const c = component[i];
    if (c === 0) continue;
    peak[c] = Math.max(peak[c], density[i]);
    if (rgb[3 * i + 1] - rgb[3 * i] > options.ink) inked[c]++;
  }
  const BACKGROUND = 0;
  const CLASS = 1;
  const IGNORED = 2;
  const kind = new Uint8Array(count + 1);
  const counts = { nuclei: 0, ignored: 0 };
  for (let c = 1; c <= count; c++) {
    if (peak[c] < options.high) continue; // pale: background
    const area = areas[c] * mpp * mpp;
    const nucleus = area >= options.minArea && area <= options.maxArea && inked[c] <= 0.05 * areas[c];
    kind[c] = nucleus ? CLASS : IGNORED;
    if (nucleus) counts.nuclei++;
    else counts.ignored++;
  }
  const labels = new Uint8Array(component.length).fill(LABEL_BACKGROUND);
  for (let i = 0; i < component.length; i++) if (kind[component[i]] === IGNORED) labels[i] = LABEL_IGNORE;
  // The ring first (square neighbourhood), then the class pixels over it.
  const r = options.ring;
  for (let i = 0; i < component.length; i++) {
    if (kind[component[i]] !== CLASS) continue;
    const x = i % width;
    const y = (i - x) / width;
    for (let v = Math.max(0, y - r); v <= Math.min(height - 1, y + r); v++) {
      for (let u = Math.max(0, x - r); u <= Math.min(width - 1, x + r); u++) {
        if (kind[component[v * width + u]] === BACKGROUND) labels[v * width + u] = LABEL_IGNORE;
      }
    }
  }
  for (let i = 0; i < component.length; i++) if (kind[component[i]] === CLASS) labels[i] = LABEL_CLASS;
  return { labels, counts };
}

export interface ExampleOptions {
  /** The extractors' µm/px (the shipped bundle's: 0.25). */
  readonly extractorMpp: number;
  readonly patches?: number;
  readonly patchSize?: number;
  /** Least distance between the corners of two patches, in grid pixels (default 512: 128 µm at 0.25 µm/px). */
  readonly separation?: number;
  /** Share of a window that must be tissue (default 0.75): no patches on the slide's edge. */
  readonly minTissue?: number;
  /**
   * Mean haematoxylin OD over a window's tissue that splits stroma (below) from epidermis
   * (above). Default 0.45: on CMU-1-Small-Region.svs the dermis' windows measure 0.2–0.4 and the
   * epidermis' 0.5–0.9.
   */
  readonly stroma?: number;
  readonly nuclei?: NucleusOptions;
}

export interface ExamplePatch {
  /** Top-left corner on the inference grid. */
  readonly gridX: number;
  readonly gridY: number;
  /** Where it was drawn from. */
  readonly from: 'stroma' | 'epidermis';
  readonly classPixels: number;
  readonly ignoredPixels: number;
}

export interface Example {
  /** The support set file's text (the panel's *Export* format). */
  readonly text: string;
  readonly grid: InferenceGrid;
  readonly patches: readonly ExamplePatch[];
  readonly nuclei: NucleusLabels['counts'];
}

/** The example support set of a slide (steps 1–4 above), as the support set file's text. */
export async function makeExampleSupportSet(slide: PixelSource, options: ExampleOptions): Promise<Example> {
  const count = options.patches ?? 5;
  const size = options.patchSize ?? DEFAULT_PATCH_SIZE;
  const separation = options.separation ?? 512;
  const minTissue = options.minTissue ?? 0.75;
  const stroma = options.stroma ?? 0.45;
  if (!slide.mpp) throw new Error(`${slide.name} does not say its µm/px; the example needs the slide's scale`);
  // The grid the plugin puts on this slide (attach-fewshot.ts), and the pixels its workers read.
  const grid = inferenceGrid(slide, options.extractorMpp);
  const { width, height } = grid;
  const rgb = await resampledSource(slide, grid.level, width, height).readRegion({
    level: 0,
    x: 0,
    y: 0,
    width,
    height,
  });
  const nuclei = options.nuclei ?? NUCLEUS_DEFAULTS;
  const { labels, counts } = labelDarkNuclei(rgb, width, height, grid.mpp.x, nuclei);

  // Per 64² block (the windows' stride): class, dye and tissue pixels and the density over the
  // tissue; a window is (size / 64)² blocks.
  const B = 64;
  const bw = Math.floor(width / B);
  const bh = Math.floor(height / B);
  const classBlocks = new Float64Array(bw * bh);
  const inkBlocks = new Float64Array(bw * bh);
  const tissueBlocks = new Float64Array(bw * bh);
  const densityBlocks = new Float64Array(bw * bh);
  const density = haematoxylinDensity(rgb);
  for (let y = 0; y < bh * B; y++) {
    for (let x = 0; x < bw * B; x++) {
      const i = y * width + x;
      const k = Math.floor(y / B) * bw + Math.floor(x / B);
      if (labels[i] === LABEL_CLASS) classBlocks[k]++;
      if (rgb[3 * i + 1] - rgb[3 * i] > nuclei.ink) inkBlocks[k]++;
      if (Math.min(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) < nuclei.white) {
        tissueBlocks[k]++;
        densityBlocks[k] += density[i];
      }
    }
  }
  const span = size / B;
  const sum = (blocks: Float64Array, bx: number, by: number) => {
    let t = 0;
    for (let v = by; v < by + span; v++) for (let u = bx; u < bx + span; u++) t += blocks[v * bw + u];
    return t;
  };
  type Window = { x: number; y: number; n: number; from: 'stroma' | 'epidermis' };
  const windows: Window[] = [];
  for (let by = 0; by + span <= bh; by++) {
    for (let bx = 0; bx + span <= bw; bx++) {
      const tissue = sum(tissueBlocks, bx, by);
      if (tissue < minTissue * size * size || sum(inkBlocks, bx, by) > 0.01 * size * size) continue;
      const from = sum(densityBlocks, bx, by) / tissue <= stroma ? 'stroma' : 'epidermis';
      windows.push({ x: bx * B, y: by * B, n: sum(classBlocks, bx, by), from });
    }
  }
  // Most class pixels first; ties in raster order, so the choice never depends on the sort.
  windows.sort((a, b) => b.n - a.n || a.y - b.y || a.x - b.x);
  const picked: Window[] = [];
  for (let turn = 0; picked.length < count; turn++) {
    const from = turn % 2 === 0 ? 'stroma' : 'epidermis';
    const next = windows.find(
      (w) => w.from === from && w.n > 0 && picked.every((p) => Math.hypot(p.x - w.x, p.y - w.y) >= separation),
    );
    if (next) picked.push(next);
    else if (turn > 2 * count) throw new Error(`only ${picked.length} windows of ${slide.name} hold class nuclei`);
  }

  const level0 = slide.levels[0];
  const patches: SupportSetPatch[] = picked.map((w, k) => {
    const mask = new Uint8Array(size * size);
    for (let r = 0; r < size; r++)
      mask.set(labels.subarray((w.y + r) * width + w.x, (w.y + r) * width + w.x + size), r * size);
    // Placed as the panel's tools place patches: on whole grid pixels, at the grid's scale.
    return { id: `example-${k + 1}`, x: w.x * grid.scaleX, y: w.y * grid.scaleY, scale: grid.scaleX, mask };
  });
  const store = createSupportSet({
    slide: { name: slide.name, width: level0.width, height: level0.height, mpp: slide.mpp.x },
    extractorMpp: options.extractorMpp,
    patchSize: size,
    scale: grid.scaleX,
    patches,
  });
  return {
    // The panel's file format, indented so that a diff of a remade file shows which patch moved.
    text: JSON.stringify(serializeSupportSet(store.state()), null, 2) + '\n',
    grid,
    patches: picked.map((w, k) => ({
      gridX: w.x,
      gridY: w.y,
      from: w.from,
      classPixels: w.n,
      ignoredPixels: patches[k].mask.reduce((s, v) => s + (v === LABEL_IGNORE ? 1 : 0), 0),
    })),
    nuclei: counts,
  };
}
