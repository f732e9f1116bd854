import type { TissueFields } from './fields.js';
import { smoothstep } from './fields.js';
import type { GlandLayout } from './glands.js';
import type { Fibre } from './objects.js';
import { hash3, Rng } from './random.js';

const LAYER_FIBRES = 301;

/**
 * Collagen fibres: short wavy strands traced along the local fibre direction from a
 * random start in each grid cell. Drawing them as strands (rather than anisotropic
 * noise) keeps them coherent where the direction field turns.
 */
export class FibreLayout {
  readonly cell: number;
  readonly maxReach: number;

  constructor(
    private readonly fields: TissueFields,
    private readonly glands: GlandLayout,
  ) {
    const um = fields.pxPerUm;
    this.cell = 24 * um;
    this.maxReach = 55 * um;
  }

  fibresOfCell(cx: number, cy: number): Fibre[] {
    const f = this.fields;
    const um = f.pxPerUm;
    const rng = new Rng(hash3(f.spec.seed ^ LAYER_FIBRES, cx, cy));
    const centreX = (cx + 0.5) * this.cell;
    const centreY = (cy + 0.5) * this.cell;
    const crowded = smoothstep(0.6, 0.9, f.inflammation(centreX, centreY));
    const count = rng.poisson(2.4 * (1 - 0.6 * crowded) * (0.5 + f.stromaDensity(centreX, centreY)));
    const out: Fibre[] = [];
    for (let i = 0; i < count; i++) {
      const x = (cx + rng.next()) * this.cell;
      const y = (cy + rng.next()) * this.cell;
      const halfLength = rng.range(18, 50) * um;
      const halfWidth = rng.range(0.6, 1.8) * um;
      const amount = rng.range(0.1, 0.28);
      const phase = rng.range(0, 2 * Math.PI);
      const wave = rng.range(5, 9) * um;
      if (f.tissue(x, y) < 0.5 || this.glands.touchesGland(x, y, 0)) continue;
      out.push({ points: this.trace(x, y, halfLength, phase, wave), halfWidth, amount });
    }
    return out;
  }

  /** Follows the direction field both ways from the start; steps are a few microns. */
  private trace(x: number, y: number, halfLength: number, phase: number, wave: number): number[] {
    const step = 4 * this.fields.pxPerUm;
    const steps = Math.max(1, Math.round(halfLength / step));
    const forward: number[] = [];
    const backward: number[] = [];
    for (const [sign, list] of [
      [1, forward],
      [-1, backward],
    ] as const) {
      let px = x;
      let py = y;
      for (let s = 1; s <= steps; s++) {
        const t = this.fields.fibreAngle(px, py) + 0.25 * Math.sin((sign * s * step) / wave + phase);
        px += sign * step * Math.cos(t);
        py += sign * step * Math.sin(t);
        list.push(px, py);
      }
    }
    const points: number[] = [];
    for (let i = backward.length - 2; i >= 0; i -= 2) points.push(backward[i], backward[i + 1]);
    points.push(x, y, ...forward);
    return points;
  }
}
