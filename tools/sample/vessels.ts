import type { TissueFields } from './fields.js';
import type { GlandLayout } from './glands.js';
import { cellsAround, type Vessel } from './objects.js';
import { hash3, Rng } from './random.js';

const LAYER_VESSELS = 401;

/**
 * Capillaries and venules cut across: a thin wall around a lumen packed with red cells.
 * Red cells are strongly eosinophilic and unlabelled, a colour distractor next to nuclei.
 */
export class VesselLayout {
  readonly cell: number;
  readonly maxReach: number;
  private readonly cache = new Map<string, Vessel | null>();

  constructor(
    private readonly fields: TissueFields,
    private readonly glands: GlandLayout,
  ) {
    const um = fields.pxPerUm;
    this.cell = 60 * um;
    // (10 µm lumen + 2.2 µm wall) × 1.4 stretch, and a little.
    this.maxReach = 19 * um;
  }

  vesselOfCell(cx: number, cy: number): Vessel | null {
    const key = `${cx},${cy}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const f = this.fields;
    const um = f.pxPerUm;
    const rng = new Rng(hash3(f.spec.seed ^ LAYER_VESSELS, cx, cy));
    const x = (cx + 0.2 + 0.6 * rng.next()) * this.cell;
    const y = (cy + 0.2 + 0.6 * rng.next()) * this.cell;
    const radius = rng.range(3.5, 10) * um;
    const stretch = rng.range(0, 0.4);
    let vessel: Vessel | null = null;
    if (rng.next() < 0.35 && f.tissue(x, y) > 0.5 && !this.glands.touchesGland(x, y, radius * 1.5)) {
      const angle = rng.range(0, Math.PI);
      const cells: number[] = [];
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const n = rng.poisson((radius * radius) / (12 * um * um));
      for (let i = 0; i < n; i++) {
        const t = rng.range(0, 2 * Math.PI);
        const r = Math.sqrt(rng.next()) * Math.max(0, radius - 3 * um);
        const u = r * (1 + stretch) * Math.cos(t);
        const v = r * (1 - stretch) * Math.sin(t);
        cells.push(x + u * cos - v * sin, y + u * sin + v * cos, rng.normal(3.6, 0.25) * um);
      }
      vessel = {
        x,
        y,
        radius,
        stretch,
        angle,
        wall: rng.range(1.2, 2.2) * um,
        salt: rng.int(0, 0x7fffffff),
        redCells: cells,
      };
    }
    this.cache.set(key, vessel);
    return vessel;
  }

  vesselsIn(x0: number, y0: number, x1: number, y1: number): Vessel[] {
    const out: Vessel[] = [];
    for (const [cx, cy] of cellsAround(x0, y0, x1, y1, this.cell, this.maxReach)) {
      const v = this.vesselOfCell(cx, cy);
      if (v) out.push(v);
    }
    return out;
  }

  touchesVessel(x: number, y: number, margin: number): boolean {
    return this.vesselsIn(x, y, x + 1, y + 1).some(
      (v) => Math.hypot(v.x - x, v.y - y) < (v.radius + v.wall) * (1 + v.stretch) + margin,
    );
  }
}
