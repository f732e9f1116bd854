import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendGpuNote, gpuAdapterLabel, summariseGpuAdapter } from '../../../core/msd/gpu-adapter.js';

test('a fallback adapter or a software rasteriser is software; a named GPU is not', () => {
  const swiftshader = summariseGpuAdapter({ vendor: 'google', architecture: 'swiftshader', description: '' });
  assert.deepEqual(swiftshader, { software: true, name: 'google swiftshader' });
  assert.equal(gpuAdapterLabel(swiftshader), 'software fallback: google swiftshader');
  // The flag alone (a browser that names nothing), on the info or, in older Chromiums, on the adapter.
  assert.equal(summariseGpuAdapter({ isFallbackAdapter: true }).software, true);
  assert.equal(summariseGpuAdapter({}, true).software, true);
  assert.equal(gpuAdapterLabel(summariseGpuAdapter({}, true)), 'software fallback: unnamed adapter');
  assert.equal(summariseGpuAdapter({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)' }).software, true);
  const nvidia = summariseGpuAdapter({ vendor: 'nvidia', architecture: 'hopper', isFallbackAdapter: false });
  assert.deepEqual(nvidia, { software: false, name: 'nvidia hopper' });
  assert.equal(gpuAdapterLabel(nvidia), 'GPU: nvidia hopper');
});

test("the panel's backend line says real or software, and that wasm was preferred to a software GPU", () => {
  const swiftshader = summariseGpuAdapter({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true });
  const nvidia = summariseGpuAdapter({ vendor: 'nvidia', architecture: 'hopper' });
  assert.equal(
    backendGpuNote([{ backend: 'wasm', gpu: swiftshader }, { backend: 'wasm' }]),
    ' (software fallback: google swiftshader, not used)',
  );
  assert.equal(backendGpuNote([{ backend: 'webgpu', gpu: nvidia }]), ' (GPU: nvidia hopper)');
  assert.equal(backendGpuNote([{ backend: 'webgpu', gpu: swiftshader }]), ' (software fallback: google swiftshader)');
  assert.equal(backendGpuNote([{ backend: 'wasm' }, { backend: undefined }]), '');
});
