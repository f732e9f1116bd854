import type { HeadPatchModel } from './head-patch-model.js';
import { MsdWorkspace, packMsdParams } from '../msd/engine.js';
import { checkMsdWeights, type MsdWeights } from '../msd/weights.js';
import type { PatchModel, UncertainPatchModel } from './patch-model.js';
import { tileUncertainty } from './uncertainty.js';
import { linearHeads, type LinearHead } from './linear-heads.js';

/**
 * The head patch model (head-patch-model.ts) without TF.js: every extractor's feature maps
 * from the training engine's forward pass (engine.ts: mirror-padded planes, the
 * convolutions as WebAssembly SIMD), then p = σ(b + Σ_c W_c·g_c(x)).
 *
 * Why: on the TF.js wasm backend a depth-25 extractor takes ~170 ms per 256² patch, because a
 * width-1 layer (one output channel) is a poor fit for its matrix kernels; the direct loop that
 * reads each input row once for all nine taps is faster: per patch of three extractors, ~6× at
 * depth 25, ~4× at 50, ~2.4× at 100 (tools/bench-patch-model.ts): TF.js's matrix products get
 * more efficient as layers see more channels, while the direct loop runs at the same ~6 GMAC/s
 * per core at every depth and size measured (64² and 256², depth 25 and 100), so it is bound by
 * arithmetic, not memory. On webgpu the fused kernels run instead (webgpu-patch-model.ts), on webgl TF.js.
 *
 * One feature buffer serves all extractors (msd_pytorch keeps one too): they run one after the
 * other in a workspace as deep as the deepest, and each adds its share of the logit before the
 * next overwrites the maps, so the [pixels, C'] concatenation never exists. Buffers are made for
 * the first patch size seen and reused; only the returned probabilities are new per patch (the
 * caller keeps them: stitching, the patch memo).
 */
export interface SimdPatchModelOptions {
  /** false: the plain-JS loops even where WebAssembly SIMD exists (for comparing the two). */
  readonly simd?: boolean;
}

export interface SimdHeadPatchModel extends HeadPatchModel {
  /** Whether the WebAssembly SIMD loops run; false where the platform lacks them (plain JS then). */
  readonly usesSimd: boolean;
}

interface Buffers {
  readonly width: number;
  readonly height: number;
  readonly workspace: MsdWorkspace;
}

/**
 * A PatchModel from a head and the weights of the extractors it was fitted on, in the head's
 * order (W is their features concatenated: C' = Σ depths). Same inputs, same mirror padding,
 * same normalisation and same output as createHeadPatchModel, within float32 rounding.
 */
export function createSimdHeadPatchModel(
  head: LinearHead,
  extractors: readonly MsdWeights[],
  options: SimdPatchModelOptions = {},
): SimdHeadPatchModel {
  if (extractors.length === 0) throw new Error('a head needs at least one extractor');
  extractors.forEach(checkMsdWeights);
  const channels = extractors.reduce((sum, e) => sum + e.layers.length, 0);
  const heads = linearHeads(head, channels);
  const inputChannels = extractors[0].inputChannels;
  // A PatchModel is given RGB: the TF.js model would fail on the first patch; say so now.
  if (extractors.some((e) => e.inputChannels !== 3))
    throw new Error(
      `patch models read RGB: every extractor must take 3 input channels, ` +
        `got ${extractors.map((e) => e.inputChannels).join(', ')}`,
    );
  const params = extractors.map(packMsdParams);
  const weights = heads.map((h) => Float32Array.from(h.W));
  const starts = extractors.map((_, i) => extractors.slice(0, i).reduce((sum, e) => sum + e.layers.length, 0));
  const depth = Math.max(...extractors.map((e) => e.layers.length));
  const simd = options.simd ?? true;

  let buffers: Buffers | undefined;
  const buffersFor = (width: number, height: number): Buffers => {
    if (buffers?.width !== width || buffers.height !== height) {
      // Dropped, not kept beside the new ones: the patch grid gives one size, and a workspace
      // for 256² at depth 25 holds ~8.5 MB.
      buffers = undefined;
      // One logit plane per head: the ensemble's members add their share of each network's maps
      // while the maps are there (~2 MB a plane for a whole 762² read).
      const workspace = new MsdWorkspace({
        inputChannels,
        depth,
        height,
        width,
        samples: 1,
        training: false,
        simd,
        logitPlanes: heads.length,
      });
      buffers = { width, height, workspace };
    }
    return buffers;
  };
  // Probe once so that usesSimd is known before the first patch (1×1 buffers are tiny).
  const usesSimd = new MsdWorkspace({ inputChannels, depth, height: 1, width: 1, samples: 1, training: false, simd })
    .usesSimd;
  let disposed = false;

  /** Every head's logit plane filled for this patch; returns the workspace. */
  const forward = (rgb: Uint8Array, width: number, height: number, signal: AbortSignal | undefined) => {
    if (disposed) throw new Error('this head model has been disposed');
    signal?.throwIfAborted();
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
      throw new RangeError(`a patch must be at least 1×1 pixels, got ${width}×${height}`);
    if (rgb.length !== width * height * 3)
      throw new RangeError(`a ${width}×${height} RGB patch has ${width * height * 3} bytes, got ${rgb.length}`);
    // No abort checks between extractors: the work is synchronous, so a signal cannot change
    // until it returns (~tens of ms); the engine checks between patches.
    const { workspace } = buffersFor(width, height);
    heads.forEach((h, k) => workspace.resetLogit(h.b, k));
    extractors.forEach((e, i) => {
      const layers = e.layers.length;
      workspace.forwardFeatures(0, params[i], rgb, e.normalisation, layers);
      for (let k = 0; k < heads.length; k++) workspace.addWeightedMaps(0, weights[k], starts[i], layers, k);
    });
    return workspace;
  };

  const model: PatchModel = async (rgb, width, height, signal) => {
    const workspace = forward(rgb, width, height, signal);
    const probability = new Float32Array(width * height);
    workspace.logitSigmoid(probability);
    return probability;
  };

  const uncertain: UncertainPatchModel = async (rgb, width, height, signal) => {
    const workspace = forward(rgb, width, height, signal);
    const planes = heads.map((_, k) => {
      const p = new Float32Array(width * height);
      workspace.logitSigmoid(p, k);
      return p;
    });
    return { probabilities: planes[0], uncertainty: tileUncertainty(planes[0], planes.slice(1)) };
  };

  return {
    model,
    ...(heads.length > 1 ? { uncertain } : {}),
    usesSimd,
    dispose() {
      disposed = true;
      buffers = undefined;
    },
  };
}
