/**
 * Just enough of a WebAssembly binary writer to build small numeric kernels at run time: i32
 * and f32 scalars, 128-bit SIMD, structured loops, one imported memory. Writing the module
 * from TypeScript keeps the build free of a wasm toolchain and lets kernels be specialised
 * (e.g. one per dilation, so shifts become load offsets).
 */
export type Code = number | Code[];

export function flatten(code: Code): number[] {
  const out: number[] = [];
  const walk = (c: Code) => (typeof c === 'number' ? out.push(c) : c.forEach(walk));
  walk(code);
  return out;
}

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

const simd = (op: number, ...rest: number[]): number[] => [0xfd, ...uleb(op), ...rest];
const memarg = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];

/** Instructions, each returning its bytes. Loads and stores take a static byte offset. */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  geS: [0x4e],
  ltS: [0x48],
  f32Load: (offset = 0) => [0x2a, ...memarg(2, offset)],
  f32Store: (offset = 0) => [0x38, ...memarg(2, offset)],
  v128Load: (offset = 0) => simd(0x00, ...memarg(0, offset)),
  v128Store: (offset = 0) => simd(0x0b, ...memarg(0, offset)),
  /** Loads one f32 and splats it to all four lanes. */
  load32Splat: (offset = 0) => simd(0x09, ...memarg(2, offset)),
  v128Zero: simd(0x0c, ...new Array(16).fill(0)),
  /** A v128 constant of four i32 lanes. */
  i32x4Const: (lanes: readonly number[]) =>
    simd(0x0c, ...lanes.flatMap((v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff])),
  i32x4Splat: simd(0x11),
  f32x4Splat: simd(0x13),
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  /** Pseudo-max: b < a ? a : b, what a ReLU wants (no NaN games). */
  f32x4Pmax: simd(0xeb),
  // The ops below serve the adaptation's kernels (core/adaptation/support-kernels.ts).
  i32Load: (offset = 0) => [0x28, ...memarg(2, offset)],
  f64Load: (offset = 0) => [0x2b, ...memarg(3, offset)],
  f64Store: (offset = 0) => [0x39, ...memarg(3, offset)],
  f32: (v: number) => {
    const bytes = new DataView(new ArrayBuffer(4));
    bytes.setFloat32(0, v, true);
    return [0x43, ...Array.from(new Uint8Array(bytes.buffer))];
  },
  ltU: [0x49],
  eq: [0x46],
  and: [0x71],
  shrU: [0x76],
  gtS: [0x4a],
  select: [0x1b],
  drop: [0x1a],
  f32Add: [0x92],
  f64Add: [0xa0],
  f64PromoteF32: [0xbb],
  /** i8x16.shuffle of the two v128 on the stack by 16 lane indices (0–15 the first, 16–31 the second). */
  i8x16Shuffle: (lanes: readonly number[]) => simd(0x0d, ...lanes),
  f32x4ExtractLane: (lane: number) => simd(0x1f, lane),
  f64x2Promote: simd(0x5f),
  f32x4Nearest: simd(0x6a),
  i32x4GtS: simd(0x3b),
  f32x4Ge: simd(0x46),
  /** v128.bitselect(a, b, c): the bits of a where c is 1, of b elsewhere. */
  v128Bitselect: simd(0x52),
  f32x4Abs: simd(0xe0),
  f32x4ConvertI32x4S: simd(0xfa),
  v128And: simd(0x4e),
  i32x4Shl: simd(0xab),
  i32x4Add: simd(0xae),
  f32x4Neg: simd(0xe1),
  f32x4Sub: simd(0xe5),
  f32x4Div: simd(0xe7),
  f32x4Pmin: simd(0xea),
  f64x2Add: simd(0xf0),
  i32x4TruncSatF32x4S: simd(0xf8),
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
};

/**
 * `for (i = from; i < to; i += step) body` with i32 locals; `from`, `to` and `step` are code
 * that pushes one i32. Comparison is signed, so loops may start below zero.
 */
export function forLoop(i: number, from: Code, to: Code, step: Code, body: Code): Code {
  return [
    from,
    op.set(i),
    0x02,
    0x40, // block
    0x03,
    0x40, // loop
    op.get(i),
    to,
    op.geS,
    op.brIf(1),
    body,
    op.get(i),
    step,
    op.add,
    op.set(i),
    op.br(0),
    0x0b,
    0x0b,
  ];
}

/** `if (cond) body`: `cond` pushes one i32. */
export function ifThen(cond: Code, body: Code): Code {
  return [cond, 0x04, 0x40, body, 0x0b];
}

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly number[];
  /** Extra locals by type, numbered after the parameters in this order. */
  readonly locals: readonly number[];
  readonly body: Code;
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

/** A module importing `env.memory` and exporting the functions (no results; they write memory). */
export function wasmModule(functions: readonly WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]);
  const imports = [[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]];
  const codes = functions.map((f) => {
    const groups: number[][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [...vec(groups.map(([n, t]) => [...uleb(n), t])), ...flatten(f.body), 0x0b];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(codes)),
  ]);
}
