import { ByteLru } from '../cache/byte-lru.js';
import { patchKey } from './keys.js';
import type { Rect } from '../math/rect.js';

/**
 * Probabilities of patches already evaluated, least recently used dropped first, bounded in
 * bytes. Neighbouring output tiles share their margin patches (33 of the 121 patches of a 512²
 * tile are also its left neighbour's), so remembering them cuts the overlap cost without
 * changing a single value: a patch's probabilities depend only on its pixels and the model.
 * The owner clears it whenever the model changes.
 */
export class PatchMemo {
  private readonly entries: ByteLru<string, Float32Array>;

  constructor(readonly maxBytes: number) {
    this.entries = new ByteLru(maxBytes, (p) => p.byteLength);
  }

  get(scope: string, patch: Rect): Float32Array | undefined {
    return this.entries.get(patchKey(scope, patch));
  }

  set(scope: string, patch: Rect, probabilities: Float32Array): void {
    this.entries.set(patchKey(scope, patch), probabilities);
  }

  clear(): void {
    this.entries.clear();
  }

  get bytes(): number {
    return this.entries.bytes;
  }
}
