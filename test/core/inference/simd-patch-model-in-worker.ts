/**
 * Test fixture: a module worker that builds the SIMD head patch model and runs one patch, so the
 * browser test can check that its run-time-assembled WebAssembly also compiles and runs inside
 * a Web Worker (no TF.js backend is started here: the model needs none).
 */
import type { LinearHead } from '../../../core/inference/head-patch-model.js';
import type { MsdWeights } from '../../../core/msd/weights.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';

export interface SimdWorkerRequest {
  head: LinearHead;
  extractors: MsdWeights[];
  rgb: Uint8Array;
  width: number;
  height: number;
}

export type SimdWorkerReply = { usesSimd: boolean; probability: Float32Array; again: Float32Array } | { error: string };

self.onmessage = async (event: MessageEvent<SimdWorkerRequest>) => {
  try {
    const { head, extractors, rgb, width, height } = event.data;
    const model = createSimdHeadPatchModel(head, extractors);
    const probability = await model.model(rgb, width, height);
    // A second patch through the same buffers, as the engine runs them.
    const again = await model.model(rgb, width, height);
    model.dispose();
    self.postMessage({ usesSimd: model.usesSimd, probability, again } satisfies SimdWorkerReply);
  } catch (err) {
    self.postMessage({ error: err instanceof Error ? err.message : String(err) } satisfies SimdWorkerReply);
  }
};
