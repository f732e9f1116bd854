import { dilationOf, layerInChannels, type MsdWeights } from './weights.js';
import { reflectIndex } from './reflect-index.js';
import { simdKernels, type SimdKernels } from './simd-kernels.js';

/**
 * The MSD network's forward and backward pass for training, in plain JavaScript over
 * preallocated typed arrays (one feature buffer per sample, as msd_pytorch keeps one).
 *
 * Why not TF.js: TF.js 4.22 has no gradient for dilated conv2d, its wasm backend has no
 * filter-gradient kernel at all, and its MirrorPad gradient drops the mirrored border's share;
 * the working TF.js formulation (9 tap maps from a 1×1 matMul) took 1.6 s per 256² step. A
 * width-1 MSD layer has a single output channel, which BLAS-style kernels handle poorly anyway,
 * so a direct loop that reads each input row once for all nine taps is the fast shape here
 * (tools/bench-train.ts measures them side by side). The hot loops run as WebAssembly SIMD
 * (simd-kernels.ts) where available, else as the plain loops at the end of this file.
 *
 * Every plane is stored mirror-padded by the network's largest dilation, so the convolution
 * loops never branch on borders; the backward pass folds the gradient that lands in the
 * padding back onto the pixels it was mirrored from, which makes it the exact gradient of the
 * padded forward.
 */

export type Floats = Float32Array | Float64Array;

/** Where each parameter group sits in the flat parameter vector that training updates. */
export interface MsdParamLayout {
  readonly inputChannels: number;
  readonly depth: number;
  /** Start of layer i's kernel, 9 · (C + i) values in [row][column][channel] order. */
  readonly kernel: readonly number[];
  /** Index of layer i's bias. */
  readonly bias: readonly number[];
  /** Start of the output layer's C + depth weights. */
  readonly outputWeights: number;
  readonly outputBias: number;
  readonly size: number;
}

export function msdParamLayout(inputChannels: number, depth: number): MsdParamLayout {
  const kernel: number[] = [];
  const bias: number[] = [];
  let at = 0;
  for (let i = 0; i < depth; i++) {
    kernel.push(at);
    at += 9 * layerInChannels(inputChannels, i);
    bias.push(at++);
  }
  const outputWeights = at;
  at += inputChannels + depth;
  return { inputChannels, depth, kernel, bias, outputWeights, outputBias: at, size: at + 1 };
}

export function packMsdParams(w: MsdWeights): Float32Array {
  const layout = msdParamLayout(w.inputChannels, w.layers.length);
  const p = new Float32Array(layout.size);
  w.layers.forEach((layer, i) => {
    if (layer.dilation !== dilationOf(i))
      throw new Error(`layer ${i} has dilation ${layer.dilation}, expected ${dilationOf(i)}`);
    p.set(layer.kernel, layout.kernel[i]);
    p[layout.bias[i]] = layer.bias;
  });
  p.set(w.output.weights, layout.outputWeights);
  p[layout.outputBias] = w.output.bias;
  return p;
}

export function unpackMsdParams(
  p: Floats,
  inputChannels: number,
  depth: number,
  normalisation: MsdWeights['normalisation'],
): MsdWeights {
  const layout = msdParamLayout(inputChannels, depth);
  if (p.length !== layout.size) throw new Error(`expected ${layout.size} parameters, got ${p.length}`);
  const layers = Array.from({ length: depth }, (_, i) => ({
    dilation: dilationOf(i),
    kernel: Float32Array.from(p.subarray(layout.kernel[i], layout.bias[i])),
    bias: Math.fround(p[layout.bias[i]]),
  }));
  return {
    inputChannels,
    layers,
    output: {
      weights: Float32Array.from(p.subarray(layout.outputWeights, layout.outputBias)),
      bias: Math.fround(p[layout.outputBias]),
    },
    normalisation: { mean: [...normalisation.mean], std: [...normalisation.std] },
  };
}

export interface MsdWorkspaceOptions {
  readonly inputChannels: number;
  readonly depth: number;
  readonly height: number;
  readonly width: number;
  /** How many samples' forward state is kept at once (a batch, or this thread's share of it). */
  readonly samples: number;
  /** Allocate the gradient planes; false for validation and inference. */
  readonly training: boolean;
  /** float64 only for gradient checks: finite differences need the extra digits. */
  readonly precision?: 'float32' | 'float64';
  /** Use the WebAssembly SIMD loops when the platform has them (default); float32 only. */
  readonly simd?: boolean;
  /**
   * Head logit planes kept at once (default 1): a head and the members of its ensemble
   * (core/adaptation/head-ensemble.ts) each add their weighted maps into their own plane while
   * one network's maps are there, so the maps are computed once for all of them.
   */
  readonly logitPlanes?: number;
}

/** Bytes left free after each buffer in wasm memory: the SIMD loops run up to a vector past a row. */
const GUARD = 256;

/** Where the SIMD path keeps its buffers in wasm memory (byte addresses). */
interface SimdLayout {
  readonly kernels: SimdKernels;
  readonly features: number[];
  readonly grads: number;
  readonly dz: number;
  readonly acc: number;
  /** The heads' logit planes (logitPlanes × H rows of logitStride floats). */
  readonly logit: number;
  /** One layer's kernel repacked as [channel][tap]. */
  readonly kernel: number;
  readonly taps: number;
  readonly kernelView: Float32Array;
  readonly tapsView: Float32Array;
}

/**
 * Preallocated buffers for forward and backward passes of one network shape on samples of one
 * size. Not thread-safe; each worker thread owns its own.
 */
export class MsdWorkspace {
  readonly inputChannels: number;
  readonly depth: number;
  readonly height: number;
  readonly width: number;
  readonly samples: number;
  readonly layout: MsdParamLayout;
  /** Mirror padding of every feature plane: the largest dilation in the network. */
  readonly pad: number;
  readonly paddedWidth: number;
  readonly plane: number;
  /** Per sample: the normalised input's C planes then the depth feature maps, each padded. */
  private readonly features: Floats[];
  /** Per sample: the sigmoid output, H × W without padding. */
  private readonly outputs: Floats[];
  /** Gradient w.r.t. each feature map (padded planes); shared by the samples, one at a time. */
  private readonly grads: Floats | undefined;
  /** dL/dz of the layer being differentiated, zero-padded by twice the pad (see backward). */
  private readonly dz: Floats | undefined;
  private readonly dzPad: number;
  private readonly dzWidth: number;
  private readonly row: Float64Array;
  /** For each padded coordinate, the interior coordinate it mirrors (identity inside). */
  private readonly reflectRow: Int32Array;
  private readonly reflectCol: Int32Array;
  private readonly simd: SimdLayout | undefined;
  /** Σ of a head's weights times the maps, for inference (addWeightedMaps); rows padded to whole vectors. */
  private readonly logits: Floats;
  private readonly logitStride: number;
  /** Logit planes (MsdWorkspaceOptions.logitPlanes). */
  readonly logitPlanes: number;

  constructor(o: MsdWorkspaceOptions) {
    this.inputChannels = o.inputChannels;
    this.depth = o.depth;
    this.height = o.height;
    this.width = o.width;
    this.samples = o.samples;
    this.layout = msdParamLayout(o.inputChannels, o.depth);
    let pad = 0;
    for (let i = 0; i < o.depth; i++) pad = Math.max(pad, dilationOf(i));
    this.pad = pad;
    this.paddedWidth = o.width + 2 * pad;
    this.plane = (o.height + 2 * pad) * this.paddedWidth;
    const channels = o.inputChannels + o.depth;
    this.dzPad = 2 * pad;
    this.dzWidth = o.width + 4 * pad;
    const dzSize = (o.height + 4 * pad) * this.dzWidth;
    this.logitStride = Math.ceil(o.width / 4) * 4;
    const planes = o.logitPlanes ?? 1;
    if (!(Number.isInteger(planes) && planes >= 1)) throw new Error(`logitPlanes must be ≥ 1, got ${planes}`);
    this.logitPlanes = planes;
    // The SIMD loops overrun rows by up to 3 pixels into padding, so they need 2 pixels of it.
    this.simd =
      o.precision !== 'float64' && o.simd !== false && pad >= 2 ? this.allocateSimd(o, channels, dzSize) : undefined;
    if (this.simd) {
      const memory = this.simd.kernelView.buffer;
      this.features = this.simd.features.map((at) => new Float32Array(memory, at, channels * this.plane));
      this.logits = new Float32Array(memory, this.simd.logit, planes * o.height * this.logitStride);
      if (o.training) {
        this.grads = new Float32Array(memory, this.simd.grads, o.depth * this.plane);
        this.dz = new Float32Array(memory, this.simd.dz, dzSize);
      }
    } else {
      const make = (n: number): Floats => (o.precision === 'float64' ? new Float64Array(n) : new Float32Array(n));
      this.features = Array.from({ length: o.samples }, () => make(channels * this.plane));
      this.logits = make(planes * o.height * this.logitStride);
      if (o.training) {
        this.grads = make(o.depth * this.plane);
        this.dz = make(dzSize);
      }
    }
    this.outputs = Array.from({ length: o.samples }, () =>
      o.precision === 'float64' ? new Float64Array(o.height * o.width) : new Float32Array(o.height * o.width),
    );
    this.row = new Float64Array(Math.max(o.width + 2 * pad, 1));
    this.reflectRow = Int32Array.from({ length: o.height + 2 * pad }, (_, i) => reflectIndex(i - pad, o.height));
    this.reflectCol = Int32Array.from({ length: o.width + 2 * pad }, (_, i) => reflectIndex(i - pad, o.width));
  }

  /** Whether the WebAssembly SIMD loops run (else the plain-JS ones). */
  get usesSimd(): boolean {
    return this.simd !== undefined;
  }

  private allocateSimd(o: MsdWorkspaceOptions, channels: number, dzSize: number): SimdLayout | undefined {
    let at = GUARD;
    const take = (floats: number) => {
      const start = at;
      at = Math.ceil((at + 4 * floats + GUARD) / 16) * 16;
      return start;
    };
    const features = Array.from({ length: o.samples }, () => take(channels * this.plane));
    const grads = o.training ? take(o.depth * this.plane) : 0;
    const dz = o.training ? take(dzSize) : 0;
    const acc = take(Math.ceil(this.paddedWidth / 4) * 4);
    const logit = take((o.logitPlanes ?? 1) * o.height * this.logitStride);
    const kernel = take(9 * channels);
    const taps = take(36);
    const memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) });
    const kernels = simdKernels(memory);
    if (!kernels) return undefined;
    return {
      kernels,
      features,
      grads,
      dz,
      acc,
      logit,
      kernel,
      taps,
      kernelView: new Float32Array(memory.buffer, kernel, 9 * channels),
      tapsView: new Float32Array(memory.buffer, taps, 36),
    };
  }

  /** Copies layer i's kernel into wasm memory as [channel][tap], the order the SIMD loops read. */
  private stageKernel(params: Floats, i: number): void {
    const nIn = this.inputChannels + i;
    const kOff = this.layout.kernel[i];
    const k = this.simd!.kernelView;
    for (let c = 0; c < nIn; c++) for (let t = 0; t < 9; t++) k[9 * c + t] = params[kOff + t * nIn + c];
  }

  /** The sigmoid output of sample `s` from its last forward pass (a view, overwritten by the next). */
  output(s: number): Floats {
    return this.outputs[s];
  }

  /**
   * Feature map `m` (0-based) of sample `s` from its last forward pass, copied out without
   * padding; for comparing with other implementations.
   */
  featureMap(s: number, m: number): Float32Array {
    const out = new Float32Array(this.height * this.width);
    const f = this.features[s];
    const base = (this.inputChannels + m) * this.plane + this.pad * this.paddedWidth + this.pad;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) out[y * this.width + x] = f[base + y * this.paddedWidth + x];
    }
    return out;
  }

  /**
   * Runs the network on sample slot `s`. `rgb` is interleaved H × W × C on 0..255 (any
   * numeric array); it is normalised with (x − mean) / std first.
   */
  forward(s: number, params: Floats, rgb: ArrayLike<number>, normalisation: MsdWeights['normalisation']): Floats {
    const { inputChannels: C, depth, height: H, width: W, paddedWidth: Wp, plane, layout } = this;
    this.forwardFeatures(s, params, rgb, normalisation);
    const f = this.features[s];
    const out = this.outputs[s];
    const logit = this.row;
    const ow = layout.outputWeights;
    const interior = this.pad * Wp + this.pad;
    for (let y = 0; y < H; y++) {
      logit.fill(params[layout.outputBias], 0, W);
      for (let c = 0; c < C + depth; c++) {
        const w = params[ow + c];
        const r = c * plane + interior + y * Wp;
        for (let x = 0; x < W; x++) logit[x] += w * f[r + x];
      }
      const o = y * W;
      for (let x = 0; x < W; x++) out[o + x] = 1 / (1 + Math.exp(-logit[x]));
    }
    return out;
  }

  /**
   * The first `layers` feature maps of sample `s`, without the output layer: what inference
   * needs when a head, not the network's own output, weighs the maps. Layer i's parameters sit
   * at the same offsets whatever the depth (msdParamLayout), so a workspace of depth D runs any
   * network of depth ≤ D with the same input size: several extractors can share one feature
   * buffer, run one after the other. `params` is that network's packed vector (packMsdParams).
   */
  forwardFeatures(
    s: number,
    params: Floats,
    rgb: ArrayLike<number>,
    normalisation: MsdWeights['normalisation'],
    layers: number = this.depth,
  ): void {
    const { inputChannels: C, height: H, width: W, pad, paddedWidth: Wp, plane, layout } = this;
    if (!Number.isInteger(layers) || layers < 1 || layers > this.depth)
      throw new Error(`this workspace runs 1 to ${this.depth} layers, not ${layers}`);
    // Kernels and biases of `layers` layers, then C + layers output weights and their bias.
    const size = layout.bias[layers - 1] + 1 + C + layers + 1;
    if (params.length !== size) throw new Error(`expected ${size} parameters, got ${params.length}`);
    if (rgb.length !== H * W * C) throw new Error(`expected ${H}×${W}×${C} input values, got ${rgb.length}`);
    const f = this.features[s];
    for (let c = 0; c < C; c++) {
      const mean = normalisation.mean[c];
      const scale = 1 / normalisation.std[c];
      const base = c * plane + pad * Wp + pad;
      for (let y = 0; y < H; y++) {
        const o = base + y * Wp;
        for (let x = 0, i = y * W * C + c; x < W; x++, i += C) f[o + x] = (rgb[i] - mean) * scale;
      }
      this.fillPadding(f, c * plane);
    }
    const simd = this.simd;
    const interiorBytes = 4 * (pad * Wp + pad);
    for (let i = 0; i < layers; i++) {
      if (simd) {
        this.stageKernel(params, i);
        const base = simd.features[s];
        simd.kernels.conv(
          dilationOf(i),
          base + interiorBytes,
          4 * plane,
          4 * Wp,
          base + 4 * (C + i) * plane + interiorBytes,
          simd.kernel,
          simd.acc,
          C + i,
          H,
          Math.ceil(W / 4),
          params[layout.bias[i]],
        );
      } else {
        convLayer(
          f,
          params,
          layout.kernel[i],
          params[layout.bias[i]],
          C + i,
          dilationOf(i),
          (C + i) * plane,
          plane,
          Wp,
          pad,
          H,
          W,
          this.row,
        );
      }
      this.fillPadding(f, (C + i) * plane);
    }
  }

  /**
   * Copies the first `maps` feature maps of sample `s`'s last forward pass at some pixels into a
   * pixel-major matrix: out[start + k · stride + m] = map_m(pixels[k]), `pixels` holding
   * row-major indices y · W + x. What the adaptation's support matrix wants (one row per
   * labelled pixel), without copying whole planes out first.
   */
  gatherMaps(s: number, maps: number, pixels: Int32Array, out: Float32Array, start: number, stride: number): void {
    const { inputChannels: C, width: W, paddedWidth: Wp, plane, pad } = this;
    if (!Number.isInteger(maps) || maps < 1 || maps > this.depth)
      throw new Error(`this workspace holds 1 to ${this.depth} maps, not ${maps}`);
    const n = pixels.length;
    if (n > 0 && start + (n - 1) * stride + maps > out.length)
      throw new Error(`${n} rows of stride ${stride} from ${start} do not fit in ${out.length} values`);
    const offsets = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const p = pixels[k];
      const y = Math.floor(p / W);
      offsets[k] = (y + pad) * Wp + pad + (p - y * W);
    }
    const f = this.features[s];
    for (let m = 0; m < maps; m++) {
      const base = (C + m) * plane;
      for (let k = 0, o = start + m; k < n; k++, o += stride) out[o] = f[base + offsets[k]];
    }
  }

  /** Floats of one logit plane. */
  private get logitPlaneSize(): number {
    return this.height * this.logitStride;
  }

  private checkPlane(plane: number): void {
    if (!(Number.isInteger(plane) && plane >= 0 && plane < this.logitPlanes))
      throw new Error(`logit plane ${plane} is not one of this workspace's ${this.logitPlanes}`);
  }

  /** Sets every pixel of logit plane `plane` (default 0) to `bias`: the start of a head's sum. */
  resetLogit(bias: number, plane = 0): void {
    this.checkPlane(plane);
    this.logits.fill(bias, plane * this.logitPlaneSize, (plane + 1) * this.logitPlaneSize);
  }

  /**
   * logit(y, x) += Σ_m weights[from + m] · map_m(y, x) over the first `maps` feature maps of
   * sample `s`'s last forward pass: one network's share of a head, added in place, so the maps
   * of several networks are never copied out or concatenated.
   */
  addWeightedMaps(s: number, weights: ArrayLike<number>, from: number, maps: number, logitPlane = 0): void {
    const { inputChannels: C, height: H, width: W, paddedWidth: Wp, plane, logitStride } = this;
    this.checkPlane(logitPlane);
    const at = logitPlane * this.logitPlaneSize;
    if (!Number.isInteger(maps) || maps < 1 || maps > this.depth)
      throw new Error(`this workspace holds 1 to ${this.depth} maps, not ${maps}`);
    if (from < 0 || from + maps > weights.length)
      throw new Error(`weights ${from}..${from + maps - 1} are outside the ${weights.length} given`);
    const interior = this.pad * Wp + this.pad;
    const simd = this.simd;
    if (simd) {
      // The kernel staging area holds 9·(C + depth) floats: room for any depth's weights.
      const k = simd.kernelView;
      for (let m = 0; m < maps; m++) k[m] = weights[from + m];
      simd.kernels.weightedSum(
        simd.features[s] + 4 * (C * plane + interior),
        4 * plane,
        4 * Wp,
        simd.kernel,
        maps,
        H,
        logitStride / 4,
        simd.logit + 4 * at,
        4 * logitStride,
      );
      return;
    }
    const f = this.features[s];
    const logit = this.logits;
    // Row by row: one logit row stays in L1 while every map's row is added to it.
    for (let y = 0; y < H; y++) {
      const o = at + y * logitStride;
      for (let m = 0; m < maps; m++) {
        const w = weights[from + m];
        const r = (C + m) * plane + interior + y * Wp;
        for (let x = 0; x < W; x++) logit[o + x] += w * f[r + x];
      }
    }
  }

  /** σ of logit plane `plane` (default 0) into `out` (H × W, row-major). */
  logitSigmoid(out: Float32Array | Float64Array, plane = 0): void {
    const { height: H, width: W, logitStride, logits } = this;
    if (out.length !== H * W) throw new Error(`expected ${H * W} outputs, got ${out.length}`);
    this.checkPlane(plane);
    const at = plane * this.logitPlaneSize;
    for (let y = 0; y < H; y++) {
      for (let x = 0, i = at + y * logitStride, o = y * W; x < W; x++) out[o + x] = 1 / (1 + Math.exp(-logits[i + x]));
    }
  }

  /**
   * Adds the gradient of the loss w.r.t. every parameter to `grad`, for sample `s`'s last
   * forward pass. `dLoss` is dL/d(output) per pixel (H × W).
   */
  backward(s: number, params: Floats, dLoss: ArrayLike<number>, grad: Float64Array): void {
    const { inputChannels: C, depth, height: H, width: W, pad, paddedWidth: Wp, plane, layout } = this;
    const G = this.grads;
    const dz = this.dz;
    if (!G || !dz) throw new Error('this workspace was made without training buffers');
    if (grad.length !== layout.size) throw new Error(`expected a gradient of ${layout.size}, got ${grad.length}`);
    const f = this.features[s];
    const out = this.outputs[s];
    const interior = pad * Wp + pad;
    G.fill(0);

    // Output layer: dL/dlogit = dL/dy · y(1 − y); it feeds every map's gradient.
    const dLogit = this.row;
    const ow = layout.outputWeights;
    let dOutBias = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const p = out[y * W + x];
        dLogit[x] = dLoss[y * W + x] * p * (1 - p);
        dOutBias += dLogit[x];
      }
      for (let c = 0; c < C + depth; c++) {
        const r = c * plane + interior + y * Wp;
        let acc = 0;
        for (let x = 0; x < W; x++) acc += dLogit[x] * f[r + x];
        grad[ow + c] += acc;
        if (c >= C) {
          const w = params[ow + c];
          const g = (c - C) * plane + interior + y * Wp;
          for (let x = 0; x < W; x++) G[g + x] += w * dLogit[x];
        }
      }
    }
    grad[layout.outputBias] += dOutBias;

    const taps = new Float64Array(9);
    for (let i = depth - 1; i >= 0; i--) {
      const d = dilationOf(i);
      const nIn = C + i;
      const gBase = i * plane;
      // Every later layer has added to this map's gradient, padding included: fold it home.
      this.foldPadding(G, gBase);
      // dz = dL/df · [f > 0], written into a zero-bordered plane so the transposed
      // convolution below can read past the interior without branches.
      const fBase = (C + i) * plane + interior;
      const dzW = this.dzWidth;
      const dzInterior = this.dzPad * dzW + this.dzPad;
      let dBias = 0;
      for (let y = 0; y < H; y++) {
        const fr = fBase + y * Wp;
        const gr = gBase + interior + y * Wp;
        const zr = dzInterior + y * dzW;
        for (let x = 0; x < W; x++) {
          const v = f[fr + x] > 0 ? G[gr + x] : 0;
          dz[zr + x] = v;
          dBias += v;
        }
      }
      grad[layout.bias[i]] += dBias;
      const kOff = layout.kernel[i];
      const simd = this.simd;
      if (simd) this.stageKernel(params, i);
      for (let c = 0; c < nIn; c++) {
        taps.fill(0);
        if (simd) {
          const interiorBytes = 4 * interior;
          const dzBytes = simd.dz + 4 * dzInterior;
          const inBytes = simd.features[s] + 4 * c * plane + interiorBytes;
          if (c < C) simd.kernels.filterGrad(d, inBytes, 4 * Wp, dzBytes, 4 * dzW, H, Math.ceil(W / 4), simd.taps);
          else
            simd.kernels.filterInputGrad(
              d,
              inBytes,
              simd.grads + 4 * (c - C) * plane + interiorBytes,
              4 * Wp,
              dzBytes,
              4 * dzW,
              H,
              Math.ceil((W + 2 * d) / 4),
              simd.kernel + 36 * c,
              simd.taps,
            );
          const v = simd.tapsView;
          for (let t = 0; t < 9; t++) taps[t] = v[4 * t] + v[4 * t + 1] + v[4 * t + 2] + v[4 * t + 3];
        } else if (c < C) {
          filterGradient(f, c * plane + interior, Wp, dz, dzInterior, dzW, d, H, W, taps);
        } else {
          filterAndInputGradient(
            f,
            c * plane + interior,
            Wp,
            G,
            (c - C) * plane + interior,
            dz,
            dzInterior,
            dzW,
            d,
            H,
            W,
            params,
            kOff,
            nIn,
            c,
            taps,
          );
        }
        for (let t = 0; t < 9; t++) grad[kOff + t * nIn + c] += taps[t];
      }
    }
  }

  /** Writes the mirror padding of the plane at `base` from its interior. */
  private fillPadding(a: Floats, base: number): void {
    const { height: H, width: W, pad, paddedWidth: Wp, reflectRow, reflectCol } = this;
    const rows = H + 2 * pad;
    for (let y = 0; y < rows; y++) {
      const ry = reflectRow[y];
      const src = base + (ry + pad) * Wp;
      const dst = base + y * Wp;
      if (y < pad || y >= H + pad) {
        for (let x = 0; x < Wp; x++) a[dst + x] = a[src + reflectCol[x] + pad];
      } else {
        for (let x = 0; x < pad; x++) a[dst + x] = a[src + reflectCol[x] + pad];
        for (let x = W + pad; x < Wp; x++) a[dst + x] = a[src + reflectCol[x] + pad];
      }
    }
  }

  /** The transpose of fillPadding: adds each padding value onto the pixel it mirrors, then clears it. */
  private foldPadding(a: Floats, base: number): void {
    const { height: H, width: W, pad, paddedWidth: Wp, reflectRow, reflectCol } = this;
    const rows = H + 2 * pad;
    for (let y = 0; y < rows; y++) {
      const dstRow = base + (reflectRow[y] + pad) * Wp + pad;
      const src = base + y * Wp;
      const full = y < pad || y >= H + pad;
      for (let x = 0; x < Wp; x++) {
        if (!full && x === pad) x = W + pad;
        if (x >= Wp) break;
        a[dstRow + reflectCol[x]] += a[src + x];
        a[src + x] = 0;
      }
    }
  }
}

/**
 * One layer: out = ReLU(bias + Σ_c Σ_taps k · in_c shifted by the tap's dilated offset). The
 * nine taps of one channel are summed in registers, so each input row is read once per tap and
 * the accumulator row (float64, L1-resident) once per channel.
 */
function convLayer(
  f: Floats,
  params: Floats,
  kOff: number,
  bias: number,
  nIn: number,
  d: number,
  outBase: number,
  plane: number,
  Wp: number,
  pad: number,
  H: number,
  W: number,
  acc: Float64Array,
): void {
  const dRow = d * Wp;
  for (let y = 0; y < H; y++) {
    acc.fill(bias, 0, W);
    const rowOff = (y + pad) * Wp + pad;
    for (let c = 0; c < nIn; c++) {
      const k00 = params[kOff + c],
        k01 = params[kOff + nIn + c],
        k02 = params[kOff + 2 * nIn + c];
      const k10 = params[kOff + 3 * nIn + c],
        k11 = params[kOff + 4 * nIn + c],
        k12 = params[kOff + 5 * nIn + c];
      const k20 = params[kOff + 6 * nIn + c],
        k21 = params[kOff + 7 * nIn + c],
        k22 = params[kOff + 8 * nIn + c];
      const r1 = c * plane + rowOff;
      const r0 = r1 - dRow;
      const r2 = r1 + dRow;
      for (let x = 0; x < W; x++) {
        acc[x] +=
          k00 * f[r0 + x - d] +
          k01 * f[r0 + x] +
          k02 * f[r0 + x + d] +
          k10 * f[r1 + x - d] +
          k11 * f[r1 + x] +
          k12 * f[r1 + x + d] +
          k20 * f[r2 + x - d] +
          k21 * f[r2 + x] +
          k22 * f[r2 + x + d];
      }
    }
    const o = outBase + rowOff;
    for (let x = 0; x < W; x++) f[o + x] = acc[x] > 0 ? acc[x] : 0;
  }
}

/** dL/dk for an input-image channel: Σ_p dz[p] · in[p + offset(tap)], nothing flows further back. */
function filterGradient(
  f: Floats,
  inBase: number,
  Wp: number,
  dz: Floats,
  dzBase: number,
  dzW: number,
  d: number,
  H: number,
  W: number,
  taps: Float64Array,
): void {
  let t0 = 0,
    t1 = 0,
    t2 = 0,
    t3 = 0,
    t4 = 0,
    t5 = 0,
    t6 = 0,
    t7 = 0,
    t8 = 0;
  const dRow = d * Wp;
  for (let y = 0; y < H; y++) {
    const r1 = inBase + y * Wp;
    const r0 = r1 - dRow;
    const r2 = r1 + dRow;
    const z = dzBase + y * dzW;
    for (let x = 0; x < W; x++) {
      const g = dz[z + x];
      if (g === 0) continue;
      t0 += g * f[r0 + x - d];
      t1 += g * f[r0 + x];
      t2 += g * f[r0 + x + d];
      t3 += g * f[r1 + x - d];
      t4 += g * f[r1 + x];
      t5 += g * f[r1 + x + d];
      t6 += g * f[r2 + x - d];
      t7 += g * f[r2 + x];
      t8 += g * f[r2 + x + d];
    }
  }
  taps[0] += t0;
  taps[1] += t1;
  taps[2] += t2;
  taps[3] += t3;
  taps[4] += t4;
  taps[5] += t5;
  taps[6] += t6;
  taps[7] += t7;
  taps[8] += t8;
}

/**
 * For a feature-map channel, both gradients in one sweep over the padded positions q within d
 * of the interior: dL/dk_t += in[q] · dz[q − offset_t] and dL/din[q] += Σ_t k_t · dz[q − offset_t]
 * (the transposed convolution, gathered so each q is written once). dz is zero outside the
 * interior, so the sweep covers exactly the pairs the forward pass formed.
 */
function filterAndInputGradient(
  f: Floats,
  inBase: number,
  Wp: number,
  G: Floats,
  gBase: number,
  dz: Floats,
  dzBase: number,
  dzW: number,
  d: number,
  H: number,
  W: number,
  params: Floats,
  kOff: number,
  nIn: number,
  c: number,
  taps: Float64Array,
): void {
  const k00 = params[kOff + c],
    k01 = params[kOff + nIn + c],
    k02 = params[kOff + 2 * nIn + c];
  const k10 = params[kOff + 3 * nIn + c],
    k11 = params[kOff + 4 * nIn + c],
    k12 = params[kOff + 5 * nIn + c];
  const k20 = params[kOff + 6 * nIn + c],
    k21 = params[kOff + 7 * nIn + c],
    k22 = params[kOff + 8 * nIn + c];
  let t0 = 0,
    t1 = 0,
    t2 = 0,
    t3 = 0,
    t4 = 0,
    t5 = 0,
    t6 = 0,
    t7 = 0,
    t8 = 0;
  const dzRow = d * dzW;
  for (let y = -d; y < H + d; y++) {
    const q = inBase + y * Wp;
    const gq = gBase + y * Wp;
    // Tap (ky, kx) read in[p + (ky−1, kx−1)·d]; so at q it pairs with dz[q − (ky−1, kx−1)·d].
    const z1 = dzBase + y * dzW;
    const z0 = z1 + dzRow; // dz one dilation below q: tap row 0
    const z2 = z1 - dzRow; // tap row 2
    for (let x = -d; x < W + d; x++) {
      const a0 = dz[z0 + x + d],
        a1 = dz[z0 + x],
        a2 = dz[z0 + x - d];
      const b0 = dz[z1 + x + d],
        b1 = dz[z1 + x],
        b2 = dz[z1 + x - d];
      const e0 = dz[z2 + x + d],
        e1 = dz[z2 + x],
        e2 = dz[z2 + x - d];
      const v = f[q + x];
      t0 += v * a0;
      t1 += v * a1;
      t2 += v * a2;
      t3 += v * b0;
      t4 += v * b1;
      t5 += v * b2;
      t6 += v * e0;
      t7 += v * e1;
      t8 += v * e2;
      G[gq + x] += k00 * a0 + k01 * a1 + k02 * a2 + k10 * b0 + k11 * b1 + k12 * b2 + k20 * e0 + k21 * e1 + k22 * e2;
    }
  }
  taps[0] += t0;
  taps[1] += t1;
  taps[2] += t2;
  taps[3] += t3;
  taps[4] += t4;
  taps[5] += t5;
  taps[6] += t6;
  taps[7] += t7;
  taps[8] += t8;
}
