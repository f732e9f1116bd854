import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionBlock } from '../../../core/inference/block-partition.js';
import { boundsOf } from '../../../core/inference/patch-grid.js';
import { blockReadPixels, growBlock } from '../../../core/inference/tile-block.js';
import { tileAt } from '../../../core/inference/tile-set.js';
import type { Rect } from '../../../core/math/rect.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

const T = 256;
const M = 125;
const MAX_READ = 2.5e6;
const IMAGE = { width: 16 * T, height: 12 * T };
const at = (tx: number, ty: number) => tileAt(IMAGE, T, tx, ty);
const key = (t: Rect) => `${t.x},${t.y}`;
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const grid = (cols: number[], rows: number[]) => rows.flatMap((ty) => cols.map((tx) => at(tx, ty)));

/**
 * The reference: the pool's use of a rule on one view, simulated with time = read pixels. Each
 * job goes to the worker free first, the most urgent queued tile its seed (the first alone).
 * Returns when the last worker is done and the pixels read.
 */
function fill(
  queue: Rect[],
  workers: number,
  rule: (seed: Rect, candidates: Rect[], otherLoads: number[]) => number[],
): { finish: number; read: number } {
  const free = new Array<number>(workers).fill(0);
  let read = 0;
  let first = true;
  while (queue.length > 0) {
    const w = free.indexOf(Math.min(...free));
    const seed = queue.shift()!;
    const others = free.flatMap((f, i) => (i === w ? [] : [Math.max(0, f - free[w])]));
    const joining = first ? [] : rule(seed, queue, others);
    first = false;
    const block = [seed, ...joining.map((i) => queue[i])];
    const gone = new Set(joining);
    queue = queue.filter((_, i) => !gone.has(i));
    const r = blockReadPixels(boundsOf(block), M);
    read += r;
    free[w] += r;
  }
  return { finish: Math.max(...free), read };
}

/** A full-HD view (1920×1080 at 8 px inside the tile grid) as 256² tiles, nearest its centre first. */
function fullHdView(): Rect[] {
  const view = { x: 8, y: 8, width: 1920, height: 1080 };
  const cx = view.x + view.width / 2,
    cy = view.y + view.height / 2;
  const d = (t: Rect) => Math.hypot(t.x + t.width / 2 - cx, t.y + t.height / 2 - cy);
  return grid(range(0, 8), range(0, 5)).sort((a, b) => d(a) - d(b));
}

test('a full-HD view of 256² tiles after its first: two strips of 4×5 tiles, the first tile computed again', () => {
  const [first, seed, ...rest] = fullHdView();
  // The first tile runs alone on the other worker (its read is its load): the seed's strip is the
  // half of the view holding it, the first tile inside it, the other half left for that worker.
  const joining = partitionBlock(seed, rest, { maxReadPixels: MAX_READ, margin: M, otherLoads: [(T + 2 * M) ** 2] });
  const block = [seed, ...joining.map((i) => rest[i])];
  assert.deepEqual(boundsOf(block), { x: 0, y: 0, width: 4 * T, height: 5 * T });
  assert.equal(block.length, 19, 'every tile of the half but the first, which runs alone');
  assert.ok(!block.some((t) => key(t) === key(first)));
  const left = rest.filter((_, i) => !joining.includes(i));
  assert.deepEqual(boundsOf(left), { x: 4 * T, y: 0, width: 4 * T, height: 5 * T });
});

test('a view fills sooner than by greedy growth, and reads fewer pixels, on 1 to 3 workers', () => {
  const part = (seed: Rect, c: Rect[], otherLoads: number[]) =>
    partitionBlock(seed, c, { maxReadPixels: MAX_READ, margin: M, otherLoads });
  const grow = (seed: Rect, c: Rect[], otherLoads: number[]) =>
    growBlock(seed, c, {
      maxTiles: Math.ceil((c.length + 1) / (otherLoads.length + 1)),
      maxReadPixels: MAX_READ,
      margin: M,
    });
  for (const workers of [1, 2, 3]) {
    const a = fill(fullHdView(), workers, part);
    const b = fill(fullHdView(), workers, grow);
    assert.ok(a.finish <= b.finish, `${workers} worker(s): filled at ${a.finish} against ${b.finish} read pixels`);
    assert.ok(a.read <= b.read, `${workers} worker(s): ${a.read} pixels read against ${b.read}`);
  }
  // Two workers: the first tile, then a half each (2 × 1274×1530 read pixels).
  assert.equal(fill(fullHdView(), 2, part).read, (T + 2 * M) ** 2 + 2 * (4 * T + 2 * M) * (5 * T + 2 * M));
});

test('queued tiles around a shown centre (a zoom out) are cut without computing the centre again', () => {
  const ring = grid(range(0, 8), range(0, 8)).filter(
    (t) => !(t.x >= 2 * T && t.x < 6 * T && t.y >= 2 * T && t.y < 6 * T),
  );
  const seed = ring.find((t) => t.x === 2 * T && t.y === T)!;
  const candidates = ring.filter((t) => t !== seed);
  for (const otherLoads of [[], [0], [1e6]]) {
    const joining = partitionBlock(seed, candidates, { maxReadPixels: MAX_READ, margin: M, otherLoads });
    const block = [seed, ...joining.map((i) => candidates[i])];
    const box = boundsOf(block);
    const area = block.reduce((s, t) => s + t.width * t.height, 0);
    assert.equal(area, box.width * box.height, `a full rectangle with ${otherLoads.length + 1} worker(s)`);
  }
});

test('a worker whose peer is busy for long takes all that one forward can read', () => {
  const tiles = grid(range(0, 4), range(0, 3));
  const [seed, ...candidates] = tiles;
  const joining = partitionBlock(seed, candidates, { maxReadPixels: MAX_READ, margin: M, otherLoads: [1e9] });
  assert.equal(joining.length, candidates.length);
});

test('random queues: the seed and distinct candidates, within the read limit unless alone', () => {
  const random = new SeededRandom(7);
  for (let round = 0; round < 300; round++) {
    const all = grid(range(0, 16), range(0, 12)).filter(() => random.next() < 0.4);
    if (all.length === 0) continue;
    const [seed, ...candidates] = all.sort(() => random.next() - 0.5);
    const otherLoads = Array.from({ length: random.int(3) }, () => random.int(3e6));
    const maxReadPixels = [0.5e6, 1e6, MAX_READ][random.int(3)];
    const joining = partitionBlock(seed, candidates, { maxReadPixels, margin: M, otherLoads });
    assert.equal(new Set(joining).size, joining.length, 'no tile twice');
    assert.ok(joining.every((i) => Number.isInteger(i) && i >= 0 && i < candidates.length));
    if (joining.length > 0) {
      const read = blockReadPixels(boundsOf([seed, ...joining.map((i) => candidates[i])]), M);
      assert.ok(read <= maxReadPixels, `round ${round}: ${read} pixels read, at most ${maxReadPixels}`);
    }
  }
});

/**
 * The reference: the best cut of `tiles` into strips of whole columns or rows by brute force (every
 * set of cut lines, at most workers + 2 strips as the rule allows), each strip the read of its
 * tiles' bounding rectangle, list-scheduled largest first over `loads` (with `seed`: its strip on
 * a worker of load 0 first). Returns the soonest finish, Infinity when no cut keeps each strip of
 * several tiles within the read limit.
 */
function bestCutFinish(tiles: Rect[], loads: number[], maxRead: number, seed?: Rect): number {
  let best = Infinity;
  for (const vertical of [true, false]) {
    const along = (t: Rect) => (vertical ? t.x : t.y);
    const lines = [...new Set(tiles.map(along))].sort((a, b) => a - b);
    for (let mask = 0; mask < 2 ** (lines.length - 1); mask++) {
      // Bit i set: a strip starts at line i + 1.
      const starts = [lines[0], ...lines.slice(1).filter((_, i) => mask & (1 << i))];
      if (starts.length > loads.length + (seed ? 1 : 0) + 2) continue;
      const strips = starts.map((s, k) => tiles.filter((t) => along(t) >= s && along(t) < (starts[k + 1] ?? Infinity)));
      const read = (s: Rect[]) => blockReadPixels(boundsOf(s), M);
      if (strips.some((s) => s.length > 1 && blockReadPixels(boundsOf(s), M) > maxRead)) continue;
      const own = seed ? strips.find((s) => s.includes(seed))! : undefined;
      const free = seed ? [read(own!), ...loads] : [...loads];
      const rest = strips
        .filter((s) => s !== own)
        .map(read)
        .sort((a, b) => b - a);
      for (const r of rest) free[free.indexOf(Math.min(...free))] += r;
      best = Math.min(best, Math.max(...free));
    }
  }
  return best;
}

test("the seed's block finishes the view no later than the best cut found by brute force", () => {
  const random = new SeededRandom(11);
  for (let round = 0; round < 200; round++) {
    let tiles = grid(range(0, 1 + random.int(7)), range(0, 1 + random.int(5)));
    // Half the rounds: the view's first tile runs alone on another worker, left out of the queue.
    const alone = tiles.length > 2 && random.next() < 0.5;
    if (alone) tiles = tiles.filter((_, i) => i !== random.int(tiles.length));
    const [seed, ...candidates] = tiles.sort(() => random.next() - 0.5);
    const otherLoads = Array.from({ length: random.int(3) }, () => random.int(3e6));
    const maxReadPixels = [1e6, MAX_READ, Infinity][random.int(3)];
    const joining = partitionBlock(seed, candidates, { maxReadPixels, margin: M, otherLoads });
    // The choice's finish: its block on this worker, the rest cut at best over all workers.
    const block = [seed, ...joining.map((i) => candidates[i])];
    const ownRead = blockReadPixels(boundsOf(block), M);
    const rest = candidates.filter((_, i) => !joining.includes(i));
    const loads = [ownRead, ...otherLoads];
    const finish = rest.length ? bestCutFinish(rest, loads, maxReadPixels) : Math.max(...loads);
    const reference = bestCutFinish(tiles, otherLoads, maxReadPixels, seed);
    assert.ok(finish <= reference, `round ${round}: finishes at ${finish} read pixels, a cut at ${reference}`);
  }
});

test('a full-HD view after its first tile: no cut of the rest finishes sooner than two halves', () => {
  const [first, seed, ...rest] = fullHdView();
  const firstRead = blockReadPixels(first, M);
  const reference = bestCutFinish([seed, ...rest], [firstRead], MAX_READ, seed);
  // The worker with the first tile also computes the half holding it: 0.26 + 1.95 MP.
  assert.equal(reference, firstRead + (4 * T + 2 * M) * (5 * T + 2 * M));
  const joining = partitionBlock(seed, rest, { maxReadPixels: MAX_READ, margin: M, otherLoads: [firstRead] });
  assert.equal(blockReadPixels(boundsOf([seed, ...joining.map((i) => rest[i])]), M), (4 * T + 2 * M) * (5 * T + 2 * M));
});
