import type { Rect } from '../math/rect.js';

/**
 * Averages overlapping patch probabilities over an output rectangle: per pixel, the sum of the
 * probabilities of every patch covering it divided by how many there are. Sums are float64 so
 * that sixteen overlapping float32 values add without visible rounding; whoever adds the same
 * patches in the same order gets bit-identical output, which is what makes a tile computed alone
 * equal the same pixels of a larger region.
 */
export class Stitcher {
  readonly rect: Rect;
  private readonly sum: Float64Array;
  private readonly count: Uint16Array;

  constructor(rect: Rect) {
    this.rect = rect;
    this.sum = new Float64Array(rect.width * rect.height);
    this.count = new Uint16Array(rect.width * rect.height);
  }

  /**
   * Adds one patch's probabilities (patch.width × patch.height, row-major); the part outside the rectangle is
   * ignored.
   */
  add(patch: Rect, probabilities: ArrayLike<number>): void {
    if (probabilities.length !== patch.width * patch.height) {
      throw new RangeError(
        `a ${patch.width}×${patch.height} patch has ${patch.width * patch.height} probabilities, ` +
          `got ${probabilities.length}`,
      );
    }
    const r = this.rect;
    const x0 = Math.max(patch.x, r.x),
      x1 = Math.min(patch.x + patch.width, r.x + r.width);
    const y0 = Math.max(patch.y, r.y),
      y1 = Math.min(patch.y + patch.height, r.y + r.height);
    for (let y = y0; y < y1; y++) {
      let src = (y - patch.y) * patch.width + (x0 - patch.x);
      let dst = (y - r.y) * r.width + (x0 - r.x);
      for (let x = x0; x < x1; x++, src++, dst++) {
        this.sum[dst] += probabilities[src];
        this.count[dst]++;
      }
    }
  }

  /** The averaged probabilities, row-major; throws if a pixel was covered by no patch. */
  result(): Float32Array {
    const out = new Float32Array(this.sum.length);
    for (let i = 0; i < out.length; i++) {
      const n = this.count[i];
      if (n === 0) {
        const { x, y } = this.rect;
        throw new Error(
          `pixel ${x + (i % this.rect.width)},${y + Math.floor(i / this.rect.width)} was covered by no patch`,
        );
      }
      out[i] = this.sum[i] / n;
    }
    return out;
  }
}
