import type { ExtractorBundle, ExtractorClass } from './bundle.js';

/**
 * Which extractors, in which order, a head's weights belong to — without TF.js, so the main
 * thread can check a head against the extractors the workers loaded.
 */

/** An extractor bundle, or its classes (e.g. a subset of them). */
export type ExtractorSet = ExtractorBundle | readonly ExtractorClass[];

export interface ExtractorSignature {
  readonly name: string;
  readonly depth: number;
}

export function extractorClasses(set: ExtractorSet): readonly ExtractorClass[] {
  return 'classes' in set ? set.classes : set;
}

export function extractorSignature(set: ExtractorSet): ExtractorSignature[] {
  return extractorClasses(set).map((c) => ({ name: c.name, depth: c.weights.layers.length }));
}
