import { assert } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { adapt } from '../../../core/adaptation/adapt.js';
import { parseHead, type Head } from '../../../core/adaptation/head.js';
import { initBackend, type BackendName } from '../../../core/msd/tf-backend.js';
import {
  relativeDifference,
  SMALL_HEAD_FIXTURE,
  SMALL_OPTIONS,
  smallExtractors,
  smallSupport,
} from './adapt-test-cases.js';

// The small adaptation of adapt-test-cases.ts on every backend this Chromium offers, against
// the head Node computed (written by test/core/adaptation/adapt.node.test.ts). The GPU backends are
// software here (SwiftShader), which the small problem keeps affordable.
const BACKENDS: BackendName[] = ['wasm', 'cpu', 'webgl', 'webgpu'];

async function webgpuOffered(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return gpu !== undefined && (await gpu.requestAdapter()) !== null;
}

describe('few-shot adaptation in the browser gives the head Node gives', () => {
  const extractors = smallExtractors();
  let node: { head: Head; logisticHead: Head };

  before(async () => {
    const response = await fetch(`/files/${SMALL_HEAD_FIXTURE}`);
    assert.isTrue(response.ok, `${SMALL_HEAD_FIXTURE} could not be read (HTTP ${response.status})`);
    const fixture = await response.json();
    node = { head: parseHead(fixture.head, extractors), logisticHead: parseHead(fixture.logisticHead, extractors) };
  });

  for (const backend of BACKENDS) {
    it(backend, async function (this: Mocha.Context) {
      if (backend === 'webgpu' && !(await webgpuOffered())) {
        console.log('skipped: this browser offers no WebGPU adapter');
        this.skip();
      }
      assert.equal(await initBackend(backend), backend);
      const before = tf.memory().numTensors;
      const { head, logisticHead, report } = await adapt(smallSupport(), extractors, SMALL_OPTIONS);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      assert.equal(report.backend, backend);
      // On webgpu the support features come from the fused WGSL kernels (core/msd/webgpu-msd.ts).
      if (backend === 'webgpu') assert.equal(report.engine.features, 'msd-webgpu');
      assert.equal(report.logistic.stop, 'converged');
      assert.equal(report.bfgs!.stop, 'gradient');
      const logistic = relativeDifference(logisticHead.W, node.logisticHead.W);
      const refined = relativeDifference(head.W, node.head.W);
      console.log(
        `${backend}: ‖W − W_node‖/‖W_node‖ = ${refined.toExponential(2)} (logistic phase ` +
          `${logistic.toExponential(2)}); ${report.bfgs!.iterations} BFGS steps; ${report.timings.total.toFixed(0)} ms`,
      );
      // cpu vs wasm in Node: 3e-6 (logistic 5e-7). Float32 features differ by ~1e-6 between
      // backends; the optimum moves by that times the problem's conditioning.
      assert.isBelow(logistic, 1e-4);
      assert.isBelow(refined, 1e-4);
      assert.closeTo(head.b, node.head.b, 1e-3 * Math.abs(node.head.b));
    });
  }
});
