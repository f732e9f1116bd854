/**
 * A least-recently-used map bounded by bytes: the one cache of the product (finished tiles in the
 * pool, patch probabilities in a worker, decoded image tiles of a slide, coloured mask tiles).
 * A Map keeps insertion order, so re-inserting an entry on use makes its first entries the least
 * recently used, and eviction walks them from the front: every operation is O(1) but eviction,
 * which is O(evicted).
 *
 * An entry's size is taken once, when it is set (a value that changes size later must be set
 * again). An entry larger than the whole budget is not kept: it would evict everything else and
 * then be over the budget alone.
 */
export class ByteLru<K, V> {
  private readonly entries = new Map<K, { readonly value: V; readonly bytes: number }>();
  private used = 0;

  /** `sizeOf`: the bytes a value holds (e.g. a typed array's byteLength). */
  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {
    if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be a non-negative number, got ${maxBytes}`);
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Whether the key is held, without making it more recent. */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  /**
   * Sets the value (the most recently used) and evicts the least recently used entries until the
   * budget holds. Returns false when the value alone is over the budget: then it is not kept, and
   * neither is an older value of the key.
   */
  set(key: K, value: V): boolean {
    this.delete(key);
    const bytes = this.sizeOf(value);
    if (bytes > this.maxBytes) return false;
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    this.trim(this.maxBytes);
    return true;
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.used -= entry.bytes;
    return true;
  }

  /**
   * Evicts least recently used entries until at most `bytes` are held. For an owner whose bound
   * is not fixed (the mask layer keeps at least the tiles of the frame it just drew).
   */
  trim(bytes: number): void {
    for (const [key, entry] of this.entries) {
      if (this.used <= bytes) return;
      this.entries.delete(key);
      this.used -= entry.bytes;
    }
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes held: the sum of the entries' sizes. */
  get bytes(): number {
    return this.used;
  }

  /** Keys from least to most recently used. */
  keys(): IterableIterator<K> {
    return this.entries.keys();
  }
}
