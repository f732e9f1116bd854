import { ByteLru } from '../cache/byte-lru.js';
import { SlideError, throwIfAborted } from './slide-error.js';

/** Random access to a file's bytes: what a slide's readers share (port-bytes.ts serves one over a MessagePort). */
export interface ByteReader {
  /** The file's name or URL, for messages. */
  readonly name: string;
  /** Bytes in the file. */
  readonly size: number;
  /**
   * The bytes of each slice, cut at the end of the file (as a server clamps a Range); a slice
   * starting at or past the end is an error ('truncated': the file is shorter than its tables say).
   */
  read(slices: readonly ByteSlice[], signal?: AbortSignal): Promise<Uint8Array[]>;
}

export interface ByteSlice {
  readonly offset: number;
  readonly length: number;
}

export interface HttpBlocksOptions {
  /**
   * Bytes per block (default 16 KiB). Blocks are the unit of caching and sharing only: missing
   * neighbours go out as one Range request, so small blocks cost few extra requests, and a lone
   * read rounds up to less. Measured on the full pass of test/plugin/slide/shared-slide.browser.test.ts
   * (80 Deflate tiles, 8.14 MB): 4 KiB 76 requests, 8.16 MB; 16 KiB 77–83, 8.19 MB; 64 KiB 60,
   * 8.34 MB; 256 KiB 29, 8.93 MB. Loading the demo page (2.25 MB of tiles in view): 16 KiB 24
   * requests, 2.26 MB; 64 KiB 18, 2.31 MB. Zoomed in, a view reads scattered ~66 KB level-0
   * tiles, each rounded out to whole blocks: 64 KiB blocks would nearly double those reads.
   */
  readonly blockSize?: number;
  /** Bytes of blocks kept (default 128 MiB: ~1300 compressed 256² tiles of a slide). */
  readonly cacheBytes?: number;
  /**
   * At most this many bytes per request (default 1 MiB), so that a read joining a request waits
   * for little more than it needs.
   */
  readonly maxRequestBytes?: number;
  readonly signal?: AbortSignal;
}

/** One Range request in flight: the blocks it brings, and how many reads wait for it. */
interface Flight {
  readonly first: number;
  readonly count: number;
  readonly controller: AbortController;
  readonly done: Promise<Uint8Array[]>;
  waiters: number;
}

const DEFAULTS = { blockSize: 16 * 1024, cacheBytes: 128 * 2 ** 20, maxRequestBytes: 2 ** 20 };

/**
 * A file over HTTP read once, for any number of readers: fixed aligned blocks fetched with Range
 * requests, a block in flight shared by every read that wants it, blocks kept in a ByteLru.
 * The display's worker and the pool's workers all read a URL slide through one of these
 * (plugin/slide/shared-slide.ts), so that a pass over a slide fetches each byte about once.
 * Measured on the sample slide, the display and two pool workers over every tile of levels 2 and 3
 * (test/plugin/slide/shared-slide.browser.test.ts): each reading the file itself, 352 requests
 * for 35.0 MB (4.3× the 8.15 MB they cover); through one of these, ~80 requests for 8.19 MB,
 * no byte twice.
 *
 * Requests go past the browser's HTTP cache (`no-store`): Chromium, given overlapping Range
 * requests for one URL, answered some from partial cache entries with truncated bodies. Every body
 * is checked against the range asked for, so a short one is a 'truncated' error, never bad pixels.
 *
 * Reads of one task are planned together (a microtask later): a worker's tiles of one region
 * arrive in one message (port-bytes.ts), and their missing blocks go out as few, long requests.
 */
export class HttpBlocks implements ByteReader {
  private readonly cache: ByteLru<number, Uint8Array>;
  private readonly flights = new Map<number, Flight>();
  private readonly queued = new Set<number>();
  private planned?: Promise<void>;
  private counts = { requests: 0, bytes: 0 };

  private constructor(
    readonly url: string,
    readonly name: string,
    readonly size: number,
    readonly blockSize: number,
    private readonly maxRequestBytes: number,
    cacheBytes: number,
  ) {
    this.cache = new ByteLru(cacheBytes, (b) => b.byteLength);
  }

  /**
   * Fetches the first block, which tells the file's size and that the server answers Range
   * requests; fails with a SlideError ('no-range-support', 'network', 'aborted') otherwise.
   */
  static async open(url: string, name: string, options: HttpBlocksOptions = {}): Promise<HttpBlocks> {
    const blockSize = options.blockSize ?? DEFAULTS.blockSize;
    if (!(Number.isInteger(blockSize) && blockSize > 0))
      throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    const { signal } = options;
    throwIfAborted(signal, name);
    const first = await rangeRequest(url, name, 0, blockSize, signal);
    if (first.total === undefined && first.data.byteLength === blockSize) {
      throw new SlideError(
        'network',
        name,
        'the server does not say how long the file is (Content-Range without a size)',
      );
    }
    const size = first.total ?? first.data.byteLength;
    const maxRequestBytes = Math.max(blockSize, options.maxRequestBytes ?? DEFAULTS.maxRequestBytes);
    const blocks = new HttpBlocks(
      url,
      name,
      size,
      blockSize,
      maxRequestBytes,
      options.cacheBytes ?? DEFAULTS.cacheBytes,
    );
    blocks.counts = { requests: 1, bytes: first.data.byteLength };
    blocks.cache.set(0, first.data);
    return blocks;
  }

  /** Range requests made and bytes they brought, since open (included). */
  get stats(): { readonly requests: number; readonly bytes: number; readonly cachedBytes: number } {
    return { ...this.counts, cachedBytes: this.cache.bytes };
  }

  async read(slices: readonly ByteSlice[], signal?: AbortSignal): Promise<Uint8Array[]> {
    throwIfAborted(signal, this.name);
    const needed = new Set<number>();
    for (const { offset, length } of slices) {
      if (!(Number.isInteger(offset) && offset >= 0 && offset < this.size && Number.isInteger(length) && length >= 0))
        throw new SlideError(
          'truncated',
          this.name,
          `the file is truncated: bytes ${offset}…${offset + length - 1} lie past its end (${this.size} bytes)`,
        );
      const end = Math.min(this.size, offset + length);
      for (let b = Math.floor(offset / this.blockSize); b * this.blockSize < end; b++) needed.add(b);
    }

    // Each block from the cache (taken now, so eviction cannot lose it), or from a request in
    // flight, or queued for the next plan; then the queued ones are in flight too.
    const parts = new Map<number, Uint8Array>();
    const joined = new Set<Flight>();
    const awaited = new Set<number>();
    for (;;) {
      let queued = false;
      for (const b of needed) {
        if (parts.has(b) || awaited.has(b)) continue;
        const cached = this.cache.get(b);
        const flight = this.flights.get(b);
        if (cached) parts.set(b, cached);
        else if (flight) {
          flight.waiters++;
          joined.add(flight);
          for (let k = flight.first; k < flight.first + flight.count; k++) awaited.add(k);
        } else {
          this.queued.add(b);
          queued = true;
        }
      }
      if (!queued) break;
      await this.plan();
    }

    const flights = [...joined];
    let settled = false;
    const leave = (abort: boolean) => {
      if (settled) return;
      settled = true;
      for (const f of flights) {
        if (--f.waiters > 0 || !abort) continue;
        // No read wants it any more: stop the transfer, and let a later read ask again.
        f.controller.abort();
        this.land(f);
      }
    };
    try {
      const results = await untilAborted(Promise.all(flights.map((f) => f.done)), signal, () => leave(true), this.name);
      flights.forEach((f, i) => results[i].forEach((block, k) => parts.set(f.first + k, block)));
    } finally {
      leave(false);
    }

    return slices.map(({ offset, length }) => {
      const end = Math.min(this.size, offset + length);
      const out = new Uint8Array(end - offset);
      for (let b = Math.floor(offset / this.blockSize); b * this.blockSize < end; b++) {
        const block = parts.get(b)!;
        const start = b * this.blockSize;
        const from = Math.max(offset, start);
        const to = Math.min(end, start + block.byteLength);
        out.set(block.subarray(from - start, to - start), from - offset);
      }
      return out;
    });
  }

  /** Resolves once the blocks queued in this task are in flight, in runs of consecutive blocks. */
  private plan(): Promise<void> {
    this.planned ??= Promise.resolve().then(() => {
      this.planned = undefined;
      const ids = [...this.queued].sort((a, b) => a - b);
      this.queued.clear();
      const perRequest = Math.max(1, Math.floor(this.maxRequestBytes / this.blockSize));
      for (let i = 0; i < ids.length;) {
        let count = 1;
        while (i + count < ids.length && ids[i + count] === ids[i] + count && count < perRequest) count++;
        this.fly(ids[i], count);
        i += count;
      }
    });
    return this.planned;
  }

  private fly(first: number, count: number): void {
    const controller = new AbortController();
    const start = first * this.blockSize;
    const end = Math.min(this.size, (first + count) * this.blockSize);
    this.counts.requests++;
    const done = rangeRequest(this.url, this.name, start, end - start, controller.signal).then(({ data }) => {
      if (data.byteLength !== end - start) {
        throw new SlideError(
          'truncated',
          this.name,
          `the file is truncated: the server sent ${data.byteLength} bytes of ${start}…${end - 1}`,
        );
      }
      this.counts.bytes += data.byteLength;
      const blocks = Array.from({ length: count }, (_, k) =>
        data.slice(k * this.blockSize, Math.min(data.byteLength, (k + 1) * this.blockSize)),
      );
      this.land(flight);
      blocks.forEach((block, k) => this.cache.set(first + k, block));
      return blocks;
    });
    const flight: Flight = { first, count, controller, done, waiters: 0 };
    // A flight whose readers all left rejects with nobody listening; a failed one is asked again later.
    done.catch(() => this.land(flight));
    for (let b = first; b < first + count; b++) this.flights.set(b, flight);
  }

  /** The flight is no longer in the air (it landed, failed or was called off). */
  private land(flight: Flight): void {
    for (let b = flight.first; b < flight.first + flight.count; b++)
      if (this.flights.get(b) === flight) this.flights.delete(b);
  }
}

/**
 * `promise`, or the 'aborted' SlideError as soon as the signal fires (then `onAbort` runs once).
 */
function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => void,
  name: string,
): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const aborted = () => {
      onAbort();
      reject(new SlideError('aborted', name, 'the read was aborted', { cause: signal.reason }));
    };
    if (signal.aborted) return aborted();
    signal.addEventListener('abort', aborted, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', aborted);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', aborted);
        reject(e);
      },
    );
  });
}

/** One Range request; the body as asked for or a SlideError that says what the server did. */
async function rangeRequest(
  url: string,
  name: string,
  start: number,
  length: number,
  signal: AbortSignal | undefined,
): Promise<{ data: Uint8Array; total?: number }> {
  const range = `${start}-${start + length - 1}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { Range: `bytes=${range}` }, signal, cache: 'no-store' });
  } catch (err) {
    if (signal?.aborted) throw new SlideError('aborted', name, 'the read was aborted', { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    throw new SlideError('network', name, `network error while reading bytes ${range}: ${message}`, { cause: err });
  }
  if (response.status === 200) {
    // Reading a slide means thousands of small reads; a server that answers each with the
    // whole file would download gigabytes, so refuse rather than appear to hang.
    await response.body?.cancel();
    throw new SlideError(
      'no-range-support',
      name,
      'the server ignores HTTP Range requests (it sent the whole file); ' +
        'serve the slide from a server that supports them, or open it as a local file',
    );
  }
  if (response.status === 416) {
    await response.body?.cancel();
    throw new SlideError('truncated', name, `the file is truncated: the server says bytes ${range} lie past its end`);
  }
  if (response.status !== 206) {
    await response.body?.cancel();
    throw new SlideError('network', name, `the server answered HTTP ${response.status} ${response.statusText}`.trim());
  }
  const contentRange = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  if (!contentRange || Number(contentRange[1]) !== start) {
    await response.body?.cancel();
    throw new SlideError(
      'network',
      name,
      `asked for bytes ${range}, the server answered ` +
        (response.headers.get('content-range') ?? 'without a Content-Range'),
    );
  }
  let data: Uint8Array;
  try {
    data = new Uint8Array(await response.arrayBuffer());
  } catch (err) {
    if (signal?.aborted) throw new SlideError('aborted', name, 'the read was aborted', { cause: err });
    throw new SlideError('network', name, `the connection broke while reading bytes ${range}`, { cause: err });
  }
  const said = Number(contentRange[2]) - start + 1;
  if (data.byteLength !== said) {
    throw new SlideError(
      'truncated',
      name,
      `the server sent ${data.byteLength} bytes for bytes ${range}, though it said ${said} (a cut connection?)`,
    );
  }
  return { data, total: contentRange[3] === '*' ? undefined : Number(contentRange[3]) };
}
