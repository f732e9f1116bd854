/**
 * Test fixture: a module worker that starts a TF.js backend and runs an MSD network, so the
 * browser test can check that backends (wasm binaries included) load inside a Web Worker too.
 */
import * as tf from '@tensorflow/tfjs';
import { createMsd } from '../../../core/msd/tf-network.js';
import type { MsdWeights } from '../../../core/msd/weights.js';
import { initBackend, type BackendName } from '../../../core/msd/tf-backend.js';

export interface MsdWorkerRequest {
  backend: BackendName;
  weights: MsdWeights;
  pixels: Int32Array;
  shape: [number, number, number, number];
}

export type MsdWorkerReply = { backend: string; features: Float32Array; probability: Float32Array } | { error: string };

self.onmessage = async (event: MessageEvent<MsdWorkerRequest>) => {
  try {
    const { backend, weights, pixels, shape } = event.data;
    const started = await initBackend(backend);
    const net = createMsd(weights);
    const x = tf.tensor4d(pixels, shape, 'int32');
    const { features, probability } = net.forward(x);
    const reply: MsdWorkerReply = {
      backend: started,
      features: (await features.data()) as Float32Array,
      probability: (await probability.data()) as Float32Array,
    };
    tf.dispose([x, features, probability]);
    net.dispose();
    self.postMessage(reply);
  } catch (err) {
    self.postMessage({ error: err instanceof Error ? err.message : String(err) } satisfies MsdWorkerReply);
  }
};
