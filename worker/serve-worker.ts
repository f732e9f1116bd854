import * as tf from '@tensorflow/tfjs';
import { adapt } from '../core/adaptation/adapt.js';
import { supportPatchFeatures } from '../core/adaptation/support-row-features.js';
import { loadBundle, readBundle, type ExtractorBundle } from '../core/msd/bundle.js';
import { checkHeadWeights, serializeHead } from '../core/adaptation/head.js';
import { readGridPatches } from '../core/support-set/support-patches.js';
import type { HeadEngine } from '../core/inference/head-engine.js';
import { createHeadPatchModel, type HeadPatchModel } from '../core/inference/head-patch-model.js';
import { createMsd, type MsdNetwork } from '../core/msd/tf-network.js';
import { PatchMemo } from '../core/inference/patch-memo.js';
import { gridKey, patchMemoScope } from '../core/inference/keys.js';
import type { TileTarget } from '../core/session/compute.js';
import type { PixelSource } from '../core/slide/pixel-source.js';
import type { Rect } from '../core/math/rect.js';
import { predictTile } from '../core/inference/predict-tile.js';
import { predictWholeBlock, predictWholeBlockUncertain } from '../core/inference/predict-whole-tile.js';
import { receptiveMargin } from '../core/inference/receptive-field.js';
import type { ExtractorSource, WorkerEndpoint, WorkerRequest, WorkerResponse } from './protocol.js';
import { resampledSource } from '../core/inference/resampled-source.js';
import { createSimdHeadPatchModel } from '../core/inference/simd-patch-model.js';
import { flattenError } from '../core/errors/transferable-error.js';
import { startBackend, type BackendName, type WasmPaths } from '../core/msd/tf-backend.js';
import { webgpuDevice } from '../core/msd/tf-webgpu-device.js';
import { describeGpuAdapter } from '../core/msd/gpu-adapter.js';
import { createWebGpuHeadPatchModel } from '../core/inference/webgpu-patch-model.js';
import { registerJpeg2000 } from '../core/slide/jpeg2000.js';
import { openTiff } from '../core/slide/tiff-source.js';
import { openTileImages } from '../core/slide/tile-image-source.js';
import { readTissueMask } from '../core/slide/tissue-mask.js';
import { contoursTransfer, traceContours } from '../core/cells/traced-contours.js';
import { stainInput, type StainInput } from '../core/stain/stain-input.js';
import { regionDescriptors } from '../core/active/region-descriptors.js';
import { fitHeadEnsemble, type EnsembleBasis } from '../core/adaptation/head-ensemble.js';
import { AdaptError } from '../core/adaptation/adapt-error.js';
import { quantiseUncertainty } from '../core/inference/uncertainty.js';

// TF.js work runs one request at a time, in arrival order: one thread gains nothing from
// interleaving, and a head or extractor swap must not happen in the middle of a tile. Slide
// reads stay concurrent. TF.js is one engine per thread, so workers served in one thread share the queue.
let tfQueue: Promise<unknown> = Promise.resolve();
function serial<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  const run = tfQueue.then(() => {
    // Aborted while waiting its turn: it never starts.
    signal.throwIfAborted();
    return work();
  });
  tfQueue = run.catch(() => undefined);
  return run;
}

/**
 * The worker: answers the protocol's requests (protocol.ts) arriving on `endpoint`. All its state
 * (open slides, backend, extractors, head) lives in this call, so several can serve in one thread —
 * the Node tests run the same pool over in-thread channels — while worker-entry.ts serves `self`.
 */
export function serveWorker(endpoint: WorkerEndpoint): void {
  // The worker reads the slide's bytes itself (URL or Blob) so that decoded pixels never cross
  // the main thread and nothing is re-encoded on the way.
  const slides = new Map<number, PixelSource>();
  /** Resampled views of open slides (inference grids): by slide id, then grid key. */
  const resampled = new Map<number, Map<string, PixelSource>>();
  const running = new Map<number, AbortController>();
  let nextSlideId = 1;

  // Model state. A head only has meaning with the extractors it was fitted on, so loading other
  // extractors drops the head; the client sends the head again.
  let backend: BackendName | undefined;
  /** `margin`: their receptive-field margin, what a whole-forward tile reads around itself. */
  let extractors: { key: string; networks: MsdNetwork[]; names: string[]; margin: number } | undefined;
  /** Input stain normalisation of the loaded extractors, per slide (core/stain/stain-input.ts). */
  let stain: StainInput | undefined;
  let head: { key: string; compiled: HeadPatchModel } | undefined;
  /**
   * What this worker's last adaptation left for its head's ensemble (head-ensemble.ts: ~10 MB),
   * with that head's W and b; kept until the next adaptation or extractor change.
   */
  let basis: { W: readonly number[]; b: number; basis: EnsembleBasis } | undefined;
  /** Patch probabilities under the current head, shared by neighbouring tiles ('patches' tiling only). */
  const DEFAULT_PATCH_MEMO_BYTES = 64 * 2 ** 20;
  let memo = new PatchMemo(DEFAULT_PATCH_MEMO_BYTES);

  function reply(message: WorkerResponse, transfer: Transferable[] = []): void {
    endpoint.postMessage(message, transfer);
  }

  /** From set-assets: where TF.js' wasm binaries are (init-backend's own `wasmPaths` wins). */
  let wasmPaths: WasmPaths | undefined;

  async function ensureBackend(): Promise<void> {
    backend ??= (await startBackend(undefined, { wasmPaths })).backend;
  }

  function dropHead(): void {
    head?.compiled.dispose();
    head = undefined;
    memo.clear();
  }

  async function readExtractors(source: ExtractorSource, signal: AbortSignal): Promise<ExtractorBundle> {
    switch (source.kind) {
      case 'url':
        return loadBundle(source.url, { signal, weightsUrl: source.weightsUrl });
      case 'files':
        return loadBundle({ manifest: source.manifest, weights: source.weights }, { signal });
      case 'decoded':
        return readBundle(source.manifest, source.weights);
    }
  }

  /**
   * Where a target's pixels are read: a level of the slide as it is, or level 0 of the slide's
   * resampled view for the grid (made once per grid: a view keeps the tiles it read).
   */
  function pixelsOf(slideId: number, target: TileTarget): { source: PixelSource; level: number } {
    const source = slides.get(slideId);
    if (!source) throw new Error(`slide ${slideId} is not open in this worker`);
    if (!target.inference) return { source, level: target.level };
    const grid = target.inference;
    let views = resampled.get(slideId);
    if (!views) resampled.set(slideId, (views = new Map()));
    let view = views.get(gridKey(grid));
    if (!view) {
      view = resampledSource(source, grid.level, grid.width, grid.height);
      views.set(gridKey(grid), view);
    }
    return { source: view, level: 0 };
  }

  /** Where the extractors' pixels are read: pixelsOf's, brought to the bundle's stain when that is on. */
  async function inputPixels(
    slideId: number,
    target: TileTarget,
    signal: AbortSignal,
  ): Promise<{ source: PixelSource; level: number }> {
    const pixels = pixelsOf(slideId, target);
    if (!stain) return pixels;
    const key = `${slideId}/${target.inference ? gridKey(target.inference) : `level-${target.level}`}`;
    return { source: await stain.source(key, slides.get(slideId)!, pixels, signal), level: pixels.level };
  }

  /** The request's input pixels and the loaded extractors, refused unless they are the ones it names. */
  async function namedInput(
    request: { readonly slideId: number; readonly target: TileTarget; readonly extractorsKey: string },
    signal: AbortSignal,
  ) {
    const pixels = await inputPixels(request.slideId, request.target, signal);
    const loaded = extractors;
    if (loaded?.key !== request.extractorsKey)
      throw new Error(`the request wants extractors '${request.extractorsKey}', the worker has '${loaded?.key}'`);
    return { pixels, extractors: loaded };
  }

  /**
   * 'whole' tiles (one, or a block of adjacent ones) from one forward of the current head over
   * their bounding rectangle and margin, with each pixel's uncertainty when the head carries its
   * ensemble's members: E more weighted sums of the same maps. The SIMD engine on wasm/cpu, TF.js
   * on a GPU: nothing is computed twice, so no memo.
   */
  async function wholeTiles(
    pixels: { source: PixelSource; level: number },
    tiles: readonly Rect[],
    signal: AbortSignal,
  ): Promise<{ probabilities: Float32Array; uncertainty?: Uint8Array }[]> {
    const options = { margin: extractors!.margin, signal };
    const { model, uncertain } = head!.compiled;
    if (!uncertain) {
      const all = await predictWholeBlock(pixels.source, pixels.level, tiles, model, options);
      return all.map((probabilities) => ({ probabilities }));
    }
    const all = await predictWholeBlockUncertain(pixels.source, pixels.level, tiles, uncertain, options);
    return all.map((t) => ({ probabilities: t.probabilities, uncertainty: quantiseUncertainty(t.uncertainty) }));
  }

  async function handle(request: Exclude<WorkerRequest, { type: 'abort' }>, signal: AbortSignal): Promise<void> {
    switch (request.type) {
      case 'open': {
        const slide = request.slide;
        const source =
          slide.kind === 'tiles' ? await openTileImages(slide, { signal }) : await openTiff(slide, { signal });
        const slideId = nextSlideId++;
        slides.set(slideId, source);
        reply({
          type: 'opened',
          id: request.id,
          info: { slideId, name: source.name, levels: source.levels, mpp: source.mpp },
        });
        return;
      }
      case 'read': {
        const source = slides.get(request.slideId);
        if (!source) throw new Error(`slide ${request.slideId} is not open in this worker`);
        const { level, x, y, width, height } = request;
        const read = await source.readRegion({ level, x, y, width, height, signal });
        // Transfer, never copy: a region can be tens of megabytes. A view into a larger buffer
        // is copied first so that only its own bytes move.
        const pixels = read.byteLength === read.buffer.byteLength ? read : read.slice();
        reply({ type: 'pixels', id: request.id, pixels }, [pixels.buffer as ArrayBuffer]);
        return;
      }
      case 'set-assets':
        if (request.assets.tfjsWasm !== undefined) wasmPaths = request.assets.tfjsWasm;
        if (request.assets.openjpegWasm !== undefined) registerJpeg2000({ wasmUrl: request.assets.openjpegWasm });
        reply({ type: 'assets-set', id: request.id });
        return;
      case 'close':
        slides.delete(request.slideId);
        resampled.delete(request.slideId);
        stain?.forget(request.slideId);
        reply({ type: 'closed', id: request.id });
        return;
      case 'init-backend':
        return serial(signal, async () => {
          const options = { wasmPaths: request.wasmPaths ?? wasmPaths, allowSoftwareGpu: request.allowSoftwareGpu };
          const failures: string[] = [];
          let started: BackendName | undefined;
          if (!request.backends) {
            const automatic = await startBackend(undefined, options);
            started = automatic.backend;
            failures.push(...automatic.failures);
          }
          for (const name of request.backends ?? []) {
            try {
              started = (await startBackend(name, options)).backend;
              break;
            } catch (err) {
              failures.push(err instanceof Error ? err.message : String(err));
            }
          }
          if (!started)
            throw new Error(`no TF.js backend of ${request.backends!.join(', ')} could start: ${failures.join('; ')}`);
          if (backend !== undefined && started !== backend) {
            // Tensors live on one backend: models made on the old one go, and the client loads them again.
            dropHead();
            basis = undefined;
            extractors?.networks.forEach((n) => n.dispose());
            extractors = undefined;
          }
          backend = started;
          if (request.patchMemoBytes !== undefined && request.patchMemoBytes !== memo.maxBytes)
            memo = new PatchMemo(request.patchMemoBytes);
          const gpu = await describeGpuAdapter();
          reply({ type: 'backend', id: request.id, backend: started, failures, ...(gpu ? { gpu } : {}) });
        });
      case 'load-extractors':
        return serial(signal, async () => {
          await ensureBackend();
          const bundle = await readExtractors(request.source, signal);
          const networks: MsdNetwork[] = [];
          try {
            for (const c of bundle.classes) networks.push(createMsd(c.weights));
          } catch (err) {
            networks.forEach((n) => n.dispose());
            throw err;
          }
          dropHead();
          basis = undefined;
          extractors?.networks.forEach((n) => n.dispose());
          const stainSetup = stainInput(request.source.stain ?? 'none', bundle);
          stain = stainSetup.input;
          extractors = {
            key: request.key,
            networks,
            names: bundle.classes.map((c) => c.name),
            margin: receptiveMargin(networks.map((n) => n.weights)),
          };
          reply({
            type: 'extractors-loaded',
            id: request.id,
            key: request.key,
            extractors: bundle.classes.map((c) => ({ name: c.name, depth: c.weights.layers.length })),
            mpp: bundle.mpp,
            ...(bundle.warnings || stainSetup.warning
              ? { warnings: [...(bundle.warnings ?? []), ...(stainSetup.warning ? [stainSetup.warning] : [])] }
              : {}),
          });
        });
      case 'set-head':
        return serial(signal, async () => {
          if (!extractors) throw new Error('no extractors are loaded: load them before setting a head');
          // A HeadError the caller can switch on, rather than the patch models' plain errors.
          const features = extractors.networks.reduce((sum, n) => sum + n.weights.layers.length, 0);
          checkHeadWeights(request.head, features);
          request.head.members?.forEach((m) => checkHeadWeights(m, features));
          // On wasm and cpu the training engine's forward (WebAssembly SIMD) is ~5× faster per patch
          // than TF.js wasm (tools/bench-patch-model.ts); on cpu even its plain-JS fallback beats TF.js
          // cpu. On webgpu the fused WGSL kernels on TF.js's device (webgpu-patch-model.ts); webgl keeps TF.js.
          const device = backend === 'webgpu' ? webgpuDevice() : undefined;
          const gpu = device
            ? createWebGpuHeadPatchModel(
                request.head,
                extractors.networks.map((n) => n.weights),
                device,
              )
            : undefined;
          const simd =
            backend === 'wasm' || backend === 'cpu'
              ? createSimdHeadPatchModel(
                  request.head,
                  extractors.networks.map((n) => n.weights),
                )
              : undefined;
          const onSimd = simd && (simd.usesSimd || backend === 'cpu') ? simd : undefined;
          const model = gpu ?? onSimd ?? createHeadPatchModel(request.head, extractors.networks);
          const engine: HeadEngine = gpu ? 'msd-webgpu' : onSimd ? (onSimd.usesSimd ? 'msd-simd' : 'msd-js') : 'tfjs';
          dropHead();
          head = { key: request.key, compiled: model };
          reply({ type: 'head-set', id: request.id, key: request.key, engine });
        });
      case 'predict-tile':
        return serial(signal, async () => {
          const pixels = await inputPixels(request.slideId, request.target, signal);
          if (extractors?.key !== request.extractorsKey || head?.key !== request.headKey) {
            throw new Error(
              `the job wants extractors '${request.extractorsKey}' and head '${request.headKey}', ` +
                `the worker has '${extractors?.key}' and '${head?.key}'`,
            );
          }
          const started = performance.now();
          const model = head.compiled.model;
          let probabilities: Float32Array;
          let uncertainty: Uint8Array | undefined;
          let patches = 0;
          if (request.tiling === 'whole') {
            [{ probabilities, uncertainty }] = await wholeTiles(pixels, [request.tile], signal);
            patches = 1;
          } else if (request.tiling === 'patches') {
            const { patchSize, stride } = request.grid ?? {};
            const scope = patchMemoScope({ slideId: request.slideId, target: request.target, patchGrid: request.grid });
            probabilities = await predictTile(pixels.source, pixels.level, request.tile, model, {
              patchSize,
              stride,
              signal,
              memo: { cache: memo, scope },
              onPatch: (_done, _total, reused) => {
                if (!reused) patches++;
              },
            });
          } else {
            throw new Error(`unknown tiling '${(request as { tiling?: unknown }).tiling}': 'whole' or 'patches'`);
          }
          const ms = performance.now() - started;
          // Traced here, not on the page: tens of milliseconds per tile that would block it.
          const contours = request.contours
            ? traceContours(probabilities, request.tile.width, request.tile.height, request.contours.threshold)
            : undefined;
          reply(
            {
              type: 'probabilities',
              id: request.id,
              probabilities,
              patches,
              ms,
              ...(contours ? { contours } : {}),
              ...(uncertainty ? { uncertainty } : {}),
            },
            [
              probabilities.buffer as ArrayBuffer,
              ...(contours ? contoursTransfer(contours) : []),
              ...(uncertainty ? [uncertainty.buffer as ArrayBuffer] : []),
            ],
          );
        });
      case 'predict-block':
        return serial(signal, async () => {
          const pixels = await inputPixels(request.slideId, request.target, signal);
          if (extractors?.key !== request.extractorsKey || head?.key !== request.headKey) {
            throw new Error(
              `the job wants extractors '${request.extractorsKey}' and head '${request.headKey}', ` +
                `the worker has '${extractors?.key}' and '${head?.key}'`,
            );
          }
          const started = performance.now();
          const all = await wholeTiles(pixels, request.tiles, signal);
          const ms = performance.now() - started;
          const threshold = request.contours?.threshold;
          const tiles = all.map(({ probabilities, uncertainty }, i) => {
            const { width, height } = request.tiles[i];
            return {
              probabilities,
              ...(threshold === undefined ? {} : { contours: traceContours(probabilities, width, height, threshold) }),
              ...(uncertainty ? { uncertainty } : {}),
            };
          });
          const transfer = tiles.flatMap((t) => [
            t.probabilities.buffer as ArrayBuffer,
            ...(t.contours ? contoursTransfer(t.contours) : []),
            ...(t.uncertainty ? [t.uncertainty.buffer as ArrayBuffer] : []),
          ]);
          reply({ type: 'block-probabilities', id: request.id, tiles, ms }, transfer);
        });
      case 'tissue-mask': {
        const source = slides.get(request.slideId);
        if (!source) throw new Error(`slide ${request.slideId} is not open in this worker`);
        const mask = await readTissueMask(source, {
          maxSide: request.maxSide,
          minSaturation: request.minSaturation,
          signal,
        });
        reply({ type: 'tissue-mask', id: request.id, mask }, [mask.data.buffer as ArrayBuffer]);
        return;
      }
      case 'adapt':
        return serial(signal, async () => {
          const pixels = await inputPixels(request.slideId, request.target, signal);
          if (!extractors) throw new Error('no extractors are loaded: load them before adapting');
          const support = await readGridPatches(request.patches, pixels.source, { level: pixels.level, signal });
          const classes = extractors.networks.map((n, i) => ({ name: extractors!.names[i], weights: n.weights }));
          let kept: EnsembleBasis | undefined;
          basis = undefined;
          const result = await adapt(
            support,
            classes,
            { ...request.options, metadata: request.metadata ?? {} },
            {
              signal,
              onProgress: (progress) => reply({ type: 'adapt-progress', id: request.id, progress }),
              features: request.features,
              onEnsembleBasis: (b) => (kept = b),
            },
          );
          if (kept) basis = { W: result.head.W, b: result.head.b, basis: kept };
          reply({ type: 'adapted', id: request.id, head: serializeHead(result.head), report: result.report });
        });
      case 'fit-ensemble':
        return serial(signal, async () => {
          const { W, b } = request.head;
          const same = basis && basis.b === b && basis.W.length === W.length && basis.W.every((v, i) => v === W[i]);
          if (!basis || !same)
            throw new AdaptError(
              'no-basis',
              "this worker does not hold that head's fit: its ensemble is fitted by the worker that adapted it",
            );
          const ensemble = await fitHeadEnsemble(basis.basis, request.options, {
            signal,
            onProgress: (progress) => reply({ type: 'adapt-progress', id: request.id, progress }),
          });
          reply({ type: 'ensemble', id: request.id, ensemble });
        });
      case 'support-features':
        return serial(signal, async () => {
          const { pixels, extractors } = await namedInput(request, signal);
          const support = await readGridPatches(request.patches, pixels.source, { level: pixels.level, signal });
          const classes = extractors.networks.map((n, i) => ({ name: extractors.names[i], weights: n.weights }));
          const features = await supportPatchFeatures(support, classes, { features: request.features }, { signal });
          // Each array owns its buffer (supportPatchFeatures slices them): transfer, never copy.
          const transfer = features.flatMap((f) => [
            f.positive.buffer as ArrayBuffer,
            f.negative.buffer as ArrayBuffer,
          ]);
          reply({ type: 'support-features', id: request.id, features }, transfer);
        });
      case 'window-descriptors':
        return serial(signal, async () => {
          const { pixels, extractors } = await namedInput(request, signal);
          const weights = extractors.networks.map((n) => n.weights);
          const descriptors = await regionDescriptors(pixels.source, pixels.level, request.regions, weights, {
            margin: extractors.margin,
            signal,
          });
          const transfer = descriptors.flatMap((r) => r.map((d) => d.buffer as ArrayBuffer));
          reply({ type: 'window-descriptors', id: request.id, descriptors }, transfer);
        });
      case 'trace-contours': {
        const { probabilities, width, height, threshold, window: seams } = request;
        if (probabilities.length !== width * height)
          throw new RangeError(`${probabilities.length} probabilities for a ${width}×${height} map`);
        signal.throwIfAborted();
        const contours = traceContours(probabilities, width, height, threshold, seams);
        reply({ type: 'contours', id: request.id, contours }, contoursTransfer(contours));
        return;
      }
      case 'memory':
        return serial(signal, async () => {
          const m = tf.memory();
          reply({
            type: 'memory',
            id: request.id,
            numTensors: m.numTensors,
            numBytes: m.numBytes,
            backend: tf.getBackend(),
          });
        });
    }
  }

  endpoint.onmessage = async (event: MessageEvent<WorkerRequest>) => {
    const request = event.data;
    if (request.type === 'abort') {
      running.get(request.id)?.abort();
      return;
    }
    const controller = new AbortController();
    running.set(request.id, controller);
    try {
      await handle(request, controller.signal);
    } catch (err) {
      // Typed errors keep class, code and message on the other side (core/errors/transferable-error.ts).
      reply({ type: 'error', id: request.id, error: flattenError(err) });
    } finally {
      running.delete(request.id);
    }
  };
}
