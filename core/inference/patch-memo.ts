import type { Rect } from './patch-grid.js';

/**
 * Probabilities of patches already evaluated, least recently used dropped first, bounded in
 * bytes. Neighbouring output tiles share their margin patches (33 of the 121 patches of a 512²
 * tile are also its left neighbour's), so remembering them cuts the overlap cost without
 * changing a single value: a patch's probabilities depend only on its pixels and the model.
 * The owner clears it whenever the model changes.
 */
export class PatchMemo {
  private readonly entries = new Map<string, Float32Array>();
  private used = 0;

  constructor(readonly maxBytes: number) {}

  private static key(scope: string, patch: Rect): string {
    return `${scope}|${patch.x},${patch.y},${patch.width},${patch.height}`;
  }

  get(scope: string, patch: Rect): Float32Array | undefined {
    const key = PatchMemo.key(scope, patch);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(scope: string, patch: Rect, probabilities: Float32Array): void {
    if (probabilities.byteLength > this.maxBytes) return;
    const key = PatchMemo.key(scope, patch);
    const old = this.entries.get(key);
    if (old) this.used -= old.byteLength;
    this.entries.delete(key);
    this.entries.set(key, probabilities);
    this.used += probabilities.byteLength;
    for (const [k, v] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(k);
      this.used -= v.byteLength;
    }
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }

  get bytes(): number {
    return this.used;
  }
}
