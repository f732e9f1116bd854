import type { StainCanvas } from './canvas.js';
import { coarseField } from './coarse-field.js';
import { clamp01, SALT_STROMA_TEXTURE, smoothstep, type TissueFields } from './fields.js';
import type { Fibre, Gland, Nucleus, Vessel } from './objects.js';
import { glandReach } from './objects.js';
import { valueNoise } from './random.js';
import { CLASS_EPITHELIAL, CLASS_LYMPHOCYTE, CLASS_PLASMA } from './spec.js';

// Pixel centres are sampled at (x + 0.5, y + 0.5) in absolute level-0 coordinates.

/** Ground substance and tissue opacity for every pixel. */
export function paintStroma(c: StainCanvas, f: TissueFields): void {
  const grain = 1 / (2.5 * f.pxPerUm);
  const salt = f.salt(SALT_STROMA_TEXTURE);
  // Both fields vary over tens of microns or more; the outline stays per pixel (it can be sharp).
  const densities = coarseField(c, 16, (x, y) => f.stromaDensity(x, y));
  const holes = coarseField(c, 4, (x, y) => f.holeField(x, y));
  for (let j = 0; j < c.height; j++) {
    const y = c.y + j + 0.5;
    for (let i = 0; i < c.width; i++) {
      const x = c.x + i + 0.5;
      const k = j * c.width + i;
      const density = densities[k];
      const texture = valueNoise(salt, x * grain, y * grain);
      c.tissue[k] = f.outline(x, y) * f.solid(holes[k]);
      c.h[k] = 0.06 + 0.04 * texture;
      c.e[k] = (0.12 + 0.3 * density) * (0.7 + 0.6 * texture);
    }
  }
}

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? clamp01(((px - ax) * dx + (py - ay) * dy) / len2) : 0;
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/** A collagen strand with a rounded profile; crossing strands combine by max, so joints leave no beads. */
export function paintFibre(c: StainCanvas, fibre: Fibre): void {
  const p = fibre.points;
  const soft = fibre.halfWidth + 0.7;
  for (let s = 0; s + 3 < p.length; s += 2) {
    const ax = p[s];
    const ay = p[s + 1];
    const bx = p[s + 2];
    const by = p[s + 3];
    const box = c.clip((ax + bx) / 2, (ay + by) / 2, Math.hypot(bx - ax, by - ay) / 2 + soft + 1);
    if (!box) continue;
    const [x0, y0, x1, y1] = box;
    for (let j = y0; j < y1; j++) {
      for (let i = x0; i < x1; i++) {
        const d = distanceToSegment(c.x + i + 0.5, c.y + j + 0.5, ax, ay, bx, by);
        if (d >= soft) continue;
        const q = d / soft;
        const v = fibre.amount * (1 - q * q);
        const k = j * c.width + i;
        if (v > c.fibre[k]) c.fibre[k] = v;
      }
    }
  }
}

/** Epithelial cytoplasm ring, brush border and a pale lumen. */
export function paintGland(c: StainCanvas, g: Gland, f: TissueFields): void {
  const box = c.clip(g.x, g.y, glandReach(g));
  if (!box) return;
  const [x0, y0, x1, y1] = box;
  const cos = Math.cos(g.angle);
  const sin = Math.sin(g.angle);
  const outer = g.lumen + g.thickness;
  const wobbleScale = 1 / (6 * f.pxPerUm);
  const grain = 1 / (1.5 * f.pxPerUm);
  const border = 1.5 * f.pxPerUm;
  for (let j = y0; j < y1; j++) {
    const y = c.y + j + 0.5;
    for (let i = x0; i < x1; i++) {
      const x = c.x + i + 0.5;
      const dx = x - g.x;
      const dy = y - g.y;
      const u = (dx * cos + dy * sin) / (1 + g.stretch);
      const v = (-dx * sin + dy * cos) / (1 - g.stretch);
      let rho = Math.sqrt(u * u + v * v);
      if (rho > outer * 1.1 + 3) continue;
      rho *= 1 + 0.1 * (valueNoise(g.salt, x * wobbleScale, y * wobbleScale) - 0.5);
      const k = j * c.width + i;
      const epithelium = clamp01(outer - rho + 0.5);
      if (epithelium > 0) {
        const t = valueNoise(g.salt + 1, x * grain, y * grain);
        const apical = 1 - smoothstep(0, border, rho - g.lumen);
        c.cover(k, epithelium, 0.13 + 0.06 * t, 0.26 + 0.12 * t + 0.14 * apical);
      }
      const lumen = clamp01((g.lumen - rho) / 1.5 + 0.5);
      if (lumen > 0) {
        const mucus = valueNoise(g.salt + 2, x * grain * 0.4, y * grain * 0.4);
        c.cover(k, lumen, 0.01, 0.02 + 0.12 * mucus * mucus);
      }
    }
  }
}

/** Vessel wall, pale lumen, then red cells with a paler centre (biconcave discs). */
export function paintVessel(c: StainCanvas, ves: Vessel): void {
  const outer = ves.radius + ves.wall;
  const box = c.clip(ves.x, ves.y, outer * (1 + ves.stretch) + 2);
  if (!box) return;
  const [x0, y0, x1, y1] = box;
  const cos = Math.cos(ves.angle);
  const sin = Math.sin(ves.angle);
  const cells = ves.redCells;
  for (let j = y0; j < y1; j++) {
    const y = c.y + j + 0.5;
    for (let i = x0; i < x1; i++) {
      const x = c.x + i + 0.5;
      const dx = x - ves.x;
      const dy = y - ves.y;
      const u = (dx * cos + dy * sin) / (1 + ves.stretch);
      const v = (-dx * sin + dy * cos) / (1 - ves.stretch);
      const rho = Math.sqrt(u * u + v * v);
      const k = j * c.width + i;
      const wall = clamp01(outer - rho + 0.5);
      if (wall <= 0) continue;
      c.cover(k, wall, 0.1, 0.42);
      const lumen = clamp01(ves.radius - rho + 0.5);
      if (lumen > 0) c.cover(k, lumen, 0.01, 0.06);
      for (let s = 0; s < cells.length; s += 3) {
        const d = Math.hypot(x - cells[s], y - cells[s + 1]) / cells[s + 2];
        if (d >= 1.15) continue;
        const cover = clamp01((1 - d) * cells[s + 2] * 0.8 + 0.5);
        c.cover(k, cover, 0.02, 0.25, 0.9 - 0.3 * (1 - smoothstep(0, 0.6, d)));
      }
    }
  }
}

function paintCytoplasm(c: StainCanvas, n: Nucleus): void {
  const cyto = n.cytoplasm;
  if (!cyto) return;
  const box = c.clip(cyto.x, cyto.y, cyto.a + 2);
  if (!box) return;
  const [x0, y0, x1, y1] = box;
  const cos = Math.cos(cyto.angle);
  const sin = Math.sin(cyto.angle);
  // The pale Golgi "hof" sits next to the nucleus on the cytoplasm side.
  const hofX = n.x + (cyto.x - n.x) * 1.25;
  const hofY = n.y + (cyto.y - n.y) * 1.25;
  const hofR = n.a * 0.55;
  for (let j = y0; j < y1; j++) {
    const y = c.y + j + 0.5;
    for (let i = x0; i < x1; i++) {
      const x = c.x + i + 0.5;
      const dx = x - cyto.x;
      const dy = y - cyto.y;
      const u = (dx * cos + dy * sin) / cyto.a;
      const v = (-dx * sin + dy * cos) / cyto.b;
      const d = Math.sqrt(u * u + v * v);
      const alpha = clamp01((1 - d) * cyto.b * 0.8 + 0.5);
      if (alpha <= 0) continue;
      const hof = 1 - 0.45 * clamp01(1 - Math.hypot(x - hofX, y - hofY) / hofR);
      const k = j * c.width + i;
      c.cover(k, alpha, cyto.h * hof, cyto.e * hof);
      // Cytoplasm painted over a neighbour's nucleus hides it, so it is no longer labelled.
      if (alpha > 0.5) c.labels[k] = 0;
    }
  }
}

/**
 * A nucleus with class-specific chromatin. Classes overlap in mean colour on purpose:
 * epithelial nuclei are pale inside but have a dark rim and nucleoli, lymphocytes are
 * dense, spindle nuclei thin, plasma cells show a clock-face pattern.
 */
export function paintNucleus(c: StainCanvas, n: Nucleus, f: TissueFields): void {
  paintCytoplasm(c, n);
  const box = c.clip(n.x, n.y, n.a * 1.3 + 2);
  if (!box) return;
  const [x0, y0, x1, y1] = box;
  const cos = Math.cos(n.angle);
  const sin = Math.sin(n.angle);
  const edge = Math.min(n.a, n.b) / 0.9;
  const wobbleScale = 1 / (2.5 * f.pxPerUm);
  const grain = 1 / (0.9 * f.pxPerUm);
  const spots = n.spots;
  for (let j = y0; j < y1; j++) {
    const y = c.y + j + 0.5;
    for (let i = x0; i < x1; i++) {
      const x = c.x + i + 0.5;
      const dx = x - n.x;
      const dy = y - n.y;
      const u = dx * cos + dy * sin;
      const v = -dx * sin + dy * cos - (n.bend * u * u) / n.a;
      const un = u / n.a;
      const vn = v / n.b;
      let d = Math.sqrt(un * un + vn * vn);
      if (d > 1.3) continue;
      d += 0.14 * (valueNoise(n.salt, x * wobbleScale, y * wobbleScale) - 0.5);
      const alpha = clamp01((1 - d) * edge + 0.5);
      if (alpha <= 0) continue;
      const tex = valueNoise(n.salt + 1, x * grain, y * grain);
      const rim = smoothstep(0.7, 0.98, d);
      let spot = 0;
      for (let s = 0; s < spots.length; s += 3) {
        const su = u - spots[s];
        const sv = v - spots[s + 1];
        const r = spots[s + 2];
        const q = 1 - (su * su + sv * sv) / (r * r);
        if (q > spot) spot = q;
      }
      let h: number;
      if (n.cls === CLASS_EPITHELIAL) {
        // Vesicular: clear nucleoplasm, chromatin along the membrane, a few clumps.
        h = 0.36 + 0.55 * rim + 0.9 * Math.max(0, tex - 0.58) + 0.75 * spot;
      } else if (n.cls === CLASS_LYMPHOCYTE) {
        h = 0.8 + 0.35 * tex + 0.1 * rim;
      } else if (n.cls === CLASS_PLASMA) {
        h = 0.42 + 0.25 * rim + 0.7 * spot + 0.15 * tex;
      } else {
        h = 0.72 + 0.4 * tex + 0.1 * rim;
      }
      const k = j * c.width + i;
      c.cover(k, alpha, h * n.density, n.eosin);
      if (d < 1) c.labels[k] = n.cls;
    }
  }
}
