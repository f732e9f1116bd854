export { pixelTileSource, type PixelTileSourceOptions } from './pixel-tile-source.js';
export { openInWorker, DEFAULT_WORKER_URL, type WorkerPixelSource } from './worker-pixel-source.js';
export { openTiff, type OpenTiffOptions } from '../worker/tiff-pixel-source.js';
export type { PixelLevel, PixelSource, RegionRequest, SlideDescription } from '../worker/pixel-source.js';
export { SlideError, isAbortError, type SlideErrorCode } from '../worker/slide-error.js';
