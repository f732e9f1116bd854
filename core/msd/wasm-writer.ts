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
  f32x4Splat: simd(0x13),
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  /** Pseudo-max: b < a ? a : b, what a ReLU wants (no NaN games). */
  f32x4Pmax: simd(0xeb),
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
