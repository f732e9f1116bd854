import { HttpBlocks } from '../../core/slide/http-blocks.js';
import { slideName, type SlideDescription } from '../../core/slide/pixel-source.js';
import { serveBytes, type PortSlideDescription } from '../../core/slide/port-bytes.js';
import { SlideError } from '../../core/slide/slide-error.js';

/**
 * What one worker is sent to open a slide: the description to post, what to transfer with it,
 * and `close`, which ends this worker's link (called when the worker dies or is done).
 */
export interface SlideLink {
  readonly slide: SlideDescription | PortSlideDescription;
  readonly transfer: Transferable[];
  close(): void;
}

/** A slide as the page holds it: one reader of its bytes, a link per worker. */
export interface SharedSlide {
  /** As the caller described it. */
  readonly slide: SlideDescription;
  /** A new link for one worker; each worker needs its own (a port is transferred once). */
  link(): SlideLink;
  /** This holder is done; the reader goes when the last one is (links still open are closed). */
  release(): void;
}

/** What the page's reader of a URL has done, for status lines and tests. */
export interface SharedBytesStats {
  /** Range requests and the bytes they brought, since the reader opened. */
  readonly requests: number;
  readonly bytes: number;
  /** Bytes of blocks kept now. */
  readonly cachedBytes: number;
  /** Workers linked to it now. */
  readonly links: number;
  /** Holders (the display's source, pools) now. */
  readonly holders: number;
}

interface Entry {
  readonly opened: Promise<HttpBlocks>;
  readonly links: Set<{ close(): void }>;
  holders: number;
}

/**
 * One reader per URL for the whole page, however many hold it: the display (openInWorker) and
 * the pool are made apart (a host app, the demo, the panel), and sharing must not ask them to
 * know of each other. Keyed by the absolute URL; its errors name the slide as its first holder did.
 */
const readers = new Map<string, Entry>();

/**
 * Holds `slide` for a display or a pool. A URL slide is read on this thread by one HttpBlocks for
 * every holder of that URL, and each worker gets the bytes through a port of its own
 * (core/slide/port-bytes.ts). With the display's worker and two pool workers each reading the file
 * themselves, a full pass over two levels of the sample slide made 352 requests for 35.0 MB, 4.3×
 * the bytes it covers (test/plugin/slide/shared-slide.browser.test.ts); through one reader ~80
 * for 8.19 MB, each byte once. Loading the demo page with three pool workers: 70 requests for
 * 2.40 MB before, 24 for 2.26 MB now (every worker read the header, directories and tile tables).
 * Opening fails as opening the file would (a SlideError: 'network', 'no-range-support', 'aborted').
 *
 * Blobs and image tiles are linked as they are: each worker reads a Blob itself (a local read,
 * nothing crosses the network) and image tiles through their own cache (tile-image-source.ts).
 */
export async function shareSlide(slide: SlideDescription, signal?: AbortSignal): Promise<SharedSlide> {
  if (slide.kind !== 'url') {
    return { slide, link: () => ({ slide, transfer: [], close() {} }), release() {} };
  }
  const url = absolute(slide.url);
  const name = slideName(slide);
  let entry = readers.get(url);
  if (!entry) {
    const created: Entry = { opened: HttpBlocks.open(url, name), links: new Set(), holders: 0 };
    // A failed open is not kept: the next holder tries again.
    created.opened.catch(() => readers.get(url) === created && readers.delete(url));
    readers.set(url, (entry = created));
  }
  const held = entry;
  held.holders++;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (--held.holders > 0) return;
    if (readers.get(url) === held) readers.delete(url);
    for (const link of held.links) link.close();
  };
  let blocks: HttpBlocks;
  try {
    blocks = await abortable(held.opened, signal, name);
  } catch (err) {
    release();
    throw err;
  }
  return {
    slide,
    link() {
      if (released) throw new SlideError('network', name, 'the slide was released');
      const { port1, port2 } = new MessageChannel();
      const server = serveBytes(port1, blocks);
      const link = {
        close() {
          server.close();
          held.links.delete(link);
        },
      };
      held.links.add(link);
      return { slide: { kind: 'bytes', name, size: blocks.size, port: port2 }, transfer: [port2], close: link.close };
    },
    release,
  };
}

/** The page's reader of this URL, if something holds it now. */
export async function sharedBytesStats(url: string): Promise<SharedBytesStats | undefined> {
  const entry = readers.get(absolute(url));
  if (!entry) return undefined;
  const stats = (await entry.opened).stats;
  return { ...stats, links: entry.links.size, holders: entry.holders };
}

function absolute(url: string): string {
  return new URL(url, globalThis.location?.href).href;
}

/** The shared open, or this holder's abort (the open goes on for the others). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, name: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new SlideError('aborted', name, 'the open was aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new SlideError('aborted', name, 'the open was aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
