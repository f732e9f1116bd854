import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BundleError, type BundleErrorCode } from '../../../core/msd/bundle-error.js';
import {
  BUNDLE_FORMAT,
  decodeBundle,
  encodeBundle,
  loadBundle,
  type ExtractorBundle,
  type ExtractorManifest,
} from '../../../core/msd/bundle.js';
import { createMsd } from '../../../core/msd/tf-network.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { serveFiles, type FileServer } from '../../http-file-server.js';
import { randomImage, randomWeights } from './msd-test-cases.js';

function sampleBundle(): ExtractorBundle {
  const normalisation = { mean: [180.5, 130.25, 170], std: [40, 50.5, 35] };
  return {
    classes: [
      { name: 'epithelial', weights: { ...randomWeights(3, 3, 21), normalisation } },
      // Trained on other data: its own normalisation must survive the round trip.
      {
        name: 'lymphocyte',
        weights: { ...randomWeights(3, 12, 22), normalisation: { mean: [200, 150, 190], std: [30, 45, 25] } },
      },
      { name: 'spindle', weights: { ...randomWeights(3, 1, 23), normalisation } },
    ],
    mpp: 0.5,
    metadata: { data: 'CoNSeP train split', epochs: 37, validationDice: { epithelial: 0.81 } },
  };
}

/** What a file on disk would hold: the manifest through JSON text, the weights as bytes. */
function encoded(): { manifest: ExtractorManifest; weights: ArrayBuffer } {
  const { manifest, weights } = encodeBundle(sampleBundle());
  return { manifest: JSON.parse(JSON.stringify(manifest)) as ExtractorManifest, weights };
}

function assertSameBundle(actual: ExtractorBundle, expected: ExtractorBundle): void {
  assert.equal(actual.mpp, expected.mpp);
  assert.deepEqual(actual.metadata, expected.metadata);
  assert.deepEqual(
    actual.classes.map((c) => c.name),
    expected.classes.map((c) => c.name),
  );
  actual.classes.forEach((c, i) => {
    const e = expected.classes[i].weights;
    assert.equal(c.weights.inputChannels, e.inputChannels);
    assert.deepEqual(c.weights.normalisation, { mean: [...e.normalisation.mean], std: [...e.normalisation.std] });
    assert.deepEqual(c.weights.output, { weights: e.output.weights, bias: Math.fround(e.output.bias) });
    assert.deepEqual(
      c.weights.layers,
      e.layers.map((l) => ({ ...l, bias: Math.fround(l.bias) })),
    );
  });
}

describe('round trip', () => {
  test('encode → JSON → decode gives the same weights (biases rounded to float32) and the same features', async () => {
    const original = sampleBundle();
    const { manifest, weights } = encoded();
    assert.equal(manifest.format, BUNDLE_FORMAT);
    assert.equal(manifest.version, 1);
    assert.equal(manifest.weightsFile, 'extractors.bin');
    assert.equal(manifest.mppExpected, 0.5);
    const params = original.classes.reduce(
      (n, c) => n + c.weights.layers.reduce((m, l) => m + l.kernel.length + 1, 0) + c.weights.output.weights.length + 1,
      0,
    );
    assert.equal(weights.byteLength, 4 * params);
    // Only the class trained on other data carries its own normalisation.
    assert.deepEqual(
      manifest.classes.map((c) => c.normalisation !== undefined),
      [false, true, false],
    );

    const decoded = decodeBundle(manifest, weights);
    assertSameBundle(decoded, original);

    await initBackend('wasm');
    const x = tf.tensor4d(randomImage(11, 9, 3, 5), [1, 11, 9, 3], 'int32');
    for (let i = 0; i < original.classes.length; i++) {
      const before = createMsd({
        ...original.classes[i].weights,
        layers: original.classes[i].weights.layers.map((l) => ({ ...l, bias: Math.fround(l.bias) })),
        output: { ...original.classes[i].weights.output, bias: Math.fround(original.classes[i].weights.output.bias) },
      });
      const afterDecode = createMsd(decoded.classes[i].weights);
      const [a, b] = [before.forward(x), afterDecode.forward(x)];
      assert.deepEqual(await a.features.data(), await b.features.data());
      assert.deepEqual(await a.probability.data(), await b.probability.data());
      tf.dispose([a.features, a.probability, b.features, b.probability]);
      before.dispose();
      afterDecode.dispose();
    }
    x.dispose();
  });

  test('decodeBundle also takes the manifest as JSON text', () => {
    const { manifest, weights } = encoded();
    assertSameBundle(decodeBundle(JSON.stringify(manifest), weights), decodeBundle(manifest, weights));
  });

  test('the weights file is little-endian float32 in manifest order', () => {
    const bundle = sampleBundle();
    const { manifest, weights } = encoded();
    const ref = manifest.classes[1].weights.layers[2].kernel;
    const view = new DataView(weights);
    assert.equal(view.getFloat32(ref.offset * 4 + 8, true), bundle.classes[1].weights.layers[2].kernel[2]);
    assert.equal(manifest.classes[0].weights.layers[0].kernel.offset, 0);
  });
});

describe('loadBundle', () => {
  let dir: string;
  let server: FileServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bundle-'));
    const { manifest, weights } = encodeBundle(sampleBundle(), { weightsFile: 'weights.bin' });
    await writeFile(join(dir, 'extractors.json'), JSON.stringify(manifest));
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(weights));
    await writeFile(join(dir, 'not-a-manifest.json'), '<html>Not found</html>');
    // What a single-page-app server answers for a file it does not have: its index.html, 200.
    await writeFile(join(dir, 'index.html'), '<!doctype html>\n<html><body>the app</body></html>\n');
    await writeFile(join(dir, 'not-json.json'), 'weights: none');
    await writeFile(join(dir, 'orphan.json'), JSON.stringify({ ...manifest, weightsFile: 'missing.bin' }));
    server = await serveFiles({ ranges: true });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('from a manifest URL, the weights fetched from beside it (string or URL)', async () => {
    const url = server.url(join(dir, 'extractors.json'));
    assertSameBundle(await loadBundle(url), sampleBundle());
    assertSameBundle(await loadBundle(new URL(url)), sampleBundle());
  });

  test('weights named apart from the manifest (a bundler renamed both); HTML where the weights should be', async () => {
    const manifest = server.url(join(dir, 'extractors.json'));
    assertSameBundle(await loadBundle(manifest, { weightsUrl: server.url(join(dir, 'weights.bin')) }), sampleBundle());
    // The case that used to say "needs float32 values […] but the weights file has 52 bytes".
    await rejects(
      loadBundle(manifest, { weightsUrl: server.url(join(dir, 'index.html')) }),
      'wrong-file',
      /index\.html answered HTML( \(text\/html\))? instead of its float32 weights file: the file is not there/,
    );
  });

  test('from two user files (Blobs)', async () => {
    const { manifest, weights } = encoded();
    const loaded = await loadBundle({ manifest: new Blob([JSON.stringify(manifest)]), weights: new Blob([weights]) });
    assertSameBundle(loaded, sampleBundle());
  });

  const rejects = async (promise: Promise<unknown>, code: BundleErrorCode, message: RegExp) => {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(err instanceof BundleError, `not a BundleError: ${String(err)}`);
      assert.equal(err.code, code);
      assert.match(err.message, message);
      return true;
    });
  };

  test('a missing manifest, a missing weights file, HTML instead of JSON, an abort', async () => {
    await rejects(loadBundle(server.url(join(dir, 'nope.json'))), 'network', /nope\.json answered HTTP 404/);
    await rejects(loadBundle(server.url(join(dir, 'orphan.json'))), 'network', /missing\.bin answered HTTP 404/);
    await rejects(
      loadBundle(server.url(join(dir, 'not-a-manifest.json'))),
      'wrong-file',
      /not-a-manifest\.json answered HTML instead of its JSON manifest: the file is not there/,
    );
    await rejects(loadBundle(server.url(join(dir, 'not-json.json'))), 'not-json', /the manifest is not JSON/);
    await rejects(loadBundle('extractors.json'), 'network', /"extractors\.json" is not a URL/);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(loadBundle(server.url(join(dir, 'extractors.json')), { signal: controller.signal }), {
      name: 'AbortError',
      code: 'aborted',
    });
    await assert.rejects(
      loadBundle({ manifest: new Blob(['{}']), weights: new Blob([]) }, { signal: controller.signal }),
      { name: 'AbortError' },
    );
  });
});

describe('malformed bundles are refused, each with its own reason', () => {
  type Mutation = (m: ExtractorManifest & Record<string, unknown>, w: ArrayBuffer) => ArrayBuffer | void;
  const setFloat = (w: ArrayBuffer, index: number, value: number) => new DataView(w).setFloat32(index * 4, value, true);
  const cases: [string, Mutation, BundleErrorCode, RegExp][] = [
    [
      'another format',
      (m) => void (m.format = 'tfjs-layers-model' as never),
      'wrong-format',
      /format is "tfjs-layers-model", expected "openseadragon-fewshot\/extractors"/,
    ],
    ['a newer version', (m) => void (m.version = 2 as never), 'unsupported-version', /version 2 is not supported/],
    [
      'no version',
      (m) => void delete (m as Partial<ExtractorManifest>).version,
      'unsupported-version',
      /version missing is not supported/,
    ],
    [
      'a class without a name',
      (m) => void delete (m.classes[0] as Partial<ExtractorManifest['classes'][0]>).name,
      'missing-field',
      /classes\[0\]\.name is missing/,
    ],
    [
      'a class without a depth',
      (m) => void delete (m.classes[1] as Partial<ExtractorManifest['classes'][0]>).depth,
      'missing-field',
      /classes\[1\]\.depth is missing/,
    ],
    [
      'a class without weights',
      (m) => void delete (m.classes[2] as Partial<ExtractorManifest['classes'][0]>).weights,
      'missing-field',
      /classes\[2\]\.weights is missing/,
    ],
    [
      'a layer without its bias',
      (m) =>
        void delete (m.classes[0].weights.layers[1] as Partial<ExtractorManifest['classes'][0]['weights']['layers'][0]>)
          .bias,
      'missing-field',
      /classes\[0\]\.weights\.layers\[1\]\.bias is missing/,
    ],
    [
      'a depth that is not an integer',
      (m) => void (m.classes[0].depth = 2.5),
      'bad-field',
      /classes\[0\]\.depth must be an integer ≥ 1, got 2\.5/,
    ],
    [
      'a negative offset',
      (m) => void (m.classes[0].weights.layers[0].kernel.offset = -4),
      'bad-field',
      /classes\[0\]\.weights\.layers\[0\]\.kernel\.offset must be an integer ≥ 0, got -4/,
    ],
    [
      'depth and dilations disagree',
      (m) => void (m.classes[0].depth = 4),
      'depth-mismatch',
      /class "epithelial" has depth 4 but 3 dilations/,
    ],
    [
      'depth and layer weights disagree',
      (m) => void m.classes[0].weights.layers.pop(),
      'depth-mismatch',
      /class "epithelial" has depth 3 but weights for 2 layers/,
    ],
    [
      'a dilation off the MSD schedule',
      (m) => void (m.classes[1].dilations[2] = 5),
      'dilation-mismatch',
      /class "lymphocyte" layer 2 has dilation 5, an MSD network has 3 there/,
    ],
    [
      'a kernel length that does not fit its shape',
      (m) => void (m.classes[0].weights.layers[1].kernel.length = 35),
      'shape-mismatch',
      /class "epithelial" layer 1 kernel \(3×3×4\) has 35 values, its shape needs 36/,
    ],
    [
      'output weights that do not fit',
      (m) => void (m.classes[2].weights.output.weights.length = 3),
      'shape-mismatch',
      /class "spindle" output weights \(3\+1\) has 3 values, its shape needs 4/,
    ],
    [
      'a bias of two values',
      (m) => void (m.classes[1].weights.layers[0].bias.length = 2),
      'shape-mismatch',
      /class "lymphocyte" layer 0 bias has 2 values, its shape needs 1/,
    ],
    [
      'a weights file cut short',
      (_m, w) => w.slice(0, w.byteLength - 8),
      'weights-short',
      /class "spindle" output weights \(3\+1\) needs float32 values \[\d+, \d+\) but the weights file has \d+ bytes/,
    ],
    [
      'a weights file cut mid-value',
      (_m, w) => w.slice(0, w.byteLength - 2),
      'weights-short',
      /output bias needs float32 values/,
    ],
    [
      'a weights file with 8 extra bytes',
      (_m, w) => new Uint8Array([...new Uint8Array(w), 0, 0, 0, 0, 0, 0, 0, 0]).buffer,
      'weights-long',
      /the weights file has (\d+) bytes, the manifest uses (?!\1)\d+/,
    ],
    [
      'a weights file with 3 stray bytes',
      (_m, w) => new Uint8Array([...new Uint8Array(w), 1, 2, 3]).buffer,
      'weights-long',
      /the manifest uses \d+/,
    ],
    [
      'two tensors on the same values',
      (m) => void (m.classes[0].weights.layers[0].bias.offset = m.classes[0].weights.layers[0].kernel.offset),
      'overlapping-tensors',
      /class "epithelial" layer 0 kernel \(3×3×3\) and class "epithelial" layer 0 bias share values/,
    ],
    [
      'a NaN weight',
      (m, w) => setFloat(w, m.classes[1].weights.layers[3].kernel.offset + 4, NaN),
      'not-finite',
      /class "lymphocyte" layer 3 kernel \(3×3×6\) value 4 is NaN/,
    ],
    [
      'an infinite bias',
      (m, w) => setFloat(w, m.classes[2].weights.output.bias.offset, -Infinity),
      'not-finite',
      /class "spindle" output bias value 0 is -Infinity/,
    ],
    [
      'a zero standard deviation',
      (m) => void (m.normalisation.std[1] = 0),
      'bad-normalisation',
      /manifest\.normalisation\.std must be positive/,
    ],
    [
      'normalisation for 2 channels',
      (m) => void (m.normalisation = { mean: [1, 2], std: [3, 4] }),
      'bad-normalisation',
      /manifest\.normalisation has 2 channels, class "epithelial" has 3 input channels/,
    ],
    [
      'a class normalisation with a string',
      (m) => void (m.classes[1].normalisation!.mean[0] = 'red' as never),
      'bad-normalisation',
      /classes\[1\]\.normalisation\.mean and \.std must be arrays of finite numbers/,
    ],
    [
      'no mpp',
      (m) => void delete (m as Partial<ExtractorManifest>).mppExpected,
      'missing-field',
      /manifest\.mppExpected is missing/,
    ],
    [
      'a negative mpp',
      (m) => void (m.mppExpected = -0.25),
      'bad-mpp',
      /mppExpected must be a positive number of microns per pixel, got -0\.25/,
    ],
    ['no classes', (m) => void (m.classes = []), 'no-classes', /manifest\.classes is empty/],
    [
      'two classes of one name',
      (m) => void (m.classes[2].name = 'epithelial'),
      'duplicate-class',
      /two extractors are named "epithelial"/,
    ],
    [
      'a weights file elsewhere',
      (m) => void (m.weightsFile = '../../etc/passwd'),
      'bad-field',
      /weightsFile must be a plain file name, got "\.\.\/\.\.\/etc\/passwd"/,
    ],
    [
      'a weights file on another server',
      (m) => void (m.weightsFile = 'https://example.org/w.bin'),
      'bad-field',
      /weightsFile must be a plain file name/,
    ],
    [
      'training metadata that is not an object',
      (m) => void (m.training = 'lots' as never),
      'bad-field',
      /manifest\.training must be an object/,
    ],
  ];

  test('the unmodified bundle decodes (so each failure below is the mutation’s)', () => {
    const { manifest, weights } = encoded();
    assert.doesNotThrow(() => decodeBundle(manifest, weights));
  });

  for (const [name, mutate, code, message] of cases) {
    test(name, () => {
      const { manifest, weights } = encoded();
      const w = mutate(manifest as ExtractorManifest & Record<string, unknown>, weights) ?? weights;
      assert.throws(
        () => decodeBundle(manifest, w),
        (err: unknown) => {
          assert.ok(err instanceof BundleError, `not a BundleError: ${String(err)}`);
          assert.equal(err.code, code);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('every case has its own message', () => {
    assert.equal(new Set(cases.map((c) => c[3].source)).size, cases.length);
  });

  test('manifests that are not JSON objects', () => {
    const { weights } = encoded();
    assert.throws(() => decodeBundle('{"format": ', weights), {
      code: 'not-json',
      message: /the manifest is not JSON/,
    });
    assert.throws(() => decodeBundle([1, 2], weights), {
      code: 'bad-field',
      message: /the manifest must be a JSON object/,
    });
    assert.throws(() => decodeBundle(null, weights), { code: 'bad-field' });
  });

  test('encodeBundle refuses what decodeBundle would', () => {
    const bundle = sampleBundle();
    assert.throws(() => encodeBundle({ ...bundle, classes: [] }), { code: 'no-classes' });
    const broken = bundle.classes[0].weights;
    const nan = { ...broken, layers: [{ ...broken.layers[0], bias: NaN }, ...broken.layers.slice(1)] };
    assert.throws(() => encodeBundle({ ...bundle, classes: [{ name: 'x', weights: nan }] }), {
      code: 'not-finite',
      message: /class "x" layer 0 bias value 0 is NaN/,
    });
    const wrongDilation = { ...broken, layers: broken.layers.map((l) => ({ ...l, dilation: 1 })) };
    assert.throws(() => encodeBundle({ ...bundle, classes: [{ name: 'x', weights: wrongDilation }] }), {
      code: 'dilation-mismatch',
    });
    assert.throws(() => encodeBundle({ ...bundle, mpp: 0 }), { code: 'bad-mpp' });
  });
});
