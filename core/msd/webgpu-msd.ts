import { checkMsdWeights, type MsdWeights } from './weights.js';
import {
  FIRST_LAYER,
  GATHER_WGSL,
  LAST_LAYER,
  LAYER_WGSL,
  NORMALISE_WGSL,
  WORKGROUP_X,
  WORKGROUP_Y,
} from './webgpu-msd-shaders.js';

/**
 * The MSD forward of a set of extractors, and a linear head over their maps, as fused WebGPU
 * compute shaders (webgpu-msd-shaders.ts) on a `GPUDevice` the caller owns (DOM-free: a worker's,
 * TF.js's, a test's, or Dawn's in Node).
 *
 * Why not TF.js's webgpu ops: a width-1 layer is a convolution with one output channel over all
 * earlier maps, which TF.js runs as its general conv kernel plus reshapes and concatenations (its
 * matrix kernels want channel counts that are multiples of 4), dozens of dispatches and
 * intermediate tensors per extractor. Here a tile is one command buffer and one submit: per
 * extractor one dispatch normalising the input and one per layer (a layer reads its
 * predecessors' maps up to 10 px away across the whole image, so each layer needs the one before
 * finished: a dispatch boundary is that barrier), the head's sum folded into the layers and its
 * sigmoid into the last one, and one read-back of the probabilities: 3 × (1 + 25) = 78 dispatches
 * for the shipped extractors. Features stay on the GPU unless asked for (`features`: only the
 * labelled pixels' rows come back).
 *
 * One feature buffer (input planes then maps, as deep as the deepest extractor) serves every
 * extractor in turn, as the SIMD engine's workspace does (engine.ts); buffers are made for the
 * first image size seen and remade when it changes. Calls run one at a time (they share them).
 * An image whose buffer would pass the device's binding limit is predicted in bands of rows.
 */

// GPUBufferUsage / GPUMapMode values (WebGPU spec), as numbers: no global is needed to name them.
const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const UNIFORM = 0x40;
const STORAGE = 0x80;

export interface GpuHead {
  /** One weight per feature map, the extractors' maps concatenated in their order (C' = Σ depths). */
  readonly W: ArrayLike<number>;
  readonly b: number;
}

interface Pipelines {
  readonly normalise: GPUComputePipeline;
  readonly layer: GPUComputePipeline;
  readonly gather: GPUComputePipeline;
}

interface Extractor {
  readonly depth: number;
  /** Every layer's kernel, back to back in weights.ts's order. */
  readonly kernels: GPUBuffer;
  readonly norm: GPUBuffer;
  /** Per layer: its uniform (inChannels, dilation, kernelStart, headIndex, bias, flags). */
  readonly layers: readonly GPUBindGroup[];
  /** Index of its first map among the C' features. */
  readonly first: number;
}

interface SizedBuffers {
  readonly width: number;
  readonly height: number;
  readonly size: GPUBuffer;
  readonly maps: GPUBuffer;
  readonly rgb: GPUBuffer;
  readonly logit: GPUBuffer;
  readonly probability: GPUBuffer;
  readonly readback: GPUBuffer;
  readonly normalise: readonly GPUBindGroup[];
  readonly layer: readonly GPUBindGroup[];
}

const pipelineCache = new WeakMap<GPUDevice, Pipelines>();

function pipelinesOf(device: GPUDevice): Pipelines {
  let p = pipelineCache.get(device);
  if (!p) {
    const make = (code: string, label: string) =>
      device.createComputePipeline({
        label,
        layout: 'auto',
        compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' },
      });
    p = {
      normalise: make(NORMALISE_WGSL, 'msd-normalise'),
      layer: make(LAYER_WGSL, 'msd-layer'),
      gather: make(GATHER_WGSL, 'msd-gather'),
    };
    pipelineCache.set(device, p);
  }
  return p;
}

export class WebGpuMsd {
  readonly channels: number;
  readonly depth: number;
  private readonly pipelines: Pipelines;
  private readonly extractors: Extractor[] = [];
  /** The head's W then b (C' + 1 floats); written before each prediction. */
  private readonly head: GPUBuffer;
  private buffers: SizedBuffers | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private readonly owned: GPUBuffer[] = [];

  /** The receptive-field margin of the deepest-reaching extractor: Σ of its dilations. */
  private readonly margin: number;
  private readonly maxBufferBytes: number;

  /**
   * `maxBufferBytes` caps the feature buffer below the device's own limit (images taller than it
   * fits run in bands of rows, each with the receptive margin).
   */
  constructor(
    readonly device: GPUDevice,
    weights: readonly MsdWeights[],
    options: { readonly maxBufferBytes?: number } = {},
  ) {
    if (weights.length === 0) throw new Error('the fused MSD kernels need at least one extractor');
    weights.forEach(checkMsdWeights);
    if (weights.some((w) => w.inputChannels !== 3))
      throw new Error(
        `the fused MSD kernels read RGB: every extractor must take 3 input channels, ` +
          `got ${weights.map((w) => w.inputChannels).join(', ')}`,
      );
    this.pipelines = pipelinesOf(device);
    this.channels = weights.reduce((sum, w) => sum + w.layers.length, 0);
    this.depth = Math.max(...weights.map((w) => w.layers.length));
    this.margin = Math.max(...weights.map((w) => w.layers.reduce((sum, l) => sum + l.dilation, 0)));
    this.maxBufferBytes = options.maxBufferBytes ?? Infinity;
    this.head = this.buffer(4 * (this.channels + 1), STORAGE | COPY_DST);
    let first = 0;
    weights.forEach((w, e) => {
      const C = w.inputChannels;
      const total = w.layers.reduce((sum, l) => sum + l.kernel.length, 0);
      const kernels = this.buffer(4 * total, STORAGE | COPY_DST);
      const packed = new Float32Array(total);
      const layers: GPUBindGroup[] = [];
      let at = 0;
      w.layers.forEach((layer, i) => {
        packed.set(layer.kernel, at);
        const u = this.buffer(32, UNIFORM | COPY_DST);
        const words = new ArrayBuffer(32);
        new Uint32Array(words, 0, 4).set([C + i, layer.dilation, at, first + i]);
        new Float32Array(words, 16, 1)[0] = layer.bias;
        const firstOfAll = e === 0 && i === 0;
        const lastOfAll = e === weights.length - 1 && i === w.layers.length - 1;
        new Uint32Array(words, 20, 1)[0] = (firstOfAll ? FIRST_LAYER : 0) | (lastOfAll ? LAST_LAYER : 0);
        device.queue.writeBuffer(u, 0, words);
        layers.push(
          device.createBindGroup({
            layout: this.pipelines.layer.getBindGroupLayout(1),
            entries: [{ binding: 0, resource: { buffer: u } }],
          }),
        );
        at += layer.kernel.length;
      });
      device.queue.writeBuffer(kernels, 0, packed);
      const norm = this.buffer(32, UNIFORM | COPY_DST);
      const n = new Float32Array(8);
      n.set(w.normalisation.mean, 0);
      n.set(w.normalisation.std, 4);
      n[3] = n[7] = 1;
      device.queue.writeBuffer(norm, 0, n);
      this.extractors.push({ depth: w.layers.length, kernels, norm, layers, first });
      first += w.layers.length;
    });
  }

  /**
   * σ(b + Σ_c W_c · g_c(x)) per pixel of an RGB image (width × height × 3 bytes, 0..255): every
   * extractor's forward with mirror padding at the image's edges, then the head, on the GPU; only
   * the probabilities come back.
   */
  predict(rgb: Uint8Array, width: number, height: number, head: GpuHead, signal?: AbortSignal): Promise<Float32Array> {
    if (head.W.length !== this.channels)
      throw new Error(`the head has ${head.W.length} weights, the extractors give ${this.channels} features`);
    return this.serial(signal, async () => {
      checkImage(rgb, width, height);
      const h = new Float32Array(this.channels + 1);
      h.set(Array.from(head.W));
      h[this.channels] = head.b;
      this.device.queue.writeBuffer(this.head, 0, h);
      const rows = this.maxRows(width);
      if (height <= rows) return this.predictWhole(rgb, width, height, signal);
      // Too tall for one feature buffer: bands of `rows` input rows, each giving the rows that lie at
      // least the receptive margin m from its cut edges (a pixel depends only on input within m of
      // it, so those are exact; at the image's own edges the band's reflection is the image's).
      const m = this.margin;
      const out = rows - 2 * m;
      if (out < 1)
        throw new RangeError(
          `a ${width}-pixel-wide image needs ${2 * m + 1} rows of feature buffer (margin ${m}) at depth ` +
            `${this.depth}; this device binds ${rows}`,
        );
      const probability = new Float32Array(width * height);
      for (let a = 0; a < height; a += out) {
        const b = Math.min(height, a + out);
        const start = Math.min(Math.max(a - m, 0), height - rows);
        const band = rgb.subarray(3 * width * start, 3 * width * (start + rows));
        const p = await this.predictWhole(band, width, rows, signal);
        probability.set(p.subarray(width * (a - start), width * (b - start)), width * a);
      }
      return probability;
    });
  }

  /** The image's rows that fit one feature buffer on this device (or the maxBufferBytes given). */
  private maxRows(width: number): number {
    const limit = Math.min(
      this.device.limits.maxStorageBufferBindingSize,
      this.device.limits.maxBufferSize,
      this.maxBufferBytes,
    );
    return Math.floor(limit / (4 * (3 + this.depth) * width));
  }

  private predictWhole(rgb: Uint8Array, width: number, height: number, signal?: AbortSignal): Promise<Float32Array> {
    const b = this.prepare(rgb, width, height);
    const encoder = this.device.createCommandEncoder({ label: 'msd-predict' });
    const pass = encoder.beginComputePass();
    const groups: [number, number] = [Math.ceil(width / WORKGROUP_X), Math.ceil(height / WORKGROUP_Y)];
    // The last extractor's last layer writes the probabilities (LAST_LAYER): no dispatch of the head's own.
    this.extractors.forEach((e, i) => this.encodeExtractor(pass, b, i, groups));
    pass.end();
    const bytes = 4 * width * height;
    encoder.copyBufferToBuffer(b.probability, 0, b.readback, 0, bytes);
    return this.submitAndRead(encoder, b.readback, bytes, signal);
  }

  /**
   * The C' features of some pixels of an RGB image, as rows: out[k · C' + m] = feature m at
   * `pixels[k]` (row-major index y · width + x), the extractors' maps in their order. Only these
   * rows are read back.
   */
  features(
    rgb: Uint8Array,
    width: number,
    height: number,
    pixels: Int32Array,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    return this.serial(signal, async () => {
      const count = pixels.length;
      if (count === 0) return new Float32Array(0);
      for (let k = 0; k < count; k++)
        if (!(pixels[k] >= 0 && pixels[k] < width * height))
          throw new RangeError(`pixel index ${pixels[k]} is outside the ${width}×${height} image`);
      const b = this.prepare(rgb, width, height);
      const bytes = 4 * count * this.channels;
      const index = this.buffer(4 * count, STORAGE | COPY_DST, false);
      const rows = this.buffer(bytes, STORAGE | COPY_SRC, false);
      const readback = this.buffer(bytes, MAP_READ | COPY_DST, false);
      const uniforms: GPUBuffer[] = [];
      try {
        this.device.queue.writeBuffer(index, 0, Uint32Array.from(pixels));
        const encoder = this.device.createCommandEncoder({ label: 'msd-features' });
        const pass = encoder.beginComputePass();
        const groups: [number, number] = [Math.ceil(width / WORKGROUP_X), Math.ceil(height / WORKGROUP_Y)];
        this.extractors.forEach((e, i) => {
          this.encodeExtractor(pass, b, i, groups);
          // Gathered before the next extractor overwrites the maps.
          const u = this.buffer(32, UNIFORM | COPY_DST, false);
          uniforms.push(u);
          this.device.queue.writeBuffer(u, 0, Uint32Array.from([count, e.depth, e.first, this.channels, 3, 0, 0, 0]));
          pass.setPipeline(this.pipelines.gather);
          pass.setBindGroup(
            0,
            this.device.createBindGroup({
              layout: this.pipelines.gather.getBindGroupLayout(0),
              entries: [
                { binding: 0, resource: { buffer: b.size } },
                { binding: 1, resource: { buffer: b.maps } },
                { binding: 2, resource: { buffer: index } },
                { binding: 3, resource: { buffer: rows } },
              ],
            }),
          );
          pass.setBindGroup(
            1,
            this.device.createBindGroup({
              layout: this.pipelines.gather.getBindGroupLayout(1),
              entries: [{ binding: 0, resource: { buffer: u } }],
            }),
          );
          pass.dispatchWorkgroups(Math.ceil(count / (WORKGROUP_X * WORKGROUP_Y)), e.depth);
        });
        pass.end();
        encoder.copyBufferToBuffer(rows, 0, readback, 0, bytes);
        return await this.submitAndRead(encoder, readback, bytes, signal);
      } finally {
        for (const buffer of [index, rows, readback, ...uniforms]) buffer.destroy();
      }
    });
  }

  /** Frees every buffer; later calls throw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropBuffers();
    for (const buffer of this.owned) buffer.destroy();
  }

  private encodeExtractor(pass: GPUComputePassEncoder, b: SizedBuffers, i: number, groups: [number, number]): void {
    const e = this.extractors[i];
    pass.setPipeline(this.pipelines.normalise);
    pass.setBindGroup(0, b.normalise[i]);
    pass.dispatchWorkgroups(...groups);
    pass.setPipeline(this.pipelines.layer);
    pass.setBindGroup(0, b.layer[i]);
    for (const layer of e.layers) {
      pass.setBindGroup(1, layer);
      pass.dispatchWorkgroups(...groups);
    }
  }

  private async submitAndRead(
    encoder: GPUCommandEncoder,
    readback: GPUBuffer,
    bytes: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    signal?.throwIfAborted();
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    this.device.queue.submit([encoder.finish()]);
    const oom = await this.device.popErrorScope();
    const invalid = await this.device.popErrorScope();
    const error = oom ?? invalid;
    if (error) throw new Error(`the fused MSD kernels failed on the GPU: ${error.message}`);
    await readback.mapAsync(1 /* GPUMapMode.READ */, 0, bytes);
    try {
      return new Float32Array(readback.getMappedRange(0, bytes).slice(0));
    } finally {
      readback.unmap();
    }
  }

  /** Buffers for this size (made or kept), the RGB uploaded. */
  private prepare(rgb: Uint8Array, width: number, height: number): SizedBuffers {
    checkImage(rgb, width, height);
    let b = this.buffers;
    if (b?.width !== width || b.height !== height) {
      this.dropBuffers();
      b = this.buffers = this.makeBuffers(width, height);
    }
    // writeBuffer wants a multiple of 4 bytes.
    const padded =
      rgb.length % 4 === 0 && rgb.byteOffset % 4 === 0 ? rgb : new Uint8Array(Math.ceil(rgb.length / 4) * 4);
    if (padded !== rgb) padded.set(rgb);
    this.device.queue.writeBuffer(b.rgb, 0, padded.buffer, padded.byteOffset, padded.byteLength);
    return b;
  }

  private makeBuffers(width: number, height: number): SizedBuffers {
    const plane = width * height;
    const mapsBytes = 4 * (3 + this.depth) * plane;
    if (height > this.maxRows(width))
      throw new RangeError(
        `a ${width}×${height} image needs a ${(mapsBytes / 2 ** 20).toFixed(0)} MiB feature buffer at depth ` +
          `${this.depth}, more than this GPU device binds`,
      );
    const device = this.device;
    const size = this.buffer(16, UNIFORM | COPY_DST, false);
    device.queue.writeBuffer(size, 0, Uint32Array.from([width, height, plane, this.channels]));
    const maps = this.buffer(mapsBytes, STORAGE, false);
    const rgb = this.buffer(Math.ceil((3 * plane) / 4) * 4, STORAGE | COPY_DST, false);
    const logit = this.buffer(4 * plane, STORAGE, false);
    const probability = this.buffer(4 * plane, STORAGE | COPY_SRC, false);
    const readback = this.buffer(4 * plane, MAP_READ | COPY_DST, false);
    const { normalise, layer } = this.pipelines;
    const group = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
    return {
      width,
      height,
      size,
      maps,
      rgb,
      logit,
      probability,
      readback,
      normalise: this.extractors.map((e) => group(normalise, [size, maps, rgb, e.norm])),
      layer: this.extractors.map((e) => group(layer, [size, maps, e.kernels, this.head, logit, probability])),
    };
  }

  private dropBuffers(): void {
    const b = this.buffers;
    this.buffers = undefined;
    if (!b) return;
    for (const buffer of [b.size, b.maps, b.rgb, b.logit, b.probability, b.readback]) buffer.destroy();
  }

  private buffer(bytes: number, usage: number, owned = true): GPUBuffer {
    const buffer = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
    if (owned) this.owned.push(buffer);
    return buffer;
  }

  private serial<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.disposed) throw new Error('these fused MSD kernels have been disposed');
      signal?.throwIfAborted();
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function checkImage(rgb: Uint8Array, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`an image must be at least 1×1 pixels, got ${width}×${height}`);
  if (rgb.length !== width * height * 3)
    throw new RangeError(`a ${width}×${height} RGB image has ${width * height * 3} bytes, got ${rgb.length}`);
}
