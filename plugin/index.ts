export { pixelTileSource, type PixelTileSourceOptions } from './pixel-tile-source.js';
export { openInWorker, DEFAULT_WORKER_URL, type WorkerPixelSource } from './worker-pixel-source.js';
export { openTiff, type OpenTiffOptions } from '../worker/tiff-pixel-source.js';
export type { PixelLevel, PixelSource, RegionRequest, SlideDescription } from '../worker/pixel-source.js';
export { SlideError, isAbortError, type SlideErrorCode } from '../worker/slide-error.js';
export { DEFAULT_EXTRACTORS_URL, loadDefaultExtractors } from './default-extractors.js';
export { loadBundle, decodeBundle, encodeBundle, type ExtractorBundle, type ExtractorClass } from '../worker/extractor-bundle.js';
export { BundleError, type BundleErrorCode } from '../worker/bundle-error.js';
