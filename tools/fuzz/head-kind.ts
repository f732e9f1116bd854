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
 * model) and run on a 32×32 tile: an accepted head must give finite probabilities, and one with an
 * ensemble (seed 2 has one) a finite uncertainty in [0, 1] (core/inference/uncertainty.ts).
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
        const members = [0, 1, 2].map(() => ({ W: W.map((w) => w + random.gaussian() / 10), b: random.gaussian() }));
        const ensemble = { version: 1 as const, method: 'bootstrap' as const, seed, rows: 1000, members };
        return jsonBytes(
          serializeHead({
            W,
            b: random.gaussian(),
            featureStats: { mean: W.map(() => random.next()), std: W.map(() => 0.5 + random.next()) },
            threshold: 0.5,
            metadata: { extractors: extractorSignature(extractors), className: 'lymphocyte', shots: 5 },
            ...(seed === 2 ? { ensemble } : {}),
          }),
        );
      });
    },
    mutate: mutateJson,
    async check(bytes, signal) {
      const head = parseHead(jsonText(bytes), extractors);
      checkHeadWeights(head, features);
      const members = head.ensemble?.members;
      members?.forEach((m) => checkHeadWeights(m, features));
      const { model, uncertain } = createSimdHeadPatchModel(
        { W: head.W, b: head.b, ...(members ? { members } : {}) },
        extractors.map((e) => e.weights),
      );
      const p = await model(tile, 32, 32, signal);
      const bad = nonFinite(p);
      if (bad > 0) throw new Error(`accepted, but ${bad} of ${p.length} probabilities are not finite`);
      if (uncertain) {
        const { uncertainty } = await uncertain(tile, 32, 32, signal);
        const wrong = uncertainty.filter((u) => !(u >= 0 && u <= 1)).length;
        if (wrong > 0)
          throw new Error(`accepted, but ${wrong} of ${uncertainty.length} uncertainties are not in [0, 1]`);
      }
    },
    isTyped: (error) => error instanceof HeadError && typeof error.code === 'string',
  };
}
