// The sample-slide toolkit: a deterministic synthetic H&E renderer and the writers
// that turn it into a pyramidal TIFF, a label mask and a labelled patch set.
export { renderRegion, type RenderedRegion } from './render.js';
export { NUCLEUS_CLASSES, DEFAULT_MPP, CLASS_COUNT, type SlideSpec, type NucleusClass } from './spec.js';
export { buildPyramid, downsample2x, levelSizes, THUMBNAIL_SIZE, type Raster, type LevelSize } from './pyramid.js';
export {
  TiffWriter,
  TiffImageWriter,
  encodeTiff,
  writeTiffFile,
  createTiffFile,
  type TiffImageOptions,
  type TiffImageInput,
  type TiffCompression,
  type ByteSink,
} from './tiff.js';
export { renderRegions, defaultWorkerCount, type Region } from './render-pool.js';
export { writeSlideFiles, slideDescription, TILE_SIZE, type WriteSlideOptions } from './write-slide.js';
export { makePatchDataset, type PatchDatasetOptions, type PatchRecord } from './patches.js';
export {
  makeSampleSlide,
  patchSeed,
  SAMPLE_FORMAT_VERSION,
  SLIDE_FILE,
  LABELS_FILE,
  MANIFEST_FILE,
  PATCHES_DIR,
  type MakeSampleSlideOptions,
  type MakeSampleSlideResult,
  type SampleSlideManifest,
  type FileRecord,
} from './make-sample-slide.js';
