import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';

/** One request as the server saw it: the byte range asked (end exclusive) and how it ended. */
export interface LoggedRequest {
  readonly start: number;
  readonly end: number;
  /** 'served': answered in full; 'aborted': the client went before the answer ended. */
  outcome: 'pending' | 'served' | 'aborted';
}

/**
 * One file served with Range on 127.0.0.1, every request logged, for tests of what a reader
 * fetches. `hold()` keeps answers back until `release()` (to abort reads in flight, or to see two
 * reads share one request); `fail` makes the next answers a status or a body cut short. Events:
 * 'request' (a LoggedRequest arrived), 'aborted' (its client went before the answer ended).
 */
export class GatedFileServer extends EventEmitter {
  readonly log: LoggedRequest[] = [];
  /**
   * The next answers, instead of the bytes: an HTTP status, 'short' (fewer bytes than Content-Range
   * says) or 'whole' (the whole file, as a server that ignores Range).
   */
  fail?: number | 'short' | 'whole';
  private held: (() => void)[] | undefined;
  private readonly bytes: Uint8Array;

  private constructor(
    file: string,
    private readonly server: Server,
    readonly url: string,
  ) {
    super();
    this.bytes = readFileSync(file);
  }

  static async serve(file: string): Promise<GatedFileServer> {
    const answering: { self?: GatedFileServer } = {};
    const server = createServer((req, res) => answering.self!.answer(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return (answering.self = new GatedFileServer(file, server, `http://127.0.0.1:${port}/slide.tif`));
  }

  /** Answers wait from now until release(). */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    held.forEach((go) => go());
  }

  /** Bytes asked for, in all requests; and the distinct bytes they cover. */
  totals(): { requests: number; bytes: number; distinct: number } {
    const sorted = [...this.log].sort((a, b) => a.start - b.start);
    let distinct = 0;
    let reach = 0;
    for (const { start, end } of sorted) {
      if (end > reach) distinct += end - Math.max(start, reach);
      reach = Math.max(reach, end);
    }
    return { requests: this.log.length, bytes: this.log.reduce((s, r) => s + r.end - r.start, 0), distinct };
  }

  close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const size = this.bytes.byteLength;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range ? Math.min(size, range[2] ? Number(range[2]) + 1 : size) : size;
    const entry: LoggedRequest = { start, end, outcome: 'pending' };
    this.log.push(entry);
    res.on('close', () => {
      if (entry.outcome !== 'pending') return;
      entry.outcome = res.writableFinished ? 'served' : 'aborted';
      if (entry.outcome === 'aborted') this.emit('aborted', entry);
    });
    res.on('finish', () => (entry.outcome = 'served'));
    this.emit('request', entry);
    const go = () => {
      if (res.destroyed) return;
      const fail = this.fail;
      if (typeof fail === 'number') return void res.writeHead(fail).end();
      if (!range || fail === 'whole') return void res.writeHead(200, { 'Content-Length': size }).end(this.bytes);
      if (start >= size) return void res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      const body = this.bytes.subarray(start, fail === 'short' ? start + Math.floor((end - start) / 2) : end);
      res
        .writeHead(206, {
          'Content-Range': `bytes ${start}-${end - 1}/${size}`,
          'Content-Length': body.byteLength,
          'Accept-Ranges': 'bytes',
        })
        .end(body);
    };
    if (this.held) this.held.push(go);
    else go();
  }
}
