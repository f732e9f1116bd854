import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteLru } from '../../../core/cache/byte-lru.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

/**
 * The reference: an array of entries, least recently used first, with the rules written out the
 * slow way: a get moves the entry to the end; a set removes the key, refuses a value over the
 * whole budget, appends, then drops entries from the front while the sum is over the budget.
 */
class NaiveLru {
  entries: { key: string; value: string; bytes: number }[] = [];
  constructor(readonly budget: number) {}

  private sum(): number {
    return this.entries.reduce((s, e) => s + e.bytes, 0);
  }

  get(key: string): string | undefined {
    const i = this.entries.findIndex((e) => e.key === key);
    if (i < 0) return undefined;
    const [e] = this.entries.splice(i, 1);
    this.entries.push(e);
    return e.value;
  }

  set(key: string, value: string, bytes: number): boolean {
    this.delete(key);
    if (bytes > this.budget) return false;
    this.entries.push({ key, value, bytes });
    while (this.sum() > this.budget) this.entries.shift();
    return true;
  }

  delete(key: string): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.key !== key);
    return this.entries.length < before;
  }

  trim(bytes: number): void {
    while (this.sum() > bytes) this.entries.shift();
  }

  get bytes(): number {
    return this.sum();
  }
}

// Values are strings whose length is their size, so the cache's sizeOf and the model agree by construction.
const sizeOf = (v: string) => v.length;

test('random operation sequences give what the naive model gives, step by step', () => {
  const random = new SeededRandom(20240611);
  for (let run = 0; run < 200; run++) {
    const budget = [0, 1, 10, 40, 100][random.int(5)];
    const lru = new ByteLru<string, string>(budget, sizeOf);
    const model = new NaiveLru(budget);
    // Few keys, so gets hit, sets replace and evictions happen often.
    const keys = Array.from({ length: 1 + random.int(8) }, (_, i) => `k${i}`);
    for (let step = 0; step < 300; step++) {
      const key = keys[random.int(keys.length)];
      const op = random.int(10);
      const where = `run ${run} (budget ${budget}), step ${step}`;
      if (op < 4) {
        // Sizes up to past the budget: oversized values are part of what is checked.
        const value = `${key}:`.padEnd(random.int(budget + 6), '#');
        assert.equal(lru.set(key, value), model.set(key, value, value.length), `${where}: set`);
      } else if (op < 8) {
        assert.equal(lru.get(key), model.get(key), `${where}: get`);
      } else if (op < 9) {
        assert.equal(lru.delete(key), model.delete(key), `${where}: delete`);
      } else if (random.int(10) === 0) {
        lru.clear();
        model.entries = [];
      } else {
        const bytes = random.int(budget + 1);
        lru.trim(bytes);
        model.trim(bytes);
      }
      assert.deepEqual(
        [...lru.keys()],
        model.entries.map((e) => e.key),
        `${where}: recency order`,
      );
      assert.equal(lru.size, model.entries.length, `${where}: size`);
      assert.equal(lru.bytes, model.bytes, `${where}: bytes`);
      assert.ok(lru.bytes <= budget, `${where}: within the budget`);
      for (const k of keys)
        assert.equal(
          lru.has(k),
          model.entries.some((e) => e.key === k),
          `${where}: has ${k}`,
        );
    }
  }
});

test('get refreshes recency: the entry read survives the eviction of its elder', () => {
  const lru = new ByteLru<string, string>(6, sizeOf);
  lru.set('a', 'aa');
  lru.set('b', 'bb');
  lru.set('c', 'cc');
  assert.equal(lru.get('a'), 'aa');
  lru.set('d', 'dd');
  assert.deepEqual([...lru.keys()], ['c', 'a', 'd'], "'b' was the least recently used");
  assert.equal(lru.bytes, 6);
});

test('a value over the whole budget is refused and takes its key’s older value with it', () => {
  const lru = new ByteLru<string, string>(4, sizeOf);
  lru.set('a', 'aa');
  lru.set('b', 'bb');
  assert.equal(lru.set('a', 'aaaaa'), false);
  assert.deepEqual([...lru.keys()], ['b'], "nothing else was evicted, and no stale 'a' is served");
  assert.equal(lru.bytes, 2);
});

test('sizes are taken when set: a value that grew later frees what was counted for it', () => {
  const lru = new ByteLru<string, { size: number }>(10, (v) => v.size);
  const a = { size: 3 };
  lru.set('a', a);
  lru.set('b', { size: 3 });
  a.size = 100;
  lru.set('c', { size: 4 });
  assert.deepEqual([...lru.keys()], ['a', 'b', 'c'], 'a still counts 3 bytes: 10 in all, within the budget');
  assert.equal(lru.delete('a'), true);
  assert.equal(lru.bytes, 7);
  assert.throws(() => new ByteLru(-1, sizeOf), RangeError);
});
