import type { AdaptOptions, AdaptProgress, AdaptReport } from '../core/adaptation/adapt.js';
import type { PatchFeatures, SupportFeatureChoice } from '../core/adaptation/support-row-features.js';
import type { HeadEnsemble, HeadJson } from '../core/adaptation/head.js';
import type { EnsembleOptions, EnsembleProgress } from '../core/adaptation/ensemble-options.js';
import type { GridPatch } from '../core/support-set/support-patches.js';
import type { GridOptions } from '../core/inference/patch-grid.js';
import type { Rect } from '../core/math/rect.js';
import type { TileTarget } from '../core/session/compute.js';
import type { SlideDescription, SlideInfo } from '../core/slide/pixel-source.js';
import type { PortSlideDescription } from '../core/slide/port-bytes.js';

export type { SlideInfo } from '../core/slide/pixel-source.js';
import type { TransferableError } from '../core/errors/transferable-error.js';
import type { BackendName } from '../core/msd/backend-name.js';
import type { HeadEngine } from '../core/inference/head-engine.js';
import type { GpuAdapterSummary } from '../core/msd/gpu-adapter.js';
import type { WasmPaths } from '../core/msd/wasm-paths.js';
import type { TissueMask } from '../core/slide/tissue-mask.js';
import type { TracedContours, TraceWindow } from '../core/cells/traced-contours.js';
import type { DescriptorRegion } from '../core/active/region-descriptors.js';
import type { StainMethod } from '../core/stain/stain-stats.js';

/**
 * Where a worker gets its extractors: a bundle URL (it fetches the manifest and weights
 * itself), the user's two files, or a manifest already parsed with its weights buffer.
 * `stain`: input stain normalisation to the bundle's training stain (core/stain/; default 'none'),
 * part of the extractors because a head fitted on normalised pixels only fits normalised pixels.
 */
export type ExtractorSource =
  /** `weightsUrl`: where the weights file is when not beside the manifest (a bundler renamed the two). */
  (
    | { readonly kind: 'url'; readonly url: string; readonly weightsUrl?: string }
    | { readonly kind: 'files'; readonly manifest: Blob; readonly weights: Blob }
    | { readonly kind: 'decoded'; readonly manifest: unknown; readonly weights: ArrayBuffer }
  ) & { readonly stain?: StainMethod };

/** The files a worker fetches by URL (set-assets). */
export interface WorkerAssets {
  /** TF.js' wasm binaries: a folder URL ending in '/', or each file's URL by its name. */
  readonly tfjsWasm?: WasmPaths;
  /** OpenJPEG's decoder (openjpegwasm_decode.wasm), for JPEG 2000 slides. */
  readonly openjpegWasm?: string;
}

/** The perceptron over the concatenated features of the loaded extractors. */
export interface HeadWeights {
  readonly W: readonly number[];
  readonly b: number;
  /**
   * Its ensemble's members (core/adaptation/head-ensemble.ts): with them, a 'whole' tile's answer
   * carries each pixel's uncertainty (core/inference/uncertainty.ts).
   */
  readonly members?: readonly { readonly W: readonly number[]; readonly b: number }[];
}

/**
 * Messages between the main thread and a worker. Every request carries an id; the worker
 * answers each with exactly one response of the same id (result or error), so the client can
 * settle its promise, and an 'abort' for that id makes the answer an 'aborted' error.
 */
export type WorkerRequest =
  /** A URL slide comes as the bytes of the page's one reader of it, through a transferred port (port-bytes.ts). */
  | { readonly type: 'open'; readonly id: number; readonly slide: SlideDescription | PortSlideDescription }
  | {
      readonly type: 'read';
      readonly id: number;
      readonly slideId: number;
      readonly level: number;
      readonly x: number;
      readonly y: number;
      readonly width: number;
      readonly height: number;
    }
  | { readonly type: 'close'; readonly id: number; readonly slideId: number }
  /**
   * Where the worker fetches its WebAssembly: absolute URLs the page resolved (plugin/assets.ts:
   * literals its bundler emitted, or under assetsBaseUrl). The first request a plugin worker gets;
   * the worker never works out asset URLs from its own location, which a bundler moves.
   */
  | { readonly type: 'set-assets'; readonly id: number; readonly assets: WorkerAssets }
  /**
   * Start a TF.js backend: each of `backends` in turn (named, so software GPUs are allowed),
   * or, without it, the automatic order webgpu → webgl → wasm → cpu that skips software GPUs.
   */
  | {
      readonly type: 'init-backend';
      readonly id: number;
      readonly backends?: readonly BackendName[];
      readonly wasmPaths?: WasmPaths;
      readonly allowSoftwareGpu?: boolean;
      /** Bytes of patch probabilities kept for neighbouring tiles to reuse (default 64 MiB; 0: none). */
      readonly patchMemoBytes?: number;
    }
  /** Replaces the worker's extractors; `key` names the set so jobs can say which one they mean. */
  | { readonly type: 'load-extractors'; readonly id: number; readonly key: string; readonly source: ExtractorSource }
  /** Replaces the worker's head; W must have one weight per feature of the loaded extractors. */
  | { readonly type: 'set-head'; readonly id: number; readonly key: string; readonly head: HeadWeights }
  /**
   * The probabilities of one output rectangle of a slide level or of an inference grid (`target`;
   * the worker resamples the grid's level itself), by `tiling` (core/inference/tiling.ts): one
   * forward over the rectangle and the loaded extractors' receptive-field margin, or the patch
   * grid's patches averaged. Refused unless the loaded extractors and head are the ones named (a
   * job never runs with a model it was not queued for).
   */
  | ({
      readonly type: 'predict-tile';
      readonly id: number;
      readonly slideId: number;
      readonly target: TileTarget;
      /** In the target's pixels. */
      readonly tile: Rect;
      readonly extractorsKey: string;
      readonly headKey: string;
      /** Also trace the tile's cells at this threshold (core/cells/traced-contours.ts): the page then need not. */
      readonly contours?: { readonly threshold: number };
    } & (
      | { readonly tiling: 'whole' }
      | {
          readonly tiling: 'patches';
          /** The patch grid (patch size and stride; default 256 and 64). */
          readonly grid?: GridOptions;
        }
    ))
  /**
   * The probabilities of several adjacent output rectangles ('whole' tiling) from ONE forward over
   * their bounding rectangle plus the margin (core/inference/predict-whole-tile.ts's
   * predictWholeBlock): the margin is read and computed once per block, not once per tile. Each
   * tile equals the same tile asked alone with 'predict-tile'. Refused unless the loaded
   * extractors and head are the ones named.
   */
  | {
      readonly type: 'predict-block';
      readonly id: number;
      readonly slideId: number;
      readonly target: TileTarget;
      /** In the target's pixels; adjacent tiles filling their bounding rectangle. */
      readonly tiles: readonly Rect[];
      readonly extractorsKey: string;
      readonly headKey: string;
      /** Also trace each tile's cells at this threshold. */
      readonly contours?: { readonly threshold: number };
    }
  /** Where the slide has tissue, from a small overview (tissue-mask.ts). */
  | {
      readonly type: 'tissue-mask';
      readonly id: number;
      readonly slideId: number;
      readonly maxSide?: number;
      readonly minSaturation?: number;
    }
  /**
   * Fits a head to support patches of a slide (adapt.ts) with the loaded extractors. The worker
   * reads the patches' pixels itself, from `target` (a level, or an inference grid it resamples);
   * patch x, y are in those pixels. Progress comes as 'adapt-progress' messages.
   */
  | {
      readonly type: 'adapt';
      readonly id: number;
      readonly slideId: number;
      readonly target: TileTarget;
      /** Grid pixels of `target` (core/support-set/support-patches.ts). */
      readonly patches: readonly GridPatch[];
      readonly options?: Partial<Omit<AdaptOptions, 'metadata'>>;
      readonly metadata?: Record<string, unknown>;
      /**
       * Features of some patches computed already by other workers ('support-features'), by
       * patch index (null: compute it here). Transferred.
       */
      readonly features?: readonly (PatchFeatures | null)[];
    }
  /**
   * The support features of some patches (support-row-features.ts's supportPatchFeatures), for an
   * 'adapt' in another worker: how a pool spreads the feature extraction over its workers. Refused
   * unless the loaded extractors are the ones named.
   */
  | {
      readonly type: 'support-features';
      readonly id: number;
      readonly slideId: number;
      readonly target: TileTarget;
      readonly patches: readonly {
        readonly x: number;
        readonly y: number;
        readonly size: number;
        readonly mask: Uint8Array;
      }[];
      readonly extractorsKey: string;
      readonly features?: SupportFeatureChoice;
    }
  /**
   * Descriptors of windows for the next-patch ranking (core/active/region-descriptors.ts): per
   * region one forward of the loaded extractors, each window's mean features. Refused unless the
   * loaded extractors are the ones named.
   */
  | {
      readonly type: 'window-descriptors';
      readonly id: number;
      readonly slideId: number;
      readonly target: TileTarget;
      readonly regions: readonly DescriptorRegion[];
      readonly extractorsKey: string;
    }
  /**
   * The cells of a probability map at a threshold (core/cells/traced-contours.ts): a threshold
   * change re-traced off the page. Not queued behind TF.js work: it runs as soon as the worker's
   * thread is free.
   */
  | {
      readonly type: 'trace-contours';
      readonly id: number;
      readonly probabilities: Float32Array;
      readonly width: number;
      readonly height: number;
      readonly threshold: number;
      /** A tile with margins of its neighbours: that tile's cells, whole across its seams. */
      readonly window?: TraceWindow;
    }
  /**
   * Fits the ensemble of the head this worker just adapted (`head`: its W and b, which must be
   * that head's): from the basis its 'adapt' kept (head-ensemble.ts), so no feature is computed
   * again. Progress comes as 'adapt-progress' messages ({ phase: 'ensemble', done, total }).
   * Refused (AdaptError 'no-basis') by a worker that did not fit that head.
   */
  | {
      readonly type: 'fit-ensemble';
      readonly id: number;
      readonly head: { readonly W: readonly number[]; readonly b: number };
      readonly options?: Partial<EnsembleOptions>;
    }
  /** TF.js memory of this worker, for leak checks. */
  | { readonly type: 'memory'; readonly id: number }
  /** Cancels a queued or running request; its answer becomes an 'AbortError' error. */
  | { readonly type: 'abort'; readonly id: number };

/**
 * An error flattened for postMessage (class identity does not survive structured cloning): a
 * BundleError, AdaptError, HeadError or SlideError names its class and code and is rebuilt as one
 * on the other side (core/errors/transferable-error.ts); any other error keeps name and message.
 */
export type WorkerError = TransferableError;

export type WorkerResponse =
  | { readonly type: 'opened'; readonly id: number; readonly info: SlideInfo }
  | { readonly type: 'pixels'; readonly id: number; readonly pixels: Uint8Array }
  | { readonly type: 'closed'; readonly id: number }
  | { readonly type: 'assets-set'; readonly id: number }
  /**
   * `failures`: why each backend tried before it did not start; `gpu`: the WebGPU adapter the
   * worker sees, whatever backend started (absent where there is none), real or software.
   */
  | {
      readonly type: 'backend';
      readonly id: number;
      readonly backend: BackendName;
      readonly failures: readonly string[];
      readonly gpu?: GpuAdapterSummary;
    }
  | {
      readonly type: 'extractors-loaded';
      readonly id: number;
      readonly key: string;
      readonly extractors: readonly { readonly name: string; readonly depth: number }[];
      readonly mpp: number;
      /** What loading could not check (an old bundle without checksum or probe): core/msd/bundle.ts. */
      readonly warnings?: readonly string[];
    }
  /** `engine`: what runs the head's forward here (the fused kernels on webgpu, the SIMD engine on wasm). */
  | { readonly type: 'head-set'; readonly id: number; readonly key: string; readonly engine: HeadEngine }
  /**
   * tile.width × tile.height values, row-major; `patches`: forwards of the model it took (patches
   * reused from the memo not counted; 1 for a whole-forward tile).
   */
  | {
      readonly type: 'probabilities';
      readonly id: number;
      readonly probabilities: Float32Array;
      readonly patches: number;
      readonly ms: number;
      /** When the request asked for them; their rings are transferred. */
      readonly contours?: TracedContours;
      /**
       * Each pixel's uncertainty, round(255·u) (core/inference/uncertainty.ts), when the head has an
       * ensemble and the tiling is 'whole'; transferred.
       */
      readonly uncertainty?: Uint8Array;
    }
  /** One per requested tile, in order; arrays and rings transferred. `ms`: the whole block's. */
  | {
      readonly type: 'block-probabilities';
      readonly id: number;
      readonly tiles: readonly {
        readonly probabilities: Float32Array;
        readonly contours?: TracedContours;
        /** As 'probabilities' answers carry it. */
        readonly uncertainty?: Uint8Array;
      }[];
      readonly ms: number;
    }
  /** Their rings are transferred. */
  | { readonly type: 'contours'; readonly id: number; readonly contours: TracedContours }
  | {
      readonly type: 'memory';
      readonly id: number;
      readonly numTensors: number;
      readonly numBytes: number;
      readonly backend: string;
    }
  | { readonly type: 'tissue-mask'; readonly id: number; readonly mask: TissueMask }
  /** Not an answer: a step of a running 'adapt' (any number of them before its answer). */
  | { readonly type: 'adapt-progress'; readonly id: number; readonly progress: AdaptProgress | EnsembleProgress }
  | { readonly type: 'ensemble'; readonly id: number; readonly ensemble: HeadEnsemble }
  | { readonly type: 'adapted'; readonly id: number; readonly head: HeadJson; readonly report: AdaptReport }
  /** One per requested patch, in order; their arrays are transferred. */
  | { readonly type: 'support-features'; readonly id: number; readonly features: readonly PatchFeatures[] }
  /** Per region, its windows' descriptors in order (C' floats each); transferred. */
  | { readonly type: 'window-descriptors'; readonly id: number; readonly descriptors: readonly Float32Array[][] }
  | { readonly type: 'error'; readonly id: number; readonly error: WorkerError };

/** What a worker talks through: its own global scope, or one end of a MessageChannel. */
export interface WorkerEndpoint {
  postMessage(message: WorkerResponse, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => unknown) | null;
}

/**
 * The client's side of a worker: a Web Worker, or anything that speaks like one (an in-thread
 * worker for Node, worker/in-thread-worker.ts). The pool and the slide client use only this.
 */
export interface WorkerLike {
  postMessage(message: WorkerRequest, transfer?: Transferable[]): void;
  terminate(): void;
  onmessage: ((event: MessageEvent<WorkerResponse>) => unknown) | null;
  onerror: ((event: ErrorEvent) => unknown) | null;
  onmessageerror: ((event: MessageEvent) => unknown) | null;
}
