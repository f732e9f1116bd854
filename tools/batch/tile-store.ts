import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Rect } from '../../core/math/rect.js';

/**
 * A slide's finished tiles on disk: the batch's resumable state. Each tile is one file, written to
 * a temporary name and renamed (atomic on one file system), so after Ctrl-C, a kill or a crash a
 * tile is there whole or not at all, and a rerun computes only the missing ones. A tile keeps
 * what the outputs need: its probabilities as 8 bits (round(255·p), the overlay's pixels) and its
 * cell mask (p > threshold, 1 bit as a byte, before deflate), because 8 bits cannot say on which
 * side of the threshold a pixel within 1/510 of it lies. Deflated, a 512² tile of the sample slide
 * is ~40–90 kB instead of the 1 MiB of its float32 probabilities.
 *
 * `stamp` names what the tiles were computed for (head, grid, threshold, region): a folder
 * stamped otherwise is emptied first, so a changed head never mixes with an old one's tiles.
 */

export interface StoredTile {
  readonly tile: Rect;
  /** tile.width × tile.height, round(255·p). */
  readonly probability: Uint8Array;
  /** tile.width × tile.height, 1 where p > threshold. */
  readonly mask: Uint8Array;
}

const STAMP = 'stamp.json';
const fileOf = (tile: Rect) => `${tile.x}-${tile.y}-${tile.width}-${tile.height}.tile`;

/**
 * A temporary name beside `file`, its own to this process on this machine: workers on several
 * machines writing the same tile into a shared folder never write into each other's file.
 */
export const temporaryName = (file: string) => `${file}.${os.hostname()}-${process.pid}.partial`;

/** Writes `bytes` to `file` through a temporary file and a rename: readers see the old file or the new, whole. */
export function writeAtomic(file: string, bytes: Uint8Array | string): void {
  const temporary = temporaryName(file);
  fs.writeFileSync(temporary, bytes);
  fs.renameSync(temporary, file);
}

export class TileStore {
  private constructor(readonly dir: string) {}

  /** The store in `dir` for `stamp`; emptied when it was stamped for something else. */
  static open(dir: string, stamp: Readonly<Record<string, unknown>>): TileStore {
    const text = JSON.stringify(stamp);
    const stampFile = path.join(dir, STAMP);
    const same = fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === text;
    fs.mkdirSync(dir, { recursive: true });
    // The folder's contents go, not the folder: whoever watches it keeps watching.
    if (!same)
      for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    if (!same) writeAtomic(stampFile, text);
    return new TileStore(dir);
  }

  /**
   * The store planned in `dir` (a queue worker's, stamped by the coordinator): throws when there
   * is none, or when `stamp` is given and differs (a worker with another head than the plan's).
   */
  static existing(dir: string, stamp?: Readonly<Record<string, unknown>>): TileStore {
    const stampFile = path.join(dir, STAMP);
    if (!fs.existsSync(stampFile)) throw new Error(`${dir} holds no planned slide (no ${STAMP})`);
    if (stamp && fs.readFileSync(stampFile, 'utf8') !== JSON.stringify(stamp))
      throw new Error(`${dir} was planned for another head, grid or region than this worker's`);
    return new TileStore(dir);
  }

  /** The rectangles of every tile stored (a leftover temporary file is no tile). */
  tiles(): Rect[] {
    const found: Rect[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const m = /^(\d+)-(\d+)-(\d+)-(\d+)\.tile$/.exec(name);
      if (m) found.push({ x: Number(m[1]), y: Number(m[2]), width: Number(m[3]), height: Number(m[4]) });
    }
    return found;
  }

  put(tile: Rect, probabilities: Float32Array, threshold: number): void {
    const n = tile.width * tile.height;
    if (probabilities.length !== n) throw new RangeError(`${probabilities.length} probabilities for a ${n}-pixel tile`);
    const bytes = new Uint8Array(2 * n);
    for (let i = 0; i < n; i++) {
      const p = probabilities[i];
      bytes[i] = Math.round(255 * Math.min(1, Math.max(0, p)));
      bytes[n + i] = p > threshold ? 1 : 0;
    }
    writeAtomic(path.join(this.dir, fileOf(tile)), deflateRawSync(bytes));
  }

  get(tile: Rect): StoredTile {
    const n = tile.width * tile.height;
    const bytes = inflateRawSync(fs.readFileSync(path.join(this.dir, fileOf(tile))));
    if (bytes.length !== 2 * n) throw new Error(`${fileOf(tile)} in ${this.dir} is damaged: delete it and rerun`);
    return { tile, probability: bytes.subarray(0, n), mask: bytes.subarray(n) };
  }
}
