import * as tf from '@tensorflow/tfjs';

/**
 * Sums over many pixels, done in TF.js (so on whatever backend runs), but in short runs.
 *
 * Backends accumulate a long reduction or a matrix product's inner dimension in float32. Measured
 * on wasm over one 65 536-pixel patch: tf.sum of positive terms is off by 4.5e-6 relative, and the
 * Dice gradient's [2, n] × [n, C'+1] product by up to 2e-4 of Σ|terms| — a gradient error of
 * 1.5e-4 on the sample support set, above the 1e-5 at which BFGS is to stop. Cutting the pixels
 * into groups, multiplying per group (a batched product) and adding the group results brought that
 * error to 5e-8, for 2.5× the time of the plain product (which XNNPACK runs very fast). Scalar
 * sums go further: runs of 8 terms on the backend, the run sums added in float64 here.
 */

/** Pixels per group in a grouped matrix product; a 65 536-pixel patch is 64 groups. */
export const GROUP = 1024;

/** Terms per partial sum of a scalar reduction (the partials are summed in float64). */
export const SCALAR_RUN = 8;

/**
 * Rows a chunk of `rows` pixels is padded to, and its group size: whole groups of GROUP, or one
 * group rounded up to a multiple of 8 for small inputs.
 */
export function paddedLayout(rows: number): { rows: number; group: number } {
  if (rows >= GROUP) return { rows: Math.ceil(rows / GROUP) * GROUP, group: GROUP };
  const group = Math.max(8, Math.ceil(rows / 8) * 8);
  return { rows: group, group };
}

/**
 * Σ_i v_k[i] · a[i, :] for each column vector v_k [rows, 1], as [k, D]: a grouped batched
 * product, then a sum over the (at most a few dozen) groups. `rows` must be a multiple of
 * `group`. The vectors are stacked on a new leading axis (a copy) rather than concatenated along
 * the column axis, which on wasm is a JavaScript loop over rows and cost as much as the product.
 */
export function groupedColumnSums(a: tf.Tensor2D, vectors: readonly tf.Tensor2D[], group: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, d] = a.shape;
    const k = vectors.length;
    const groups = rows / group;
    const vt = tf.transpose(
      tf.reshape(tf.stack(vectors as tf.Tensor2D[], 0), [k, groups, group]),
      [1, 0, 2],
    ) as tf.Tensor3D;
    const products = tf.matMul(vt, tf.reshape(a, [groups, group, d]) as tf.Tensor3D);
    return tf.sum(products, 0) as tf.Tensor2D;
  });
}

/**
 * Partial sums of each vector [rows, 1] over runs of SCALAR_RUN rows (or of all rows when they
 * do not divide), flattened vector-major: [k · runs]. Add them up with `sumPartials`.
 */
export function partialSums(vectors: readonly tf.Tensor2D[]): tf.Tensor1D {
  return tf.tidy(() => {
    const rows = vectors[0].shape[0];
    const run = rows % SCALAR_RUN === 0 ? SCALAR_RUN : rows;
    return tf.reshape(
      tf.sum(tf.reshape(tf.stack(vectors as tf.Tensor2D[], 0), [vectors.length, rows / run, run]), 2),
      [-1],
    ) as tf.Tensor1D;
  });
}

/** Adds vector-major partials of k vectors (as laid out by partialSums) into `into` (length k). */
export function sumPartials(
  values: ArrayLike<number>,
  offset: number,
  length: number,
  k: number,
  into: Float64Array,
): void {
  const runs = length / k;
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let i = 0; i < runs; i++) s += values[offset + c * runs + i];
    into[c] += s;
  }
}

/** Reads many small result tensors with one download (one sync point per pass), then frees them. */
export async function readAll(parts: readonly tf.Tensor[]): Promise<{ values: Float32Array; offsets: number[] }> {
  const offsets: number[] = [];
  let total = 0;
  for (const p of parts) {
    offsets.push(total);
    total += p.size;
  }
  const flat = tf.tidy(() =>
    tf.concat(
      parts.map((p) => tf.reshape(p, [-1])),
      0,
    ),
  );
  tf.dispose(parts as tf.Tensor[]);
  try {
    // data(), never dataSync(): webgpu's dataSync has returned zeros (ENVIRONMENT.md).
    return { values: (await flat.data()) as Float32Array, offsets };
  } finally {
    flat.dispose();
  }
}
