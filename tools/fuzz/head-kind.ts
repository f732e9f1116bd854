import { checkHeadWeights, HeadError, parseHead, serializeHead } from '../../core/adaptation/head.js';
import { extractorSignature } from '../../core/msd/extractor-signature.js';
import { createSimdHeadPatchModel } from '../../core/inference/simd-patch-model.js';
import { SeededRandom } from '../../core/math/seeded-random.js';
import type { FuzzKind } from './fuzz-kind.js';
import { fuzzExtractors, fuzzTile, nonFinite } from './fuzz-extractors.js';
import { jsonBytes, jsonText, mutateJson } from './json-mutator.js';

/**
 * Head files (core/adaptation/head.ts), read as the session reads a loaded head (parseHead against
 * the loaded extractors), then installed as a worker installs one (checkHeadWeights, the SIMD patch
 * model) and run on a 32×32 tile: an accepted head must give finite probabilities.
 */
export function headKind(): FuzzKind {
  const extractors = fuzzExtractors();
  const features = extractors.reduce((sum, e) => sum + e.weights.layers.length, 0);
  const tile = fuzzTile(32, 32);
  return {
    name: 'head',
    async seeds() {
      return [1, 2].map((seed) => {
        const random = new SeededRandom(seed);
        const W = Array.from({ length: features }, () => random.gaussian() / 2);
        return jsonBytes(
          serializeHead({
            W,
            b: random.gaussian(),
            featureStats: { mean: W.map(() => random.next()), std: W.map(() => 0.5 + random.next()) },
            threshold: 0.5,
            metadata: { extractors: extractorSignature(extractors), className: 'lymphocyte', shots: 5 },
          }),
        );
      });
    },
    mutate: mutateJson,
    async check(bytes, signal) {
      const head = parseHead(jsonText(bytes), extractors);
      checkHeadWeights(head, features);
      const { model } = createSimdHeadPatchModel(
        head,
        extractors.map((e) => e.weights),
      );
      const p = await model(tile, 32, 32, signal);
      const bad = nonFinite(p);
      if (bad > 0) throw new Error(`accepted, but ${bad} of ${p.length} probabilities are not finite`);
    },
    isTyped: (error) => error instanceof HeadError && typeof error.code === 'string',
  };
}
