import { StainCanvas } from './canvas.js';
import { TissueFields } from './fields.js';
import { FibreLayout } from './fibres.js';
import { GlandLayout, NUCLEUS_OVERHANG_UM } from './glands.js';
import { cellsAround, glandReach } from './objects.js';
import { paintFibre, paintGland, paintNucleus, paintStroma, paintVessel } from './paint.js';
import type { SlideSpec } from './spec.js';
import { stainToRgb } from './stain.js';
import { StromaCells } from './stroma-cells.js';
import { VesselLayout } from './vessels.js';

export interface RenderedRegion {
  /** Interleaved RGB, width × height × 3. */
  rgb: Uint8Array;
  /** 0 = background, 1..4 = nucleus class ids. */
  labels: Uint8Array;
}

/** Pixels of context rendered around the region so the final blur is crop-exact. */
const BLUR_MARGIN = 2;

/** Wide regions are rendered in column chunks: the float buffers cost ~60 bytes per pixel. */
const CHUNK_WIDTH = 512;

/**
 * Renders level-0 pixels [x, x + width) × [y, y + height) of the synthetic slide.
 * Every object comes from a per-cell generator and every texture is a function of
 * absolute coordinates, so the result equals the same crop of a whole-slide render.
 */
export function renderRegion(spec: SlideSpec, x: number, y: number, width: number, height: number): RenderedRegion {
  if (width <= CHUNK_WIDTH) return renderChunk(spec, x, y, width, height);
  const rgb = new Uint8Array(width * height * 3);
  const labels = new Uint8Array(width * height);
  for (let x0 = 0; x0 < width; x0 += CHUNK_WIDTH) {
    const w = Math.min(CHUNK_WIDTH, width - x0);
    const chunk = renderChunk(spec, x + x0, y, w, height);
    for (let j = 0; j < height; j++) {
      rgb.set(chunk.rgb.subarray(j * w * 3, (j + 1) * w * 3), (j * width + x0) * 3);
      labels.set(chunk.labels.subarray(j * w, (j + 1) * w), j * width + x0);
    }
  }
  return { rgb, labels };
}

function renderChunk(spec: SlideSpec, x: number, y: number, width: number, height: number): RenderedRegion {
  const m = BLUR_MARGIN;
  const c = new StainCanvas(x - m, y - m, width + 2 * m, height + 2 * m);
  const fields = new TissueFields(spec);
  const glands = new GlandLayout(fields);
  const vessels = new VesselLayout(fields, glands);
  const stroma = new StromaCells(fields, glands, vessels);
  const fibres = new FibreLayout(fields, glands);
  const x1 = c.x + c.width;
  const y1 = c.y + c.height;

  paintStroma(c, fields);
  for (const [cx, cy] of cellsAround(c.x, c.y, x1, y1, fibres.cell, fibres.maxReach)) {
    for (const fibre of fibres.fibresOfCell(cx, cy)) paintFibre(c, fibre);
  }
  const glandList = glands.glandsIn(c.x, c.y, x1, y1);
  for (const g of glandList) paintGland(c, g, fields);
  for (const v of vessels.vesselsIn(c.x, c.y, x1, y1)) paintVessel(c, v);
  for (const g of glandList) {
    if (!c.clip(g.x, g.y, glandReach(g) + NUCLEUS_OVERHANG_UM * fields.pxPerUm)) continue;
    for (const n of glands.epithelialNuclei(g)) paintNucleus(c, n, fields);
  }
  for (const [cx, cy] of cellsAround(c.x, c.y, x1, y1, stroma.cell, stroma.maxReach)) {
    for (const n of stroma.nucleiOfCell(cx, cy)) paintNucleus(c, n, fields);
  }
  for (let k = 0; k < c.labels.length; k++) if (c.tissue[k] < 0.5) c.labels[k] = 0;

  return blurAndCrop(stainToRgb(c, fields), c, m);
}

/** A slight [1 4 6 4 1]² / 256 blur (σ ≈ 1 px), like a scanner's optics, then rounding to bytes. */
function blurAndCrop(rgb: Float32Array, c: StainCanvas, m: number): RenderedRegion {
  const w = c.width;
  const outW = w - 2 * m;
  const outH = c.height - 2 * m;
  const rows = new Float32Array(outW * c.height * 3);
  for (let j = 0; j < c.height; j++) {
    for (let i = 0; i < outW; i++) {
      const src = (j * w + i + m) * 3;
      const dst = (j * outW + i) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const s = src + ch;
        rows[dst + ch] = (rgb[s - 6] + 4 * rgb[s - 3] + 6 * rgb[s] + 4 * rgb[s + 3] + rgb[s + 6]) / 16;
      }
    }
  }
  const out = new Uint8Array(outW * outH * 3);
  const labels = new Uint8Array(outW * outH);
  for (let j = 0; j < outH; j++) {
    for (let i = 0; i < outW; i++) {
      const src = ((j + m) * outW + i) * 3;
      const dst = (j * outW + i) * 3;
      const stride = outW * 3;
      for (let ch = 0; ch < 3; ch++) {
        const s = src + ch;
        const v =
          (rows[s - 2 * stride] + 4 * rows[s - stride] + 6 * rows[s] + 4 * rows[s + stride] + rows[s + 2 * stride]) /
          16;
        out[dst + ch] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
      }
      labels[j * outW + i] = c.labels[(j + m) * w + i + m];
    }
  }
  return { rgb: out, labels };
}
