import { resolveAssets } from './assets.js';
import { registerJpeg2000 } from '../core/slide/jpeg2000.js';

export { pixelTileSource, type PixelTileSourceOptions } from './slide/pixel-tile-source.js';
export { adoptOpenSeadragonStyles } from './openseadragon-styles.js';
export { openInWorker, type WorkerPixelSource } from './slide/worker-pixel-source.js';
export { openTiff, type OpenTiffOptions } from '../core/slide/tiff-source.js';
export type { PixelLevel, PixelSource, RegionRequest, SlideDescription } from '../core/slide/pixel-source.js';
export { SlideError, isAbortError, type SlideErrorCode } from '../core/slide/slide-error.js';
export {
  DEFAULT_EXTRACTORS_URL,
  DEFAULT_WORKER_URL,
  loadDefaultExtractors,
  resolveAssets,
  type AssetOptions,
  type PluginAssets,
} from './assets.js';
export {
  loadBundle,
  readBundle,
  decodeBundle,
  encodeBundle,
  writeBundle,
  type ExtractorBundle,
  type ExtractorClass,
} from '../core/msd/bundle.js';
export { BundleError, type BundleErrorCode } from '../core/msd/bundle-error.js';
export { bundleWarningNote } from '../core/msd/bundle-warnings.js';
export {
  attachFewShot,
  type FewShot,
  type FewShotOptions,
  type FewShotState,
  type AdaptOutcome,
  type FewShotEvents,
  type FewShotError,
  type FewShotTask,
  type FewShotWarning,
  type ExtractorsWarning,
  type PredictionTile,
} from './attach-fewshot.js';
export { FewShotSegmenter, type FewShotSegmenterEvents } from './panel/fewshot-segmenter.js';
export {
  createSession,
  type Session,
  type SessionEvents,
  type SessionOptions,
  type SessionProgress,
  type SessionState,
  type SessionTile,
  type SessionWarning,
  type ExportWarning,
  type GeoJsonOptions,
} from '../core/session/session.js';
export type { Compute } from '../core/session/compute.js';
export type { PrefillDropReason, PrefillOutcome } from '../core/session/patch-prefill.js';
export type { EnsembleOutcome } from '../core/session/session.js';
export type { EnsembleOptions, EnsembleProgress } from '../core/adaptation/ensemble-options.js';
export { binaryEntropy, quantiseUncertainty, tileUncertainty } from '../core/inference/uncertainty.js';
export type { PatchChanges } from '../core/support-set/prefill.js';
export type { TypedEventTarget, TypedListener } from '../core/events/typed-events.js';
export { WorkerDied } from './pool/worker-channel.js';
export {
  WorkerPool,
  PoolStateError,
  type WorkerPoolOptions,
  type PoolSlide,
  type TileRequest,
  type TileResult,
  type WorkerStatus,
} from './pool/worker-pool.js';
export {
  createRegionRun,
  type RegionRun,
  type RegionRunEvents,
  type RunProgress,
  type RunState,
  type RunSummary,
  type TileDone,
  type TileFailure,
} from '../core/session/region-run.js';
export { createMaskLayer, type MaskLayer, type MaskStyle } from './layers/mask-layer.js';
export {
  createContourLayer,
  type CellClick,
  type CellHit,
  type ContourLayer,
  type ContourLayerEvents,
  type ContourStyle,
} from './layers/contour-layer.js';
export {
  createUncertaintyLayer,
  DEFAULT_UNCERTAINTY_COLOR,
  type UncertaintyLayer,
  type UncertaintyTile,
} from './layers/uncertainty-layer.js';
export {
  createSupportTools,
  type SupportTools,
  type SupportTool,
  type SupportToolsEvents,
  type SupportToolsState,
} from './support/support-tools.js';
export { createSupportLayer, type SupportLayer } from './support/support-layer.js';
export {
  autosaveSupportSet,
  restoreSupportSet,
  indexedDbTextStore,
  localStorageTextStore,
  type TextStore,
} from './support/support-set-storage.js';
export {
  createSupportSet,
  type SupportSetStore,
  type SupportSetPatch,
  type SupportLabel,
  type SupportSetChange,
  type SupportSetEvents,
} from '../core/support-set/support-set.js';
export { parseSupportSet, serializeSupportSet } from '../core/support-set/support-set-file.js';
export { DEFAULT_SUPPORT_CLASS, type SupportClass } from '../core/support-set/support-classes.js';
export {
  parseClassHeads,
  serializeClassHeads,
  type ClassHead,
  type ClassHeadsJson,
} from '../core/adaptation/class-heads.js';
export { adaptClasses, type ClassAdaptRequest, type ClassAdaptAnswer } from '../core/session/class-adapt.js';
export {
  composeClasses,
  measureClassCells,
  classCellsToGeoJson,
  classCellRows,
  type ClassCells,
} from '../core/cells/class-composition.js';
export { SupportSetFileError, type SupportSetFileErrorCode } from '../core/support-set/support-set-file-error.js';
export {
  parseHead,
  serializeHead,
  HeadError,
  type Head,
  type HeadEnsemble,
  type HeadJson,
} from '../core/adaptation/head.js';
export { cellContours, type CellContour } from '../core/cells/cell-contours.js';
export {
  cellsToGeoJson,
  cellsToGeoJsonReport,
  type CellFeatureCollection,
  type GeoJsonExportReport,
} from '../core/cells/geojson-export.js';
export { gzip, gunzip, textOfFile } from '../core/cells/gzip.js';
export {
  importQuPathAnnotations,
  parseQuPathGeoJson,
  QuPathImportError,
  type QuPathAnnotations,
  type QuPathImportOptions,
  type QuPathImportReport,
} from '../core/support-set/qupath-import.js';
export { inferenceGrid, type InferenceGrid } from '../core/inference/inference-grid.js';
export { DEFAULT_TILING, TILINGS, type Tiling } from '../core/inference/tiling.js';
export { describeTileSource } from './slide/tile-source-description.js';
export type { TileImagesDescription } from '../core/slide/tile-description.js';

// JPEG 2000 slides opened on the main thread (openTiff) decode with the OpenJPEG wasm the host's
// bundler emitted from this package's literal (plugin/assets.ts), not one looked for beside
// whatever file the bundler put this code in. registerJpeg2000({ wasmUrl }) still overrides it.
registerJpeg2000({ wasmUrl: resolveAssets().openjpegWasm });
