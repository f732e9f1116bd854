import { I32, V128, forLoop, ifThen, op, wasmModule, type Code, type WasmFunction } from '../msd/wasm-writer.js';

/**
 * The passes of the perceptron fit over the support matrix (support-rows.ts) as tight loops:
 * WebAssembly SIMD (4 × f32 lanes, specialised at run time for the row width, like the MSD
 * engine's kernels in core/msd/simd-kernels.ts), or plain JavaScript with the same meaning where
 * the platform lacks WebAssembly SIMD.
 *
 * The matrix is row-major, one row per labelled support pixel, `4 · vectors` floats per row
 * (features, the bias column, zero padding). Every sum over pixels runs in float32 over a block
 * of BLOCK_ROWS rows and is added into float64 totals after each block, so rounding grows with
 * the block, not with the support set (the TF.js path sums runs of 1024 in float32, then adds
 * those in float32 too: pixel-reductions.ts).
 *
 * Why WebAssembly: one Dice loss-and-gradient pass over 5 shots × 65 536 pixels × 52 columns is
 * ~35 M multiply-adds reading 68 MB; measured on this project's 2-core EPYC, plain JavaScript
 * took 70–120 ms per pass (float64 arithmetic, one Math.exp per pixel: ~9 ns each), too slow for
 * ~200 passes of BFGS. Here a pass goes by blocks of rows: the logits of four rows at a time (four
 * accumulators, each θ vector loaded once for the four), their sigmoid at once (a float32 exp as
 * in Cephes' expf, relative error ~1e-7, as TF.js's float32 sigmoid has), then the block, still
 * in L1, weighted into the gradient with the accumulators in registers. Each row is read from
 * memory once. Measured (CPU time, minimum of 7, 327 680 rows × 52 floats): Dice pass ~5 ms, the
 * logits alone 2.1–2.5 ms (memory-bound: 68 MB at ~30 GB/s), Gram matrix ~21 ms.
 *
 * Addresses are byte offsets into the kernels' memory; float64 outputs are added to, not
 * overwritten, so callers zero them first. The four-row kernels (dice, logistic) read up
 * to 3 rows past the last one and discard them: keep 3 rows of finite numbers there.
 */
export interface SupportKernels {
  /** What runs: 'wasm-simd', or 'js' where WebAssembly SIMD is missing (or was declined). */
  readonly kind: 'wasm-simd' | 'js';
  /** The memory every address refers to. */
  readonly buffer: ArrayBuffer;
  /** 4-float vectors per row. */
  readonly vectors: number;
  /** out[k] += Σ_i v[i] · a_i[k] (float64 out, 4·vectors of them). */
  weightedSum(a: number, rows: number, v: number, out: number): void;
  /** a_i ← a_i − shift for every row (in place), and out[k] += Σ_i (a_i[k] − shift[k])² (float64). */
  centre(a: number, rows: number, shift: number, out: number): void;
  /** a_i ← a_i / scale for every row (in place, element-wise: the float32 division, as TF.js's div). */
  scale(a: number, rows: number, scale: number): void;
  /**
   * out[j][k] += Σ_i s[i] · a_i[j] · a_i[k] (float64, row-major 4v × 4v) for every (j, k) with
   * ⌊k/4⌋ ≥ ⌊j/4⌋: the upper triangle and the diagonal 4 × 4 blocks; the rest is not written.
   * `scratch` holds BLOCK_ROWS rows.
   */
  gram(a: number, rows: number, s: number, scratch: number, out: number): void;
  /**
   * The soft-Dice pass: with p_i = σ(a_i · θ) and s_i = p_i (1 − p_i), out[0] += Σ p_i and
   * out[1 + k] += Σ s_i · a_i[k]. `scratch` holds BLOCK_ROWS floats.
   */
  dice(a: number, rows: number, theta: number, scratch: number, out: number): void;
  /**
   * The logistic pass over rows that all have target t (0 or 1): with z_i = a_i · θ,
   * out[0] += Σ softplus(z_i) − t·z_i, out[1 + k] += Σ (σ(z_i) − t) · a_i[k], and
   * weights[i] = σ(z_i)σ(−z_i) (for gram). `scratch` holds BLOCK_ROWS floats; up to 3 floats
   * past weights[rows − 1] are overwritten.
   */
  logistic(a: number, rows: number, theta: number, target: number, weights: number, scratch: number, out: number): void;
  /**
   * out[i] = a_i · θ (float32) for every row: the logits alone, for choosing the rows a pass can
   * skip (support-rows.ts's active rows). Up to 3 floats past out[rows − 1] are overwritten.
   */
  logits(a: number, rows: number, theta: number, out: number): void;
  /** out[i] = a_i · a_i (float32) for every row. */
  squaredNorms(a: number, rows: number, out: number): void;
}

/**
 * Rows per float32 block: how many terms a float32 partial sum takes before it is added into
 * float64, and the rows a Gram tile sweeps (rows and scaled rows, 53 KB at 52 floats: L2) before
 * the next tile. Measured (CPU ms, 327 680 × 52; Gram / Dice pass, the Dice kernel of the time
 * without block-wise row sums): 32 rows 30 / 7.4, 64 rows 24.7 / 5.6, 128 rows 23.0 / 6.8, 256
 * rows 23.3 / 5.8: flat from 64 on within this machine's noise, so 128, whose float32 sums are short.
 */
export const BLOCK_ROWS = 128;

/**
 * Where σ(z) and σ(z)σ(−z) are taken of the logit: clamped to ±LOGIT_LIMIT. At |z| = 40 they are
 * e^−40 ≈ 4e-18 from 0 or 1, so the clamp moves a pass's sums by < N·4e-18: below float64's
 * rounding of them. Without it, products like σ(z)σ(−z)·a of confident pixels fall below float32's
 * normal range (1.2e-38), and denormal arithmetic is slow on x86: measured over a whole BFGS run
 * on the sample support set (5 shots, C' = 50; 143 passes, CPU time, with the Dice kernel of the
 * time) 11.7 ms a Dice pass with the limit at 87 (where exp itself stays finite), 7.4 ms at 40, the
 * same 141 iterations.
 */
export const LOGIT_LIMIT = 40;

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD

/** Locals and parameters by name: parameters first (all i32), then locals in declaration order. */
class Frame {
  readonly params: number[] = [];
  readonly locals: number[] = [];
  param(): number {
    if (this.locals.length) throw new Error('parameters come before locals');
    this.params.push(I32);
    return this.params.length - 1;
  }
  local(type: number): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }
  fn(name: string, body: Code): WasmFunction {
    return { name, params: this.params, locals: this.locals, body };
  }
}

const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** f64 out[o .. o+3] (bytes o … o+31 from the address `at` pushes) += the four lanes of `acc`. */
function addLanes(at: Code, acc: number, offset: number): Code {
  return [
    at,
    at,
    op.v128Load(offset),
    op.get(acc),
    op.f64x2Promote,
    op.f64x2Add,
    op.v128Store(offset),
    at,
    at,
    op.v128Load(offset + 16),
    op.get(acc),
    op.get(acc),
    op.i8x16Shuffle(HIGH_HALF),
    op.f64x2Promote,
    op.f64x2Add,
    op.v128Store(offset + 16),
  ];
}

/** f64 out at `offset` += the sum of `acc`'s four lanes, each promoted first. */
function addLaneSum(at: Code, acc: number, offset: number): Code {
  const lanes = [0, 1, 2, 3].map((l) => [op.get(acc), op.f32x4ExtractLane(l), op.f64PromoteF32, op.f64Add]);
  return [at, at, op.f64Load(offset), lanes, op.f64Store(offset)];
}

/** The byte indices of i8x16.shuffle that pick f32 lanes (0–3 of the first operand, 4–7 of the second). */
const lanes = (...l: number[]) => l.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);

/**
 * Pushes the four logits of rows row … row + 3 as one vector: four independent accumulators
 * (each θ vector loaded once for the four rows), their lanes then added pairwise by shuffles.
 */
function dot4(vectors: number, rowBytes: number, row: number, theta: number, acc: readonly number[], th: number): Code {
  const code: Code[] = [];
  for (let v = 0; v < vectors; v++) {
    code.push(op.get(theta), op.v128Load(16 * v), op.set(th));
    for (let r = 0; r < 4; r++) {
      const product = [op.get(row), op.v128Load(r * rowBytes + 16 * v), op.get(th), op.f32x4Mul];
      code.push(v === 0 ? [product, op.set(acc[r])] : [op.get(acc[r]), product, op.f32x4Add, op.set(acc[r])]);
    }
  }
  const pairs = (x: number, y: number, a: number[], b: number[]) => [
    op.get(x),
    op.get(y),
    op.i8x16Shuffle(lanes(...a)),
    op.get(x),
    op.get(y),
    op.i8x16Shuffle(lanes(...b)),
    op.f32x4Add,
  ];
  code.push(
    pairs(acc[0], acc[1], [0, 1, 4, 5], [2, 3, 6, 7]),
    op.set(acc[0]),
    pairs(acc[2], acc[3], [0, 1, 4, 5], [2, 3, 6, 7]),
    op.set(acc[2]),
    pairs(acc[0], acc[2], [0, 2, 4, 6], [1, 3, 5, 7]),
  );
  return code;
}

/** `block` runs with `n` rows from `base`, for every block of BLOCK_ROWS of the `rows` from `a`. */
function blocks(f: Frame, a: number, rows: number, rowBytes: number, block: (base: number, n: number) => Code): Code {
  const done = f.local(I32);
  const n = f.local(I32);
  const base = f.local(I32);
  return forLoop(done, op.i32(0), op.get(rows), op.get(n), [
    // n = min(BLOCK_ROWS, rows − done)
    op.i32(BLOCK_ROWS),
    op.get(rows),
    op.get(done),
    op.sub,
    op.tee(n),
    op.get(n),
    op.i32(BLOCK_ROWS),
    op.gtS,
    op.select,
    op.set(n),
    op.get(a),
    op.get(done),
    op.i32(rowBytes),
    op.mul,
    op.add,
    op.set(base),
    block(base, n),
  ]);
}

/**
 * The row's vectors in groups of at most MAX_GROUP, as even as can be (13 → 7 + 6, 19 → 7 + 6 + 6):
 * a group's accumulators, a splat and a row vector stay in registers while the block's rows are
 * swept, the block re-read from L1 per group. Measured (Dice pass, CPU ms, 327 680 rows, widths
 * 52 / 76): groups of 4 4.9 / 9.5, 5 4.8 / 8.7, 6 4.8 / 8.7, 7 4.6 / 9.5, 8 5.2 / 9.5, 10 5.2 /
 * 10.1, 12 5.5 / 9.6, 13 5.4 / 9.8.
 */
const MAX_GROUP = 7;

/** [first vector, count] of each group. */
function vectorGroups(vectors: number): [number, number][] {
  const n = Math.ceil(vectors / MAX_GROUP);
  const groups: [number, number][] = [];
  for (let g = 0, first = 0; g < n; g++) {
    const count = Math.floor(vectors / n) + (g < vectors % n ? 1 : 0);
    groups.push([first, count]);
    first += count;
  }
  return groups;
}

/**
 * out[v] += Σ over the block's rows of weight · row_v, in float32 over the block, for the row's
 * vectors in groups (the block is re-read from L1 per group), each group then added to float64.
 */
function weightedRows(
  f: Frame,
  vectors: number,
  base: number,
  n: number,
  weights: number,
  out: number,
  outOffset: number,
): Code {
  const rowBytes = 16 * vectors;
  const [off, end, wp] = [f.local(I32), f.local(I32), f.local(I32)];
  const w = f.local(V128);
  const acc = Array.from({ length: Math.min(MAX_GROUP, vectors) }, () => f.local(V128));
  const code: Code[] = [op.get(n), op.i32(rowBytes), op.mul, op.set(end)];
  for (const [g0, count] of vectorGroups(vectors)) {
    const group = acc.slice(0, count);
    code.push(
      group.map((t) => [op.v128Zero, op.set(t)]),
      op.get(weights),
      op.set(wp),
      forLoop(off, op.i32(0), op.get(end), op.i32(rowBytes), [
        op.get(wp),
        op.load32Splat(),
        op.set(w),
        op.get(wp),
        op.i32(4),
        op.add,
        op.set(wp),
        group.map((t, k) => [
          op.get(t),
          op.get(w),
          op.get(base),
          op.get(off),
          op.add,
          op.v128Load(16 * (g0 + k)),
          op.f32x4Mul,
          op.f32x4Add,
          op.set(t),
        ]),
      ]),
      group.map((t, k) => addLanes(op.get(out), t, outOffset + 32 * (g0 + k))),
    );
  }
  return code;
}

function weightedSumFunction(vectors: number): WasmFunction {
  const f = new Frame();
  const [a, rows, v, out] = [f.param(), f.param(), f.param(), f.param()];
  const weights = f.local(I32);
  return f.fn('weightedSum', [
    op.get(v),
    op.set(weights),
    blocks(f, a, rows, 16 * vectors, (base, n) => [
      weightedRows(f, vectors, base, n, weights, out, 0),
      op.get(weights),
      op.get(n),
      op.i32(4),
      op.mul,
      op.add,
      op.set(weights),
    ]),
  ]);
}

/**
 * x ← x − shift in place (one f32 per column at `shift`), and out[k] += Σ (x − shift)² (float64),
 * per block in groups of accumulators like weightedRows.
 */
function centreFunction(vectors: number): WasmFunction {
  const f = new Frame();
  const [a, rows, shift, out] = [f.param(), f.param(), f.param(), f.param()];
  const [off, end, at] = [f.local(I32), f.local(I32), f.local(I32)];
  const x = f.local(V128);
  const acc = Array.from({ length: Math.min(MAX_GROUP, vectors) }, () => f.local(V128));
  const rowBytes = 16 * vectors;
  return f.fn('centre', [
    blocks(f, a, rows, rowBytes, (base, n) => {
      const code: Code[] = [op.get(n), op.i32(rowBytes), op.mul, op.set(end)];
      for (const [g0, count] of vectorGroups(vectors)) {
        const group = acc.slice(0, count);
        code.push(
          group.map((t) => [op.v128Zero, op.set(t)]),
          forLoop(off, op.i32(0), op.get(end), op.i32(rowBytes), [
            op.get(base),
            op.get(off),
            op.add,
            op.set(at),
            group.map((t, k) => [
              op.get(at),
              op.v128Load(16 * (g0 + k)),
              op.get(shift),
              op.v128Load(16 * (g0 + k)),
              op.f32x4Sub,
              op.set(x),
              op.get(at),
              op.get(x),
              op.v128Store(16 * (g0 + k)),
              op.get(t),
              op.get(x),
              op.get(x),
              op.f32x4Mul,
              op.f32x4Add,
              op.set(t),
            ]),
          ]),
          group.map((t, k) => addLanes(op.get(out), t, 32 * (g0 + k))),
        );
      }
      return code;
    }),
  ]);
}

/** x ← x / scale in place (one f32 per column at `scale`). */
function scaleFunction(vectors: number): WasmFunction {
  const f = new Frame();
  const [a, rows, scale] = [f.param(), f.param(), f.param()];
  const [row, end] = [f.local(I32), f.local(I32)];
  const rowBytes = 16 * vectors;
  return f.fn('scale', [
    op.get(a),
    op.get(rows),
    op.i32(rowBytes),
    op.mul,
    op.add,
    op.set(end),
    forLoop(row, op.get(a), op.get(end), op.i32(rowBytes), [
      Array.from({ length: vectors }, (_, v) => [
        op.get(row),
        op.get(row),
        op.v128Load(16 * v),
        op.get(scale),
        op.v128Load(16 * v),
        op.f32x4Div,
        op.v128Store(16 * v),
      ]),
    ]),
  ]);
}

/**
 * The Gram matrix by tiles of 4 output rows (each a splat of one scaled row entry) × 2 column
 * vectors: 8 accumulators, 2 column vectors and a splat stay in x64's 16 vector registers (more,
 * and V8 spills). Tile shapes measured (CPU ms, 327 680 × 52 floats, minimum of 15): 4×2 21.9,
 * 2×4 22.2, 3×2 23.2, 2×3 29.3, 2×2 29.7, 4×3 33.6, 2×6 33.0, 3×3 44.2, 5×2 46.5, 3×4 56.9,
 * 1×8 40.0, 8×1 58.3.
 */
function gramFunction(vectors: number): WasmFunction {
  const f = new Frame();
  const [a, rows, s, scratch, out] = [f.param(), f.param(), f.param(), f.param(), f.param()];
  const [weights, off, end, row, scaled] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const [jt, kv, cols, splats, at] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const w = f.local(V128);
  const c = [f.local(V128), f.local(V128)];
  const acc = Array.from({ length: 8 }, () => f.local(V128));
  const rowBytes = 16 * vectors;
  const width = 4 * vectors;
  // One tile: output rows 4·jt … 4·jt + 3 (`jt` in bytes of the scaled row: 16 per vector) ×
  // `nv` column vectors from byte `kv` of the row, swept over the block's rows, then added to
  // out in float64. The tiles are looped over at run time, not unrolled: unrolled, the code grew
  // as vectors², and past ~40 KB (width 64) no longer fitted the instruction cache — measured
  // (CPU ms, 327 680 rows) width 60 32, 64 59, 76 84 unrolled; TODO looped.
  const tile = (nv: 1 | 2): Code => [
    acc.filter((_, i) => i % 2 < nv).map((t) => [op.v128Zero, op.set(t)]),
    op.get(row),
    op.get(kv),
    op.add,
    op.set(cols),
    op.get(scaled),
    op.get(jt),
    op.add,
    op.set(splats),
    forLoop(off, op.i32(0), op.get(end), op.i32(rowBytes), [
      Array.from({ length: nv }, (_, k) => [op.get(cols), op.get(off), op.add, op.v128Load(16 * k), op.set(c[k])]),
      Array.from({ length: 4 }, (_, r) => [
        op.get(splats),
        op.get(off),
        op.add,
        op.load32Splat(4 * r),
        op.set(w),
        Array.from({ length: nv }, (_, k) => [
          op.get(acc[2 * r + k]),
          op.get(w),
          op.get(c[k]),
          op.f32x4Mul,
          op.f32x4Add,
          op.set(acc[2 * r + k]),
        ]),
      ]),
    ]),
    // out + 8·((4·jt/16)·width + 4·kv/16) = out + 2·(jt·width + kv)
    op.get(out),
    op.get(jt),
    op.i32(2 * width),
    op.mul,
    op.add,
    op.get(kv),
    op.i32(2),
    op.mul,
    op.add,
    op.set(at),
    Array.from({ length: 4 }, (_, r) =>
      Array.from({ length: nv }, (_, k) => addLanes(op.get(at), acc[2 * r + k], 8 * r * width + 32 * k)),
    ),
  ];
  return f.fn('gram', [
    op.get(s),
    op.set(weights),
    op.get(scratch),
    op.set(scaled),
    blocks(f, a, rows, rowBytes, (base, n) => [
      op.get(base),
      op.set(row),
      op.get(n),
      op.i32(rowBytes),
      op.mul,
      op.set(end),
      // The block's rows times their weights, once, so each tile's inner loop is splat · row.
      forLoop(off, op.i32(0), op.get(end), op.i32(rowBytes), [
        op.get(weights),
        op.load32Splat(),
        op.set(w),
        op.get(weights),
        op.i32(4),
        op.add,
        op.set(weights),
        Array.from({ length: vectors }, (_, v) => [
          op.get(scaled),
          op.get(off),
          op.add,
          op.get(w),
          op.get(row),
          op.get(off),
          op.add,
          op.v128Load(16 * v),
          op.f32x4Mul,
          op.v128Store(16 * v),
        ]),
      ]),
      // Tiles of the upper triangle: for each 4 output rows, column vectors from their own on,
      // two at a time, and one more where an odd number is left.
      forLoop(jt, op.i32(0), op.i32(rowBytes), op.i32(16), [
        forLoop(kv, op.get(jt), op.i32(rowBytes - 16), op.i32(32), tile(2)),
        ifThen([op.get(kv), op.i32(rowBytes - 16), op.eq], [op.i32(rowBytes - 16), op.set(kv), tile(1)]),
      ]),
    ]),
  ]);
}

// Cephes expf: exp(x) = 2^n · e^r with n = round(x·log2 e), r = x − n·ln 2 in two parts (C1 has
// few bits, so n·C1 is exact), e^r = 1 + r + r²·P(r) on |r| ≤ ln2/2; 2^n built in the exponent bits.
const LOG2E = Math.LOG2E;
const C1 = 0.693359375;
const C2 = -2.1219444e-4;
const EXP_POLY = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
// log1p(e) = 2·atanh(u) with u = e/(2 + e) ≤ 1/3 for e ∈ [0, 1]: 2(u + u³/3 + … + u¹³/13); the
// next term is below 1.5e-8 of the sum. u from e directly keeps full precision for tiny e.
const ATANH_POLY = [2 / 13, 2 / 11, 2 / 9, 2 / 7, 2 / 5, 2 / 3, 2];

/** The vectorised transcendental functions of the pixel loops, their constants in locals. */
class VectorMath {
  private readonly c: Record<'log2e' | 'c1' | 'c2' | 'one' | 'two' | 'limit' | 'bias', number>;
  private readonly expPoly: number[];
  private readonly atanhPoly: number[];
  private readonly t: number[];
  constructor(f: Frame) {
    this.c = {
      log2e: f.local(V128),
      c1: f.local(V128),
      c2: f.local(V128),
      one: f.local(V128),
      two: f.local(V128),
      limit: f.local(V128),
      bias: f.local(V128),
    };
    this.expPoly = EXP_POLY.map(() => f.local(V128));
    this.atanhPoly = ATANH_POLY.map(() => f.local(V128));
    this.t = [f.local(V128), f.local(V128)];
  }
  get one(): number {
    return this.c.one;
  }
  /** Sets the constants: run once at the top of the function. */
  init(): Code {
    const splat = (local: number, v: number) => [op.f32(v), op.f32x4Splat, op.set(local)];
    const { c } = this;
    return [
      splat(c.log2e, LOG2E),
      splat(c.c1, C1),
      splat(c.c2, C2),
      splat(c.one, 1),
      splat(c.two, 2),
      splat(c.limit, LOGIT_LIMIT),
      op.i32(127),
      op.i32x4Splat,
      op.set(c.bias),
      this.expPoly.map((local, k) => splat(local, EXP_POLY[k])),
      this.atanhPoly.map((local, k) => splat(local, ATANH_POLY[k])),
    ];
  }
  /** Pushes min(`x`, LOGIT_LIMIT) for the vector on the stack. */
  clampAbove(): Code {
    return [op.get(this.c.limit), op.f32x4Pmin];
  }
  /** e = exp(x) for the local x, |x| ≤ LOGIT_LIMIT; uses the locals nn and r. */
  exp(x: number, e: number): Code {
    const { c } = this;
    const [nn, r] = this.t;
    return [
      op.get(x),
      op.get(c.log2e),
      op.f32x4Mul,
      op.f32x4Nearest,
      op.set(nn),
      op.get(x),
      op.get(nn),
      op.get(c.c1),
      op.f32x4Mul,
      op.f32x4Sub,
      op.get(nn),
      op.get(c.c2),
      op.f32x4Mul,
      op.f32x4Sub,
      op.set(r),
      op.get(this.expPoly[0]),
      this.expPoly.slice(1).map((k) => [op.get(r), op.f32x4Mul, op.get(k), op.f32x4Add]),
      op.get(r),
      op.get(r),
      op.f32x4Mul,
      op.f32x4Mul,
      op.get(r),
      op.f32x4Add,
      op.get(c.one),
      op.f32x4Add,
      op.get(nn),
      op.i32x4TruncSatF32x4S,
      op.get(c.bias),
      op.i32x4Add,
      op.i32(23),
      op.i32x4Shl,
      op.f32x4Mul,
      op.set(e),
    ];
  }
  /** Pushes log1p(e) for the local e ∈ [0, 1]; uses the locals nn and r. */
  log1p(e: number): Code {
    const [u, u2] = this.t;
    return [
      op.get(e),
      op.get(this.c.two),
      op.get(e),
      op.f32x4Add,
      op.f32x4Div,
      op.tee(u),
      op.get(u),
      op.f32x4Mul,
      op.set(u2),
      op.get(this.atanhPoly[0]),
      this.atanhPoly.slice(1).map((k) => [op.get(u2), op.f32x4Mul, op.get(k), op.f32x4Add]),
      op.get(u),
      op.f32x4Mul,
    ];
  }
}

/** Leaves in `mask` all-ones lanes for the rows g … g + 3 that are below n, zero lanes past it. */
function laneMask(n: number, g: number, iota: number, mask: number): Code {
  return [op.get(n), op.get(g), op.sub, op.i32x4Splat, op.get(iota), op.i32x4GtS, op.set(mask)];
}

/**
 * A pass over `rows` rows from `a` by blocks. Per block: the logits of four rows at a time, then
 * `perRows` (which leaves their four weights of the row sum in `w` and may add to `sum`), the
 * weights stored at `weights`; then the block's weighted row sum (weightedRows, the block still in
 * L1). After each block `sum`'s lanes go to out[0] and the row sum to out[1 …], in float64.
 * Measured against weighting each four rows into float32 accumulators kept in memory, right after
 * their logits (CPU ms per Dice pass, 327 680 rows, widths 52 / 64 / 68 / 76): 5.2 / 6.5 / 7.2 /
 * 10.2 here, 5.4 / 8.1 / 11.3 / 14.0 that way.
 */
function rowPass(
  f: Frame,
  vectors: number,
  params: { a: number; rows: number; theta: number; weights: number; out: number },
  locals: { z: number; w: number; sum: number; mask: number },
  perRows: Code,
  init: Code,
): Code {
  const rowBytes = 16 * vectors;
  const [row, g, wp] = [f.local(I32), f.local(I32), f.local(I32)];
  const dotAcc = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const [th, iota] = [f.local(V128), f.local(V128)];
  const { a, rows, theta, weights, out } = params;
  const { z, w, sum, mask } = locals;
  return [
    init,
    op.i32x4Const([0, 1, 2, 3]),
    op.set(iota),
    blocks(f, a, rows, rowBytes, (base, n) => [
      op.v128Zero,
      op.set(sum),
      op.get(base),
      op.set(row),
      forLoop(g, op.i32(0), op.get(n), op.i32(4), [
        dot4(vectors, rowBytes, row, theta, dotAcc, th),
        op.set(z),
        // Rows past the block's end (read, not part of it) get zero lanes.
        laneMask(n, g, iota, mask),
        perRows,
        op.get(weights),
        op.get(g),
        op.i32(4),
        op.mul,
        op.add,
        op.get(w),
        op.v128Store(),
        op.get(row),
        op.i32(4 * rowBytes),
        op.add,
        op.set(row),
      ]),
      addLaneSum(op.get(out), sum, 0),
      op.get(weights),
      op.set(wp),
      weightedRows(f, vectors, base, n, wp, out, 8),
    ]),
  ];
}

function diceFunction(vectors: number): WasmFunction {
  const f = new Frame();
  const [a, rows, theta, scratch, out] = [f.param(), f.param(), f.param(), f.param(), f.param()];
  const [z, x, e, p, w, sum, mask] = Array.from({ length: 7 }, () => f.local(V128));
  const math = new VectorMath(f);
  // e = exp(−clamp(z, ±LOGIT_LIMIT)), p = 1/(1 + e), s = p·(e·p): no overflow at either end (e·p → 1
  // as e grows); sum += p; the row weights are s.
  const perRows: Code = [
    op.get(z),
    op.f32x4Neg,
    math.clampAbove(),
    op.f32(-LOGIT_LIMIT),
    op.f32x4Splat,
    op.f32x4Pmax,
    op.set(x),
    math.exp(x, e),
    op.get(math.one),
    op.get(math.one),
    op.get(e),
    op.f32x4Add,
    op.f32x4Div,
    op.get(mask),
    op.v128And,
    op.set(p),
    op.get(sum),
    op.get(p),
    op.f32x4Add,
    op.set(sum),
    op.get(p),
    op.get(e),
    op.get(p),
    op.f32x4Mul,
    op.f32x4Mul,
    op.set(w),
  ];
  return f.fn(
    'dice',
    rowPass(f, vectors, { a, rows, theta, weights: scratch, out }, { z, w, sum, mask }, perRows, math.init()),
  );
}

function logisticFunction(vectors: number): WasmFunction {
  const f = new Frame();
  const [a, rows, theta, target, weights, scratch, out] = Array.from({ length: 7 }, () => f.param());
  const sp = f.local(I32);
  const [z, x, e, q, p, w, sum, mask, t, tMask] = Array.from({ length: 10 }, () => f.local(V128));
  const math = new VectorMath(f);
  // With e = exp(−|z|) ≤ 1 (no overflow): softplus(z) = max(z, 0) + log1p(e), σ(z) = 1/(1+e) for
  // z ≥ 0 and e/(1+e) below, σ(z)σ(−z) = e/(1+e)². sum += softplus(z) − t·z; the row weights
  // are σ(z) − t (the gradient's); σ(z)σ(−z) is stored at `weights` for the Hessian. The pass
  // runs over rows of one target t, so t is a constant of the call.
  const perRows: Code = [
    op.get(z),
    op.f32x4Abs,
    op.f32x4Neg,
    op.f32(-LOGIT_LIMIT),
    op.f32x4Splat,
    op.f32x4Pmax,
    op.set(x),
    math.exp(x, e),
    op.get(math.one),
    op.get(math.one),
    op.get(e),
    op.f32x4Add,
    op.f32x4Div,
    op.set(q),
    // loss
    op.get(sum),
    op.v128Zero,
    op.get(z),
    op.f32x4Pmax,
    math.log1p(e),
    op.f32x4Add,
    op.get(t),
    op.get(z),
    op.f32x4Mul,
    op.f32x4Sub,
    op.get(mask),
    op.v128And,
    op.f32x4Add,
    op.set(sum),
    // σ(z) − t as σ(z) for t = 0 and −σ(−z) for t = 1: a difference 1 − σ(z) would keep no
    // digits where σ(z) rounds to 1. σ(z) = z ≥ 0 ? q : e·q, σ(−z) the other one.
    op.get(e),
    op.get(q),
    op.f32x4Mul,
    op.set(p),
    op.get(z),
    op.v128Zero,
    op.f32x4Ge,
    op.set(x),
    op.get(p),
    op.get(q),
    op.get(x),
    op.v128Bitselect,
    op.f32x4Neg,
    op.get(q),
    op.get(p),
    op.get(x),
    op.v128Bitselect,
    op.get(tMask),
    op.v128Bitselect,
    op.get(mask),
    op.v128And,
    op.set(w),
    // s = e·q·q, stored four at a time (lanes past the end write into the slack after them).
    op.get(sp),
    op.get(e),
    op.get(q),
    op.f32x4Mul,
    op.get(q),
    op.f32x4Mul,
    op.get(mask),
    op.v128And,
    op.v128Store(),
    op.get(sp),
    op.i32(16),
    op.add,
    op.set(sp),
  ];
  const init: Code = [
    math.init(),
    op.get(weights),
    op.set(sp),
    op.get(target),
    op.i32x4Splat,
    op.f32x4ConvertI32x4S,
    op.set(t),
    op.i32(0),
    op.get(target),
    op.sub,
    op.i32x4Splat,
    op.set(tMask),
  ];
  return f.fn(
    'logistic',
    rowPass(f, vectors, { a, rows, theta, weights: scratch, out }, { z, w, sum, mask }, perRows, init),
  );
}

/** z_i = a_i · θ, four rows at a time (dot4), stored four at a time. */
function logitsFunction(vectors: number): WasmFunction {
  const f = new Frame();
  const [a, rows, theta, out] = [f.param(), f.param(), f.param(), f.param()];
  const [row, g, at] = [f.local(I32), f.local(I32), f.local(I32)];
  const dotAcc = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const th = f.local(V128);
  const rowBytes = 16 * vectors;
  return f.fn('logits', [
    op.get(a),
    op.set(row),
    op.get(out),
    op.set(at),
    forLoop(g, op.i32(0), op.get(rows), op.i32(4), [
      op.get(at),
      dot4(vectors, rowBytes, row, theta, dotAcc, th),
      op.v128Store(),
      op.get(at),
      op.i32(16),
      op.add,
      op.set(at),
      op.get(row),
      op.i32(4 * rowBytes),
      op.add,
      op.set(row),
    ]),
  ]);
}

/** out[i] = a_i · a_i, a row at a time. */
function squaredNormsFunction(vectors: number): WasmFunction {
  const f = new Frame();
  const [a, rows, out] = [f.param(), f.param(), f.param()];
  const [row, end, at] = [f.local(I32), f.local(I32), f.local(I32)];
  const [x, acc] = [f.local(V128), f.local(V128)];
  const rowBytes = 16 * vectors;
  return f.fn('squaredNorms', [
    op.get(a),
    op.get(rows),
    op.i32(rowBytes),
    op.mul,
    op.add,
    op.set(end),
    op.get(out),
    op.set(at),
    forLoop(row, op.get(a), op.get(end), op.i32(rowBytes), [
      op.v128Zero,
      op.set(acc),
      Array.from({ length: vectors }, (_, v) => [
        op.get(row),
        op.v128Load(16 * v),
        op.tee(x),
        op.get(x),
        op.f32x4Mul,
        op.get(acc),
        op.f32x4Add,
        op.set(acc),
      ]),
      op.get(at),
      [0, 1, 2, 3].map((l) => [op.get(acc), op.f32x4ExtractLane(l), ...(l > 0 ? [op.f32Add] : [])]),
      op.f32Store(),
      op.get(at),
      op.i32(4),
      op.add,
      op.set(at),
    ]),
  ]);
}

const modules = new Map<number, WebAssembly.Module | null>();

function simdModule(vectors: number): WebAssembly.Module | null {
  let m = modules.get(vectors);
  if (m !== undefined) return m;
  const bytes = wasmModule([
    weightedSumFunction(vectors),
    centreFunction(vectors),
    scaleFunction(vectors),
    gramFunction(vectors),
    diceFunction(vectors),
    logisticFunction(vectors),
    logitsFunction(vectors),
    squaredNormsFunction(vectors),
  ]);
  m = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  modules.set(vectors, m);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Plain JavaScript: the same passes over typed-array views, float64 arithmetic per row.

function jsKernels(buffer: ArrayBuffer, vectors: number): SupportKernels {
  const f32 = new Float32Array(buffer);
  const f64 = new Float64Array(buffer);
  const width = 4 * vectors;
  const rowOf = (a: number, i: number) => a / 4 + i * width;
  const logit = (row: number, t: number) => {
    let z = 0;
    for (let k = 0; k < width; k++) z += f32[row + k] * f32[t + k];
    return z;
  };
  return {
    kind: 'js',
    buffer,
    vectors,
    weightedSum(a, rows, v, out) {
      const o = out / 8;
      for (let i = 0; i < rows; i++) {
        const w = f32[v / 4 + i];
        const row = rowOf(a, i);
        for (let k = 0; k < width; k++) f64[o + k] += w * f32[row + k];
      }
    },
    centre(a, rows, shift, out) {
      const o = out / 8;
      const t = shift / 4;
      for (let i = 0; i < rows; i++) {
        const row = rowOf(a, i);
        for (let k = 0; k < width; k++) {
          f32[row + k] = f32[row + k] - f32[t + k];
          const x = f32[row + k];
          f64[o + k] += x * x;
        }
      }
    },
    scale(a, rows, scale) {
      const t = scale / 4;
      for (let i = 0; i < rows; i++) {
        const row = rowOf(a, i);
        for (let k = 0; k < width; k++) f32[row + k] = f32[row + k] / f32[t + k];
      }
    },
    gram(a, rows, s, _scratch, out) {
      const o = out / 8;
      for (let i = 0; i < rows; i++) {
        const w = f32[s / 4 + i];
        const row = rowOf(a, i);
        for (let j = 0; j < width; j++) {
          const wj = w * f32[row + j];
          for (let k = j & ~3; k < width; k++) f64[o + j * width + k] += wj * f32[row + k];
        }
      }
    },
    logistic(a, rows, theta, target, weights, _scratch, out) {
      const o = out / 8;
      for (let i = 0; i < rows; i++) {
        const row = rowOf(a, i);
        const z = logit(row, theta / 4);
        const e = Math.exp(-Math.min(Math.abs(z), LOGIT_LIMIT));
        f64[o] += (z > 0 ? z : 0) + Math.log1p(e) - target * z;
        const q = 1 / (1 + e);
        // σ(z) − t as σ(z) or −σ(−z): 1 − σ(z) keeps no digits where σ(z) rounds to 1.
        const r = target === 1 ? -(z >= 0 ? e * q : q) : z >= 0 ? q : e * q;
        f32[weights / 4 + i] = e * q * q;
        for (let k = 0; k < width; k++) f64[o + 1 + k] += r * f32[row + k];
      }
    },
    logits(a, rows, theta, out) {
      for (let i = 0; i < rows; i++) f32[out / 4 + i] = logit(rowOf(a, i), theta / 4);
    },
    squaredNorms(a, rows, out) {
      for (let i = 0; i < rows; i++) {
        const row = rowOf(a, i);
        let s = 0;
        for (let k = 0; k < width; k++) s += f32[row + k] * f32[row + k];
        f32[out / 4 + i] = s;
      }
    },
    dice(a, rows, theta, _scratch, out) {
      const o = out / 8;
      for (let i = 0; i < rows; i++) {
        const row = rowOf(a, i);
        const z = Math.max(-LOGIT_LIMIT, Math.min(LOGIT_LIMIT, logit(row, theta / 4)));
        const e = Math.exp(-z);
        const p = 1 / (1 + e);
        const s = p * (e * p);
        f64[o] += p;
        for (let k = 0; k < width; k++) f64[o + 1 + k] += s * f32[row + k];
      }
    },
  };
}

/**
 * Kernels for rows of `vectors` 4-float vectors over a fresh memory of at least `bytes`:
 * WebAssembly SIMD where the platform validates it (unless `simd` is false), else plain JS.
 */
export function createSupportKernels(vectors: number, bytes: number, options: { simd?: boolean } = {}): SupportKernels {
  if (!(Number.isInteger(vectors) && vectors >= 1))
    throw new Error(`vectors must be a positive integer, got ${vectors}`);
  const module = options.simd === false ? null : simdModule(vectors);
  if (!module) return jsKernels(new ArrayBuffer(Math.ceil(bytes / 8) * 8), vectors);
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const e = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<
    string,
    (...args: number[]) => void
  >;
  return {
    kind: 'wasm-simd',
    buffer: memory.buffer,
    vectors,
    weightedSum: e.weightedSum,
    centre: e.centre,
    scale: e.scale,
    gram: e.gram,
    dice: e.dice,
    logistic: e.logistic,
    logits: e.logits,
    squaredNorms: e.squaredNorms,
  };
}
