import type { TissueFields } from './fields.js';
import { smoothstep } from './fields.js';
import type { GlandLayout } from './glands.js';
import type { VesselLayout } from './vessels.js';
import type { Nucleus } from './objects.js';
import { hash3, Rng } from './random.js';
import { CLASS_LYMPHOCYTE, CLASS_PLASMA, CLASS_SPINDLE } from './spec.js';

const LAYER_STROMA_CELLS = 201;

/**
 * Nuclei that live in the stroma: spindle cells everywhere, lymphocytes crowding in
 * aggregates, plasma cells around them. Each grid cell draws its own nuclei from a
 * per-cell generator, so the layout of a cell never depends on the rendered region.
 */
export class StromaCells {
  readonly cell: number;
  /** Farthest a nucleus (with its cytoplasm) can reach beyond its cell. */
  readonly maxReach: number;

  constructor(
    private readonly fields: TissueFields,
    private readonly glands: GlandLayout,
    private readonly vessels: VesselLayout,
  ) {
    const um = fields.pxPerUm;
    this.cell = 32 * um;
    // Longest spindle: semi-axis 7.5 + 3 × 1.2 µm, painted out to 1.3 semi-axes.
    this.maxReach = 16 * um;
  }

  nucleiOfCell(cx: number, cy: number): Nucleus[] {
    const f = this.fields;
    const um = f.pxPerUm;
    const rng = new Rng(hash3(f.spec.seed ^ LAYER_STROMA_CELLS, cx, cy));
    const centreX = (cx + 0.5) * this.cell;
    const centreY = (cy + 0.5) * this.cell;
    const inflamed = f.inflammation(centreX, centreY);
    const aggregate = smoothstep(0.6, 0.9, inflamed);
    const plasmaZone = smoothstep(0.35, 0.6, inflamed) * (1 - smoothstep(0.8, 0.95, inflamed));
    const kinds: number[] = [];
    const counts: [number, number][] = [
      [CLASS_SPINDLE, rng.poisson(1.5 * (1 - 0.7 * aggregate))],
      [CLASS_LYMPHOCYTE, rng.poisson(0.25 + 11 * aggregate)],
      [CLASS_PLASMA, rng.poisson(0.2 + 2.2 * plasmaZone)],
    ];
    for (const [cls, n] of counts) for (let i = 0; i < n; i++) kinds.push(cls);

    const out: Nucleus[] = [];
    for (const cls of kinds) {
      const nucleus = this.makeNucleus(cls, rng);
      // Dart throwing inside the cell keeps nuclei from piling onto each other.
      const radius = cls === CLASS_PLASMA ? 5 * um : Math.max(nucleus.a, nucleus.b);
      let placed = false;
      for (let attempt = 0; attempt < 8 && !placed; attempt++) {
        const x = (cx + rng.next()) * this.cell;
        const y = (cy + rng.next()) * this.cell;
        if (f.tissue(x, y) < 0.5 || this.glands.touchesGland(x, y, radius) || this.vessels.touchesVessel(x, y, radius))
          continue;
        if (out.some((o) => Math.hypot(o.x - x, o.y - y) < radius + Math.max(o.a, o.b) + 0.5 * um)) continue;
        nucleus.x = x;
        nucleus.y = y;
        placed = true;
      }
      if (!placed) continue;
      if (cls === CLASS_SPINDLE) nucleus.angle = f.fibreAngle(nucleus.x, nucleus.y) + rng.normal(0, 0.12);
      if (nucleus.cytoplasm) {
        // The nucleus sits eccentrically: the cytoplasm centre is pushed to one side.
        const dir = rng.range(0, 2 * Math.PI);
        const offset = rng.range(1.8, 2.6) * um;
        nucleus.cytoplasm.x = nucleus.x + offset * Math.cos(dir);
        nucleus.cytoplasm.y = nucleus.y + offset * Math.sin(dir);
        nucleus.cytoplasm.angle = dir;
      }
      out.push(nucleus);
    }
    return out;
  }

  private makeNucleus(cls: number, rng: Rng): Nucleus {
    const um = this.fields.pxPerUm;
    const base: Nucleus = {
      cls,
      x: 0,
      y: 0,
      a: 0,
      b: 0,
      angle: rng.range(0, Math.PI),
      bend: 0,
      density: 1,
      eosin: rng.range(0.05, 0.3),
      salt: rng.int(0, 0x7fffffff),
      spots: [],
      cytoplasm: null,
    };
    if (cls === CLASS_SPINDLE) {
      base.a = rng.normal(7.5, 1.2) * um;
      base.b = rng.normal(1.6, 0.25) * um;
      base.bend = rng.normal(0, 0.15);
      base.density = rng.range(0.8, 1.35);
    } else if (cls === CLASS_LYMPHOCYTE) {
      const r = rng.normal(3.3, 0.25) * um;
      const squash = rng.range(0, 0.1);
      base.a = r * (1 + squash);
      base.b = r * (1 - squash);
      base.density = rng.range(0.9, 1.4);
    } else {
      const r = rng.normal(3.0, 0.25) * um;
      base.a = r * 1.05;
      base.b = r * 0.95;
      base.density = rng.range(0.85, 1.3);
      // Clock-face chromatin: a ring of coarse clumps and one in the middle.
      const n = rng.int(6, 8);
      const turn = rng.range(0, 2 * Math.PI);
      for (let i = 0; i < n; i++) {
        const t = turn + (i / n) * 2 * Math.PI;
        base.spots.push(0.62 * base.a * Math.cos(t), 0.62 * base.b * Math.sin(t), 0.24 * r);
      }
      base.spots.push(0, 0, 0.26 * r);
      base.cytoplasm = {
        x: 0,
        y: 0,
        a: rng.normal(5.6, 0.4) * um,
        b: rng.normal(4.4, 0.3) * um,
        angle: 0,
        h: rng.range(0.3, 0.45),
        e: rng.range(0.3, 0.5),
      };
    }
    return base;
  }
}
