import { F32, I32, V128, forLoop, op, wasmModule, type Code, type WasmFunction } from './wasm-writer.js';

/**
 * The three hot loops of MSD training as WebAssembly SIMD (4 × f32 lanes), one specialised copy
 * per dilation 1..10 so that the dilated shifts are constant load offsets, and inference's head
 * sum over the feature maps (simd-patch-model.ts). They work on planes laid out as in
 * MsdWorkspace (mirror-padded, row stride Wp) and process whole 4-pixel vectors,
 * so each row runs up to 3 pixels past its end: the callers keep ≥ 2 pixels of padding, which
 * fillPadding rewrites afterwards, keep dz zero outside its interior, and leave slack after
 * every buffer.
 *
 * Addresses and strides are in bytes. "Interior" addresses point at pixel (0, 0) of a plane.
 */
export interface SimdKernels {
  /**
   * One layer's forward: out = ReLU(bias + Σ_c Σ_taps k · in_c shifted), rows of `vectors`
   * 4-pixel vectors. `kernel` holds 9 f32 per input channel ([c][tap]); `acc` one row of scratch.
   */
  conv(
    d: number,
    inInterior: number,
    planeBytes: number,
    rowBytes: number,
    outInterior: number,
    kernel: number,
    acc: number,
    channels: number,
    height: number,
    vectors: number,
    bias: number,
  ): void;
  /** Filter gradient of one input channel: 9 × 4 partial sums of dz[p] · in[p + offset_t] written at `taps`. */
  filterGrad(
    d: number,
    inInterior: number,
    rowBytes: number,
    dzInterior: number,
    dzRowBytes: number,
    height: number,
    vectors: number,
    taps: number,
  ): void;
  /**
   * Filter and input gradient of one feature-map channel over the band within d of its
   * interior: taps as filterGrad, and grad[q] += Σ_t k_t · dz[q − offset_t] with k at `kernel`.
   * `vectors` covers W + 2d pixels.
   */
  filterInputGrad(
    d: number,
    inInterior: number,
    gradInterior: number,
    rowBytes: number,
    dzInterior: number,
    dzRowBytes: number,
    height: number,
    vectors: number,
    kernel: number,
    taps: number,
  ): void;
  /**
   * Inference's head: out[y][x] += Σ_c w[c] · in_c[y][x] over `channels` consecutive planes
   * (`weights`: one f32 each), rows of `vectors` 4-pixel vectors; `out` rows are `outRowBytes` apart.
   */
  weightedSum(
    inInterior: number,
    planeBytes: number,
    rowBytes: number,
    weights: number,
    channels: number,
    height: number,
    vectors: number,
    out: number,
    outRowBytes: number,
  ): void;
}

export const MAX_DILATION = 10;

function conv(d: number): WasmFunction {
  // params
  const [fInt, planeB, WpB, outInt, kAddr, acc, nIn, H, vectors, bias] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // locals
  const [y, c, xb, rowB, p0, p1, p2, dRowB, kp, end] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const k = (t: number) => 20 + t;
  const [s, biasV] = [29, 30];
  const dB = 4 * d;
  const rows = [p0, p1, p2];
  const taps: Code[] = [];
  for (let r = 0; r < 3; r++) {
    for (let kx = 0; kx < 3; kx++) {
      taps.push(
        op.get(s),
        op.get(k(3 * r + kx)),
        op.get(rows[r]),
        op.get(xb),
        op.add,
        op.v128Load(kx * dB),
        op.f32x4Mul,
        op.f32x4Add,
        op.set(s),
      );
    }
  }
  const body: Code = [
    op.get(WpB),
    op.i32(d),
    op.mul,
    op.set(dRowB),
    op.get(vectors),
    op.i32(16),
    op.mul,
    op.set(end),
    op.get(bias),
    op.f32x4Splat,
    op.set(biasV),
    op.i32(0),
    op.set(rowB),
    forLoop(y, op.i32(0), op.get(H), op.i32(1), [
      forLoop(xb, op.i32(0), op.get(end), op.i32(16), [op.get(acc), op.get(xb), op.add, op.get(biasV), op.v128Store()]),
      forLoop(c, op.i32(0), op.get(nIn), op.i32(1), [
        op.get(kAddr),
        op.get(c),
        op.i32(36),
        op.mul,
        op.add,
        op.set(kp),
        Array.from({ length: 9 }, (_, t) => [op.get(kp), op.load32Splat(4 * t), op.set(k(t))]),
        op.get(fInt),
        op.get(c),
        op.get(planeB),
        op.mul,
        op.add,
        op.get(rowB),
        op.add,
        op.i32(dB),
        op.sub,
        op.set(p1),
        op.get(p1),
        op.get(dRowB),
        op.sub,
        op.set(p0),
        op.get(p1),
        op.get(dRowB),
        op.add,
        op.set(p2),
        forLoop(xb, op.i32(0), op.get(end), op.i32(16), [
          op.get(acc),
          op.get(xb),
          op.add,
          op.v128Load(),
          op.set(s),
          taps,
          op.get(acc),
          op.get(xb),
          op.add,
          op.get(s),
          op.v128Store(),
        ]),
      ]),
      forLoop(xb, op.i32(0), op.get(end), op.i32(16), [
        op.get(outInt),
        op.get(rowB),
        op.add,
        op.get(xb),
        op.add,
        op.get(acc),
        op.get(xb),
        op.add,
        op.v128Load(),
        op.v128Zero,
        op.f32x4Pmax,
        op.v128Store(),
      ]),
      op.get(rowB),
      op.get(WpB),
      op.add,
      op.set(rowB),
    ]),
  ];
  return {
    name: `conv${d}`,
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, F32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, ...Array(9).fill(V128), V128, V128],
    body,
  };
}

function filterGrad(d: number): WasmFunction {
  const [inInt, WpB, dzInt, dzWB, H, vectors, out] = [0, 1, 2, 3, 4, 5, 6];
  const [y, xb, rowB, zrow, p0, p1, p2, dRowB, end] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const t = (i: number) => 16 + i;
  const g = 25;
  const dB = 4 * d;
  const rows = [p0, p1, p2];
  const taps: Code[] = [];
  for (let r = 0; r < 3; r++) {
    for (let kx = 0; kx < 3; kx++) {
      taps.push(
        op.get(t(3 * r + kx)),
        op.get(g),
        op.get(rows[r]),
        op.get(xb),
        op.add,
        op.v128Load(kx * dB),
        op.f32x4Mul,
        op.f32x4Add,
        op.set(t(3 * r + kx)),
      );
    }
  }
  const body: Code = [
    op.get(WpB),
    op.i32(d),
    op.mul,
    op.set(dRowB),
    op.get(vectors),
    op.i32(16),
    op.mul,
    op.set(end),
    Array.from({ length: 9 }, (_, i) => [op.v128Zero, op.set(t(i))]),
    op.i32(0),
    op.set(rowB),
    op.get(dzInt),
    op.set(zrow),
    forLoop(y, op.i32(0), op.get(H), op.i32(1), [
      op.get(inInt),
      op.get(rowB),
      op.add,
      op.i32(dB),
      op.sub,
      op.set(p1),
      op.get(p1),
      op.get(dRowB),
      op.sub,
      op.set(p0),
      op.get(p1),
      op.get(dRowB),
      op.add,
      op.set(p2),
      forLoop(xb, op.i32(0), op.get(end), op.i32(16), [
        op.get(zrow),
        op.get(xb),
        op.add,
        op.v128Load(),
        op.set(g),
        taps,
      ]),
      op.get(rowB),
      op.get(WpB),
      op.add,
      op.set(rowB),
      op.get(zrow),
      op.get(dzWB),
      op.add,
      op.set(zrow),
    ]),
    Array.from({ length: 9 }, (_, i) => [op.get(out), op.get(t(i)), op.v128Store(16 * i)]),
  ];
  return {
    name: `filterGrad${d}`,
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, ...Array(9).fill(V128), V128],
    body,
  };
}

function filterInputGrad(d: number): WasmFunction {
  const [inInt, gInt, WpB, dzInt, dzWB, H, vectors, kAddr, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [y, xb, qrow, grow, z0, z1, z2, dzRowD, end] = [9, 10, 11, 12, 13, 14, 15, 16, 17];
  const t = (i: number) => 18 + i;
  const [v, g, a] = [27, 28, 29];
  const dB = 4 * d;
  // Tap (ky, kx) read in[p + (ky−1, kx−1)·d]; at q it pairs with dz[q − (ky−1, kx−1)·d]:
  // row y + d for ky = 0 (z0), column x + d for kx = 0 (offset 2d from z's column −2d).
  const zRows = [z0, z1, z2];
  const taps: Code[] = [];
  for (let ky = 0; ky < 3; ky++) {
    for (let kx = 0; kx < 3; kx++) {
      const i = 3 * ky + kx;
      taps.push(
        op.get(zRows[ky]),
        op.get(xb),
        op.add,
        op.v128Load((2 - kx) * dB),
        op.set(a),
        op.get(t(i)),
        op.get(v),
        op.get(a),
        op.f32x4Mul,
        op.f32x4Add,
        op.set(t(i)),
        op.get(g),
        op.get(kAddr),
        op.load32Splat(4 * i),
        op.get(a),
        op.f32x4Mul,
        op.f32x4Add,
        op.set(g),
      );
    }
  }
  const body: Code = [
    op.get(dzWB),
    op.i32(d),
    op.mul,
    op.set(dzRowD),
    op.get(vectors),
    op.i32(16),
    op.mul,
    op.set(end),
    Array.from({ length: 9 }, (_, i) => [op.v128Zero, op.set(t(i))]),
    forLoop(y, op.i32(-d), [op.get(H), op.i32(d), op.add], op.i32(1), [
      op.get(inInt),
      op.get(y),
      op.get(WpB),
      op.mul,
      op.add,
      op.i32(dB),
      op.sub,
      op.set(qrow),
      op.get(gInt),
      op.get(y),
      op.get(WpB),
      op.mul,
      op.add,
      op.i32(dB),
      op.sub,
      op.set(grow),
      op.get(dzInt),
      op.get(y),
      op.get(dzWB),
      op.mul,
      op.add,
      op.i32(2 * dB),
      op.sub,
      op.set(z1),
      op.get(z1),
      op.get(dzRowD),
      op.add,
      op.set(z0),
      op.get(z1),
      op.get(dzRowD),
      op.sub,
      op.set(z2),
      forLoop(xb, op.i32(0), op.get(end), op.i32(16), [
        op.get(qrow),
        op.get(xb),
        op.add,
        op.v128Load(),
        op.set(v),
        op.get(grow),
        op.get(xb),
        op.add,
        op.v128Load(),
        op.set(g),
        taps,
        op.get(grow),
        op.get(xb),
        op.add,
        op.get(g),
        op.v128Store(),
      ]),
    ]),
    Array.from({ length: 9 }, (_, i) => [op.get(out), op.get(t(i)), op.v128Store(16 * i)]),
  ];
  return {
    name: `filterInputGrad${d}`,
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, ...Array(9).fill(V128), V128, V128, V128],
    body,
  };
}

function weightedSum(): WasmFunction {
  const [inInt, planeB, WpB, wAddr, nIn, H, vectors, out, outRowB] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [y, c, xb, rowB, orow, src, end] = [9, 10, 11, 12, 13, 14, 15];
  const w = 16;
  // Channel loop inside the row loop: one output row stays in L1 while every plane's row is added.
  const body: Code = [
    op.get(vectors),
    op.i32(16),
    op.mul,
    op.set(end),
    op.i32(0),
    op.set(rowB),
    op.get(out),
    op.set(orow),
    forLoop(y, op.i32(0), op.get(H), op.i32(1), [
      forLoop(c, op.i32(0), op.get(nIn), op.i32(1), [
        op.get(wAddr),
        op.get(c),
        op.i32(4),
        op.mul,
        op.add,
        op.load32Splat(),
        op.set(w),
        op.get(inInt),
        op.get(c),
        op.get(planeB),
        op.mul,
        op.add,
        op.get(rowB),
        op.add,
        op.set(src),
        forLoop(xb, op.i32(0), op.get(end), op.i32(16), [
          op.get(orow),
          op.get(xb),
          op.add,
          op.get(orow),
          op.get(xb),
          op.add,
          op.v128Load(),
          op.get(w),
          op.get(src),
          op.get(xb),
          op.add,
          op.v128Load(),
          op.f32x4Mul,
          op.f32x4Add,
          op.v128Store(),
        ]),
      ]),
      op.get(rowB),
      op.get(WpB),
      op.add,
      op.set(rowB),
      op.get(orow),
      op.get(outRowB),
      op.add,
      op.set(orow),
    ]),
  ];
  return {
    name: 'weightedSum',
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, V128],
    body,
  };
}

let compiled: WebAssembly.Module | null | undefined;

function module(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  const functions: WasmFunction[] = [];
  for (let d = 1; d <= MAX_DILATION; d++) functions.push(conv(d), filterGrad(d), filterInputGrad(d));
  functions.push(weightedSum());
  const bytes = wasmModule(functions);
  // A platform without WebAssembly SIMD gets the plain-JS loops instead.
  compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  return compiled;
}

/** The kernels bound to `memory`, or undefined where WebAssembly SIMD is unavailable. */
export function simdKernels(memory: WebAssembly.Memory): SimdKernels | undefined {
  const m = module();
  if (!m) return undefined;
  const e = new WebAssembly.Instance(m, { env: { memory } }).exports as Record<string, (...args: number[]) => void>;
  const pick = (prefix: string) =>
    Array.from({ length: MAX_DILATION + 1 }, (_, d) => (d === 0 ? undefined : e[`${prefix}${d}`]));
  const convs = pick('conv');
  const fgs = pick('filterGrad');
  const figs = pick('filterInputGrad');
  return {
    conv: (d, ...args) => convs[d]!(...args),
    filterGrad: (d, ...args) => fgs[d]!(...args),
    filterInputGrad: (d, ...args) => figs[d]!(...args),
    weightedSum: e.weightedSum,
  };
}
