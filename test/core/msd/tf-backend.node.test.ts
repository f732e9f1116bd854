import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../core/msd/tf-backend.js';

test('without a preference, Node gets wasm: webgpu and webgl are not offered here', async () => {
  assert.equal(await initBackend(), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
});

test('a named backend is started and made current', async () => {
  assert.equal(await initBackend('cpu'), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(await initBackend('wasm'), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  // The wasm binaries came from the package's dist folder: the backend computes.
  const y = tf.tidy(() =>
    tf.conv2d(tf.ones([1, 5, 5, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'valid', 'NHWC', 2),
  );
  assert.deepEqual(Array.from(await y.data()), [9]);
  y.dispose();
});

test('a named backend that cannot start is an error naming it and the reason', async () => {
  await assert.rejects(
    initBackend('webgl'),
    /The TF\.js backend 'webgl' could not start: not available on this platform/,
  );
  await assert.rejects(
    initBackend('webgpu'),
    /The TF\.js backend 'webgpu' could not start: not available on this platform/,
  );
  // The failed attempt leaves the current backend alone.
  assert.equal(tf.getBackend(), 'wasm');
});
