/**
 * Stain densities for a rectangle of level-0 pixels. Everything is painted as optical
 * densities of haematoxylin (h) and eosin (e) and only turned into RGB at the end,
 * which is what makes overlapping structures and stain variation look like H&E.
 */
export class StainCanvas {
  readonly h: Float32Array;
  readonly e: Float32Array;
  /** Collagen, kept apart so that overlapping strands combine by max, not by sum. */
  readonly fibre: Float32Array;
  /** Haemoglobin of red cells: more orange than eosin-stained protein. */
  readonly blood: Float32Array;
  readonly tissue: Float32Array;
  readonly labels: Uint8Array;

  constructor(
    readonly x: number,
    readonly y: number,
    readonly width: number,
    readonly height: number,
  ) {
    const n = width * height;
    this.h = new Float32Array(n);
    this.e = new Float32Array(n);
    this.fibre = new Float32Array(n);
    this.blood = new Float32Array(n);
    this.tissue = new Float32Array(n);
    this.labels = new Uint8Array(n);
  }

  /** Paints an opaque-ish layer with coverage alpha over pixel i. */
  cover(i: number, alpha: number, h: number, e: number, blood = 0): void {
    this.h[i] += alpha * (h - this.h[i]);
    this.e[i] += alpha * (e - this.e[i]);
    this.blood[i] += alpha * (blood - this.blood[i]);
    this.fibre[i] *= 1 - alpha;
  }

  /** Clipped pixel bounds [x0, x1) × [y0, y1) of a box around (cx, cy), in canvas coordinates. */
  clip(cx: number, cy: number, radius: number): [number, number, number, number] | null {
    const x0 = Math.max(0, Math.floor(cx - radius) - this.x);
    const y0 = Math.max(0, Math.floor(cy - radius) - this.y);
    const x1 = Math.min(this.width, Math.ceil(cx + radius) + 1 - this.x);
    const y1 = Math.min(this.height, Math.ceil(cy + radius) + 1 - this.y);
    return x0 < x1 && y0 < y1 ? [x0, y0, x1, y1] : null;
  }
}
