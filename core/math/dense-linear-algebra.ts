/**
 * The little dense float64 linear algebra the perceptron fit needs. Its matrices are
 * (C' + 1) × (C' + 1) — a few hundred rows at most — so plain loops over row-major
 * Float64Arrays are fast enough and keep every digit that float32 tensors would lose.
 */

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm2(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** out = a + t · b (out may be a). */
export function axpy(
  a: ArrayLike<number>,
  t: number,
  b: ArrayLike<number>,
  out = new Float64Array(a.length),
): Float64Array {
  for (let i = 0; i < a.length; i++) out[i] = a[i] + t * b[i];
  return out;
}

/**
 * Solves M x = b for a symmetric positive definite M by Cholesky factorisation. Returns
 * undefined when M is not (numerically) positive definite, so the caller can regularise.
 */
export function choleskySolve(m: Float64Array, b: ArrayLike<number>, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = m[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > 0) || !Number.isFinite(d)) return undefined;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = m[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/** The inverse of a symmetric positive definite matrix (undefined if it is not), row-major. */
export function spdInverse(m: Float64Array, n: number): Float64Array | undefined {
  const inverse = new Float64Array(n * n);
  const unit = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    unit.fill(0);
    unit[k] = 1;
    const column = choleskySolve(m, unit, n);
    if (!column) return undefined;
    for (let i = 0; i < n; i++) inverse[i * n + k] = column[i];
  }
  // Symmetrise: the solves agree only to rounding.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (inverse[i * n + j] + inverse[j * n + i]);
      inverse[i * n + j] = v;
      inverse[j * n + i] = v;
    }
  }
  return inverse;
}
