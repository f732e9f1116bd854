import { loadBundle, type ExtractorBundle } from '../worker/extractor-bundle.js';

/**
 * The extractor set shipped with the package (models/default, trained on CoNSeP; see
 * models/README.md). The path is the same from plugin/ in the sources and from dist/ in the
 * build, so it resolves beside the package either way; the demo build copies it under dist/.
 */
export const DEFAULT_EXTRACTORS_URL = new URL('../models/default/extractors.json', import.meta.url);

/** Loads the shipped extractors; used whenever the embedding app names none. */
export function loadDefaultExtractors(options: { signal?: AbortSignal } = {}): Promise<ExtractorBundle> {
  return loadBundle(DEFAULT_EXTRACTORS_URL, options);
}
