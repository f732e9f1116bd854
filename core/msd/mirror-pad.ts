import * as tf from '@tensorflow/tfjs';

/**
 * Reflect-pads the two spatial axes of an NHWC tensor by `pad` on every side, for any pad.
 * tf.mirrorPad('reflect') allows at most size − 1; a dilation-10 layer on a small input needs
 * more, so reflect repeatedly. Each full step ends on a mirror axis, so the result is the
 * periodic reflection x[-k] = x[k], x[n−1+k] = x[n−1−k] extended as far as needed — the same
 * values a plain index-reflecting loop gives. A 1-pixel-wide axis has nothing to reflect and
 * repeats its only value.
 */
export function mirrorPad(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    let remainingH = pad;
    let remainingW = pad;
    // A 1-pixel axis has nothing to reflect: every padded position repeats its only value.
    if (x.shape[1] === 1 && pad > 0) {
      y = tf.tile(y, [1, 1 + 2 * pad, 1, 1]);
      remainingH = 0;
    }
    if (x.shape[2] === 1 && pad > 0) {
      y = tf.tile(y, [1, 1, 1 + 2 * pad, 1]);
      remainingW = 0;
    }
    while (remainingH > 0 || remainingW > 0) {
      const [, h, w] = y.shape;
      const ph = Math.min(remainingH, h - 1);
      const pw = Math.min(remainingW, w - 1);
      y = tf.mirrorPad(
        y,
        [
          [0, 0],
          [ph, ph],
          [pw, pw],
          [0, 0],
        ],
        'reflect',
      );
      remainingH -= ph;
      remainingW -= pw;
    }
    return y;
  });
}
