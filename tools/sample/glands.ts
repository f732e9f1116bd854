import type { TissueFields } from './fields.js';
import { smoothstep } from './fields.js';
import { cellsAround, glandReach, type Gland, type Nucleus } from './objects.js';
import { hash3, Rng } from './random.js';
import { CLASS_EPITHELIAL } from './spec.js';

const LAYER_GLANDS = 101;
const LAYER_EPITHELIUM = 102;

/** How far epithelial nuclei can reach beyond their gland's outline, in microns. */
export const NUCLEUS_OVERHANG_UM = 12;

interface Candidate {
  gland: Gland;
  priority: number;
}

/**
 * Glands as a hard-core process on a jittered grid: each grid cell may hold a candidate,
 * and a candidate survives only if no overlapping neighbour candidate has a higher
 * priority. The rule looks at candidates, never at other survivors, so the answer for a
 * cell never depends on which region is being rendered.
 */
export class GlandLayout {
  readonly cell: number;
  readonly maxReach: number;
  private readonly candidates = new Map<string, Candidate | null>();
  private readonly accepted = new Map<string, Gland | null>();

  constructor(private readonly fields: TissueFields) {
    const um = fields.pxPerUm;
    this.cell = 110 * um;
    // The largest gland plus the epithelial nuclei that may poke out of its outline.
    this.maxReach = (32 + 20) * um * 1.45 * 1.06 + 2 + NUCLEUS_OVERHANG_UM * um;
  }

  private candidate(cx: number, cy: number): Candidate | null {
    const key = `${cx},${cy}`;
    let c = this.candidates.get(key);
    if (c !== undefined) return c;
    c = null;
    const um = this.fields.pxPerUm;
    const rng = new Rng(hash3(this.fields.spec.seed ^ LAYER_GLANDS, cx, cy));
    const x = (cx + rng.next()) * this.cell;
    const y = (cy + rng.next()) * this.cell;
    const chance = 0.95 * smoothstep(0.42, 0.62, this.fields.glandZone(x, y));
    if (rng.next() < chance && this.fields.tissue(x, y) > 0.5) {
      const gland: Gland = {
        x,
        y,
        lumen: rng.range(8, 32) * um,
        thickness: rng.range(15, 20) * um,
        stretch: rng.range(0, 0.45),
        angle: rng.range(0, Math.PI),
        salt: rng.int(0, 0x7fffffff),
      };
      c = { gland, priority: rng.next() };
    }
    this.candidates.set(key, c);
    return c;
  }

  /** The surviving gland of a grid cell, if any. */
  glandOfCell(cx: number, cy: number): Gland | null {
    const key = `${cx},${cy}`;
    const known = this.accepted.get(key);
    if (known !== undefined) return known;
    const mine = this.candidate(cx, cy);
    let result: Gland | null = mine ? mine.gland : null;
    if (mine) {
      const r = glandReach(mine.gland);
      const span = Math.ceil((2 * this.maxReach) / this.cell);
      for (let dy = -span; dy <= span && result; dy++) {
        for (let dx = -span; dx <= span; dx++) {
          if (dx === 0 && dy === 0) continue;
          const other = this.candidate(cx + dx, cy + dy);
          if (!other || other.priority < mine.priority) continue;
          const gap = 4 * this.fields.pxPerUm;
          const dist = Math.hypot(other.gland.x - mine.gland.x, other.gland.y - mine.gland.y);
          if (dist < r + glandReach(other.gland) + gap) {
            result = null;
            break;
          }
        }
      }
    }
    this.accepted.set(key, result);
    return result;
  }

  /** Glands that may touch the rectangle, in global drawing order. */
  glandsIn(x0: number, y0: number, x1: number, y1: number): Gland[] {
    const out: Gland[] = [];
    for (const [cx, cy] of cellsAround(x0, y0, x1, y1, this.cell, this.maxReach)) {
      const g = this.glandOfCell(cx, cy);
      if (g) out.push(g);
    }
    return out;
  }

  /** Whether a disc of radius `margin` around (x, y) touches any gland. */
  touchesGland(x: number, y: number, margin: number): boolean {
    for (const g of this.glandsIn(x, y, x + 1, y + 1)) {
      if (Math.hypot(g.x - x, g.y - y) < glandReach(g) + margin) return true;
    }
    return false;
  }

  /**
   * The epithelial nuclei of a gland: one crowded row around the lumen, long axes
   * pointing away from it, as in columnar epithelium.
   */
  epithelialNuclei(g: Gland): Nucleus[] {
    const um = this.fields.pxPerUm;
    const rng = new Rng(hash3(this.fields.spec.seed ^ LAYER_EPITHELIUM, g.salt, 7));
    const ringRadius = g.lumen + g.thickness * rng.range(0.45, 0.55);
    const spacing = rng.range(8.5, 10.5) * um;
    const meanRadius = ringRadius * (1 + (g.stretch * g.stretch) / 4);
    const count = Math.max(6, Math.round((2 * Math.PI * meanRadius) / spacing));
    const start = rng.range(0, 2 * Math.PI);
    const cos = Math.cos(g.angle);
    const sin = Math.sin(g.angle);
    const out: Nucleus[] = [];
    for (let k = 0; k < count; k++) {
      const t = start + ((k + rng.range(-0.15, 0.15)) / count) * 2 * Math.PI;
      const r = ringRadius + rng.normal(0, 1.2 * um);
      const u = r * (1 + g.stretch) * Math.cos(t);
      const v = r * (1 - g.stretch) * Math.sin(t);
      const x = g.x + u * cos - v * sin;
      const y = g.y + u * sin + v * cos;
      if (this.fields.tissue(x, y) < 0.5) continue;
      // The ellipse normal, so nuclei stand perpendicular to the basement membrane.
      const nu = Math.cos(t) / (1 + g.stretch);
      const nv = Math.sin(t) / (1 - g.stretch);
      const angle = Math.atan2(nu * sin + nv * cos, nu * cos - nv * sin) + rng.normal(0, 0.12);
      const a = rng.normal(6.5, 0.6) * um;
      const b = rng.normal(4.5, 0.4) * um;
      const spots: number[] = [];
      const nucleoli = rng.int(1, 2);
      for (let i = 0; i < nucleoli; i++) {
        spots.push(rng.range(-0.4, 0.4) * a, rng.range(-0.35, 0.35) * b, rng.range(0.7, 1.1) * um);
      }
      out.push({
        cls: CLASS_EPITHELIAL,
        x,
        y,
        a,
        b,
        angle,
        bend: 0,
        density: rng.range(0.95, 1.5),
        eosin: rng.range(0.05, 0.3),
        salt: rng.int(0, 0x7fffffff),
        spots,
        cytoplasm: null,
      });
    }
    return out;
  }
}
