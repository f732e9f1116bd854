import type { PixelSource, RegionRequest, SlideDescription } from '../../core/slide/pixel-source.js';
import type { SlideInfo } from '../../worker/protocol.js';
import { SlideError } from '../../core/slide/slide-error.js';
import { WorkerChannel } from '../pool/worker-channel.js';
import { resolveAssets, startModuleWorker, workerAssets, type AssetOptions } from '../assets.js';
import { displayReads } from './display-reads.js';
import { shareSlide } from './shared-slide.js';

export interface WorkerPixelSource extends PixelSource {
  /** Ends the worker; pending reads reject. */
  close(): void;
}

/**
 * Opens a slide inside a module worker and returns a PixelSource whose reads run there. The
 * main thread only sends rectangles and receives transferred RGB buffers. A URL slide's bytes
 * come from the page's one reader of that URL (shared-slide.ts), which the pool's workers read
 * through too: the display and the workers fetch each byte once between them.
 */
export async function openInWorker(
  slide: SlideDescription,
  options: Pick<AssetOptions, 'workerUrl' | 'assetsBaseUrl'> & {
    signal?: AbortSignal;
    /**
     * Whether its reads are the display's, served ahead of the pool's tile jobs (display-reads.ts).
     * Default true: a source opened in a worker is what the viewer shows (pixelTileSource).
     */
    display?: boolean;
  } = {},
): Promise<WorkerPixelSource> {
  const display = options.display ?? true;
  const shared = await shareSlide(slide, options.signal);
  const link = shared.link();
  const assets = resolveAssets(options);
  const worker = startModuleWorker(assets.worker, 'openseadragon-fewshot');
  const channel = new WorkerChannel(worker);
  // Closing the source or losing its worker ends its link and its hold on the bytes.
  const close = (why: Error) => {
    channel.close(why);
    link.close();
    shared.release();
  };
  worker.onerror = (event) => {
    event.preventDefault();
    close(new Error(`the slide worker failed: ${event.message || 'it could not be loaded'}`));
  };
  const call = channel.call.bind(channel);

  let info: SlideInfo;
  try {
    // Its JPEG 2000 decoder's wasm, from where the page's bundler put it (never worked out in the worker).
    await call({ type: 'set-assets', assets: workerAssets(assets) }, options.signal);
    const opened = await call({ type: 'open', slide: link.slide }, options.signal, undefined, link.transfer);
    if (opened.type !== 'opened') throw new Error(`unexpected answer '${opened.type}' to open`);
    info = opened.info;
  } catch (err) {
    close(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }

  return {
    name: info.name,
    levels: info.levels,
    mpp: info.mpp,
    async readRegion({ level, x, y, width, height, signal }: RegionRequest): Promise<Uint8Array> {
      if (signal?.aborted) throw new SlideError('aborted', info.name, 'the read was aborted');
      // While the display waits, the pool starts no tile job (display-reads.ts).
      const end = display ? displayReads.begin() : undefined;
      try {
        const r = await call({ type: 'read', slideId: info.slideId, level, x, y, width, height }, signal);
        if (r.type !== 'pixels') throw new Error(`unexpected answer '${r.type}' to read`);
        return r.pixels;
      } finally {
        end?.();
      }
    },
    close() {
      close(new Error('the slide was closed'));
    },
  };
}
