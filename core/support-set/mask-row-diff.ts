/**
 * What an edit changed in a mask, kept small enough for a long undo history: for each changed
 * row, only the run of columns from its first to its last changed pixel, before and after. A
 * brush stroke across a 256×256 patch keeps a few bytes per row it crossed, not 64 KiB.
 */

export interface MaskRowDiff {
  /** Triples (row, first column, length), one per changed row. */
  readonly spans: Int32Array;
  readonly before: Uint8Array;
  readonly after: Uint8Array;
  /** Memory held, for the undo stack's budget. */
  readonly bytes: number;
}

/** Writes the diff's `before` (undo) or `after` (redo) values into `mask`. */
export function applyRowDiff(mask: Uint8Array, width: number, diff: MaskRowDiff, side: 'before' | 'after'): void {
  const values = side === 'before' ? diff.before : diff.after;
  let offset = 0;
  for (let i = 0; i < diff.spans.length; i += 3) {
    const length = diff.spans[i + 2];
    mask.set(values.subarray(offset, offset + length), diff.spans[i] * width + diff.spans[i + 1]);
    offset += length;
  }
}

/** The rows a diff touches, as [first, last] (inclusive), for redrawing only those. */
export function diffRowRange(diff: MaskRowDiff): [number, number] {
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < diff.spans.length; i += 3) {
    first = Math.min(first, diff.spans[i]);
    last = Math.max(last, diff.spans[i]);
  }
  return [first, last];
}

export interface RowRecorder {
  /** Call before the first write to `row` during the edit: saves its original values. */
  touch(row: number): void;
  touchAll(): void;
  /** The rows that really changed since their first touch; null when nothing did. */
  finish(): MaskRowDiff | null;
  /** Puts every touched row back as it was. */
  revert(): void;
}

/** Starts recording an edit of `mask` (width × height, row-major). */
export function recordRows(mask: Uint8Array, width: number, height: number): RowRecorder {
  const saved = new Map<number, Uint8Array>();
  const touch = (row: number) => {
    if (!saved.has(row)) saved.set(row, mask.slice(row * width, (row + 1) * width));
  };
  return {
    touch,
    touchAll() {
      for (let row = 0; row < height; row++) touch(row);
    },
    finish() {
      const spans: number[] = [];
      const before: Uint8Array[] = [];
      const after: Uint8Array[] = [];
      let total = 0;
      for (const row of [...saved.keys()].sort((a, b) => a - b)) {
        const old = saved.get(row)!;
        const base = row * width;
        let first = 0;
        while (first < width && old[first] === mask[base + first]) first++;
        if (first === width) continue;
        let last = width - 1;
        while (old[last] === mask[base + last]) last--;
        spans.push(row, first, last - first + 1);
        before.push(old.subarray(first, last + 1));
        after.push(mask.slice(base + first, base + last + 1));
        total += last - first + 1;
      }
      saved.clear();
      if (spans.length === 0) return null;
      const diff = { spans: Int32Array.from(spans), before: concat(before, total), after: concat(after, total) };
      return { ...diff, bytes: diff.spans.byteLength + 2 * total + 64 };
    },
    revert() {
      for (const [row, old] of saved) mask.set(old, row * width);
      saved.clear();
    },
  };
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
