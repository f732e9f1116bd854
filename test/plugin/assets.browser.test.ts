import { assert } from 'chai';
import { BundleError } from '../../core/msd/bundle-error.js';
import { DEFAULT_EXTRACTORS_URL, loadDefaultExtractors, resolveAssets } from '../../plugin/assets.js';
import { WorkerPool } from '../../plugin/pool/worker-pool.js';

const workerUrl = new URL('/worker/worker-entry.ts', location.origin);

describe('the shipped default extractors', () => {
  it('load from the package in the browser, with one network per known class', async () => {
    const bundle = await loadDefaultExtractors();
    assert.match(DEFAULT_EXTRACTORS_URL.pathname, /\/models\/default\/extractors\.json$/);
    const names = bundle.classes.map((c) => c.name);
    assert.includeMembers(names, ['inflammatory']);
    assert.equal(bundle.mpp, 0.25, 'trained on CoNSeP at 0.25 µm/px');
    for (const { name, weights } of bundle.classes) {
      assert.isAtLeast(weights.layers.length, 1, name);
      assert.isTrue(
        weights.output.weights.some((w) => w !== 0),
        `${name} has trained output weights`,
      );
    }
  });
});

describe('asset URLs', () => {
  it('are the literals beside the entry by default, and all under assetsBaseUrl when given', () => {
    const packaged = resolveAssets();
    assert.equal(packaged.worker.href, new URL('/plugin/worker.js', location.origin).href);
    assert.equal(packaged.extractors.weights.href, new URL('/models/default/extractors.bin', location.origin).href);
    const cdn = resolveAssets({ assetsBaseUrl: 'https://cdn.example/npm/openseadragon-fewshot@0.1.0' });
    assert.equal(cdn.worker.href, 'https://cdn.example/npm/openseadragon-fewshot@0.1.0/dist/worker.js');
    assert.equal(
      cdn.tfjsWasm['tfjs-backend-wasm-simd.wasm'].href,
      'https://cdn.example/npm/openseadragon-fewshot@0.1.0/dist/tfjs-backend-wasm-simd.wasm',
    );
    assert.equal(
      cdn.openjpegWasm.href,
      'https://cdn.example/npm/openseadragon-fewshot@0.1.0/dist/openjpegwasm_decode.wasm',
    );
    assert.equal(
      cdn.extractors.manifest.href,
      'https://cdn.example/npm/openseadragon-fewshot@0.1.0/models/default/extractors.json',
    );
    // Relative to the page; workerUrl and wasmPaths still win over the base for their files.
    const own = resolveAssets({ assetsBaseUrl: '/static/fewshot/', workerUrl, wasmPaths: '/wasm/' });
    assert.equal(own.worker.href, workerUrl.href);
    assert.equal(
      own.tfjsWasm['tfjs-backend-wasm.wasm'].href,
      new URL('/wasm/tfjs-backend-wasm.wasm', location.origin).href,
    );
    assert.equal(
      own.extractors.weights.href,
      new URL('/static/fewshot/models/default/extractors.bin', location.origin).href,
    );
  });

  it('the extractors load from under a base URL; a base without them fails naming the URL', async () => {
    // /files/ serves the repository as it is: laid out as the package.
    const bundle = await loadDefaultExtractors({ assetsBaseUrl: '/files/' });
    assert.includeMembers(
      bundle.classes.map((c) => c.name),
      ['inflammatory'],
    );
    const missing = await loadDefaultExtractors({ assetsBaseUrl: '/files/nowhere/' }).catch((e: unknown) => e);
    assert.instanceOf(missing, BundleError);
    assert.match(
      (missing as Error).message,
      /\/files\/nowhere\/models\/default\/extractors\.json answered HTTP 404 .*instead of its JSON manifest/,
    );
  });

  it('a worker whose wasm binaries are missing says so, naming the URL, and falls back to cpu visibly', async () => {
    const pool = await WorkerPool.create({
      workerUrl,
      workers: 1,
      assetsBaseUrl: '/files/nowhere/',
      backends: ['wasm', 'cpu'],
    });
    try {
      const [status] = pool.workers;
      assert.equal(status.backend, 'cpu');
      assert.lengthOf(status.failures, 1);
      assert.match(
        status.failures[0],
        /'wasm' could not start: .*\/files\/nowhere\/dist\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm answered HTTP 404 .*instead of WebAssembly/,
      );
    } finally {
      pool.close();
    }
  });
});
