import { loadBundle, type ExtractorBundle } from '../core/msd/bundle.js';

/**
 * The files the plugin loads by URL. This module sits one folder deep in the sources (plugin/)
 * as dist/index.js does in the build, so the same relative URLs resolve beside the package in
 * both; keep it at this depth.
 */

/** The bundled worker sits next to the bundled plugin. Tests and unbundled use pass their own. */
export const DEFAULT_WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * The extractor set shipped with the package (models/default, trained on CoNSeP; see
 * models/README.md); the demo build copies it under dist/.
 */
export const DEFAULT_EXTRACTORS_URL = new URL('../models/default/extractors.json', import.meta.url);

/** Loads the shipped extractors; used whenever the embedding app names none. */
export function loadDefaultExtractors(options: { signal?: AbortSignal } = {}): Promise<ExtractorBundle> {
  return loadBundle(DEFAULT_EXTRACTORS_URL, options);
}
