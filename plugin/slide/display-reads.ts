import { Emitter, type TypedEventTarget } from '../../core/events/typed-events.js';

/**
 * The page's count of slide reads the display is waiting for (issue 18, item 6: the display never
 * starves). A browser gives workers no thread priorities, and on a 2-core machine the display's
 * worker shares the cores with every pool worker: under load OpenSeadragon gave up on display tiles
 * after its 30 s timeout ("Image load exceeded timeout", 35–41 times in one session) while the pool
 * kept both cores on tile jobs. So the display says when it waits (openInWorker's reads) and the
 * pool keeps one worker's core free meanwhile (worker-pool.ts: it starts a tile job only while
 * fewer than size − 1 workers are busy; none in a pool of one; jobs running go on). Stopping
 * every worker instead held the first output tile after a jump until the display had loaded
 * (bench:view, 2 workers: first tile 8.1 s of a 37 s fill, under a load of 20 on 2 cores); one
 * core is what one display worker can use.
 *
 * Page-wide like the slide readers (shared-slide.ts): a host makes the display and the pool apart,
 * and neither needs to know of the other.
 *
 * Events: `idle` when the last pending read ended; `busy` when one starts with none pending.
 */
export type DisplayReadsEvents = {
  readonly busy: undefined;
  readonly idle: undefined;
};

export interface DisplayReads extends TypedEventTarget<DisplayReadsEvents> {
  /** Display reads in flight now. */
  readonly pending: number;
  /** Marks one read as started; call the returned function (once; later calls do nothing) when it ends. */
  begin(): () => void;
}

class Reads extends Emitter<DisplayReadsEvents> implements DisplayReads {
  pending = 0;

  begin(): () => void {
    if (this.pending++ === 0) this.emit('busy', undefined);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.pending === 0) this.emit('idle', undefined);
    };
  }
}

/** The page's one count. */
export const displayReads: DisplayReads = new Reads();
