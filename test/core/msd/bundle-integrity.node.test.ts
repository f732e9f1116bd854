import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { BundleError, type BundleErrorCode } from '../../../core/msd/bundle-error.js';
import {
  decodeBundle,
  loadBundle,
  readBundle,
  writeBundle,
  type ExtractorBundle,
  type ExtractorManifest,
} from '../../../core/msd/bundle.js';
import { PROBE_SIZE, probeImage } from '../../../core/msd/bundle-probe.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { MAX_ERROR_MESSAGE } from '../../../core/json/brief-value.js';
import { referenceForward } from './msd-reference.js';
import { randomWeights } from './msd-test-cases.js';

function sampleBundle(): ExtractorBundle {
  const normalisation = { mean: [180.5, 130.25, 170], std: [40, 50.5, 35] };
  return {
    classes: [
      { name: 'epithelial', weights: { ...randomWeights(3, 3, 21), normalisation } },
      { name: 'lymphocyte', weights: { ...randomWeights(3, 12, 22), normalisation } },
    ],
    mpp: 0.5,
    metadata: { data: 'test' },
  };
}

const copy = (m: ExtractorManifest): ExtractorManifest => JSON.parse(JSON.stringify(m)) as ExtractorManifest;

async function refused(promise: Promise<unknown>, code: BundleErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof BundleError, `not a BundleError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    assert.ok(err.message.length <= MAX_ERROR_MESSAGE, `${err.message.length} characters`);
    return true;
  });
}

describe('bundle integrity: checksum and probe', () => {
  test('writeBundle stores the weights’ SHA-256 (as node:crypto has it) and a probe; no warnings on load', async () => {
    const { manifest, weights } = await writeBundle(sampleBundle());
    assert.equal(manifest.weightsSha256, createHash('sha256').update(new Uint8Array(weights)).digest('hex'));
    assert.equal(manifest.probe?.size, PROBE_SIZE);
    const loaded = await loadBundle({ manifest: new Blob([JSON.stringify(manifest)]), weights: new Blob([weights]) });
    assert.equal(loaded.warnings, undefined);
    assert.equal((await readBundle(JSON.stringify(manifest), weights)).warnings, undefined);
  });

  test('the probe: each map’s mean, then the output’s, as a float64 reference forward has them', async () => {
    const bundle = sampleBundle();
    const { manifest } = await writeBundle(bundle);
    const image = probeImage(PROBE_SIZE, 3);
    for (const { name, weights } of bundle.classes) {
      const depth = weights.layers.length;
      const reference = referenceForward(
        {
          ...weights,
          layers: weights.layers.map((l) => ({ ...l, bias: Math.fround(l.bias) })),
          output: { ...weights.output, bias: Math.fround(weights.output.bias) },
        },
        { height: PROBE_SIZE, width: PROBE_SIZE, pixels: image },
      );
      const pixels = PROBE_SIZE * PROBE_SIZE;
      const expected: number[] = [];
      for (let m = 0; m < depth; m++) {
        let sum = 0;
        for (let p = 0; p < pixels; p++) sum += reference.features[p * depth + m];
        expected.push(sum / pixels);
      }
      expected.push(reference.probability.reduce((s, v) => s + v, 0) / pixels);
      const stored = manifest.probe!.means[name];
      assert.equal(stored.length, depth + 1);
      // The probe rounds each value to float32 before averaging: ~1e-7 relative.
      stored.forEach((v, i) =>
        assert.ok(
          Math.abs(v - expected[i]) <= 1e-5 * Math.max(1, Math.abs(expected[i])),
          `${name} ${i}: ${v} vs ${expected[i]}`,
        ),
      );
      assert.ok(
        expected.slice(0, depth).some((v) => v > 0),
        'a probe of dead maps would test nothing',
      );
    }
  });

  test('every finite corruption of a weight (random bytes, exponent bit, zero): checksum-mismatch', async () => {
    const { manifest, weights } = await writeBundle(sampleBundle());
    const random = new SeededRandom(5);
    const floats = weights.byteLength / 4;
    for (let k = 0; k < 60; k++) {
      const bad = weights.slice(0);
      const view = new DataView(bad);
      const at = 4 * random.int(floats);
      const before = view.getFloat32(at, true);
      if (k % 3 === 0) {
        do view.setUint32(at, random.int(2 ** 32), true);
        while (!Number.isFinite(view.getFloat32(at, true)) || view.getFloat32(at, true) === before);
      } else if (k % 3 === 1) {
        const bits = view.getUint32(at, true);
        let bit = 23 + random.int(8);
        while (!Number.isFinite(new Float32Array(new Uint32Array([(bits ^ (1 << bit)) >>> 0]).buffer)[0]))
          bit = 23 + random.int(8);
        view.setUint32(at, (bits ^ (1 << bit)) >>> 0, true);
      } else {
        if (before === 0) continue;
        view.setFloat32(at, 0, true);
      }
      await refused(
        loadBundle({ manifest: new Blob([JSON.stringify(manifest)]), weights: new Blob([bad]) }),
        'checksum-mismatch',
        /SHA-256/,
      );
    }
  });

  test('layout is checked before the checksum, the checksum before the values', async () => {
    const { manifest, weights } = await writeBundle(sampleBundle());
    await refused(readBundle(manifest, weights.slice(0, weights.byteLength - 4)), 'weights-short');
    const grown = new Uint8Array(weights.byteLength + 4);
    grown.set(new Uint8Array(weights));
    await refused(readBundle(manifest, grown.buffer), 'weights-long');
    const nan = weights.slice(0);
    new DataView(nan).setFloat32(4, NaN, true);
    await refused(readBundle(manifest, nan), 'checksum-mismatch');
    // Without a checksum, the value checks still see it.
    const { weightsSha256: _sha, ...unsealed } = manifest;
    await refused(readBundle(unsealed, nan), 'not-finite');
  });

  test('a manifest that reads the same weights differently is refused by the probe', async () => {
    const { manifest, weights } = await writeBundle(sampleBundle());
    const moved = copy(manifest);
    moved.normalisation.mean[1] += 1;
    await refused(readBundle(moved, weights), 'probe-mismatch', /probe value/);
    const swapped = copy(manifest);
    const layers = swapped.classes[1].weights.layers;
    [layers[3].bias, layers[7].bias] = [layers[7].bias, layers[3].bias];
    await refused(readBundle(swapped, weights), 'probe-mismatch');
    const edited = copy(manifest);
    edited.probe!.means.epithelial[0] += 0.01;
    await refused(readBundle(edited, weights), 'probe-mismatch');
  });

  test('a bundle written before the checksum and probe loads, with warnings saying what was not checked', async () => {
    const { manifest, weights } = await writeBundle(sampleBundle());
    const { weightsSha256: _sha, probe: _probe, ...old } = manifest;
    const loaded = await readBundle(old, weights);
    assert.equal(loaded.warnings?.length, 2);
    assert.match(loaded.warnings[0], /no weightsSha256/);
    assert.match(loaded.warnings[1], /no probe/);
    const withoutProbe = await readBundle({ ...old, weightsSha256: manifest.weightsSha256 }, weights);
    assert.deepEqual(withoutProbe.warnings?.length, 1);
  });

  test('bad integrity fields, beyond float32, deep nesting, long values: short messages', async () => {
    const { manifest, weights } = await writeBundle(sampleBundle());
    await refused(readBundle({ ...manifest, weightsSha256: 'ABC' }, weights), 'bad-field', /weightsSha256/);
    await refused(readBundle({ ...manifest, weightsSha256: 'x'.repeat(1_000_000) }, weights), 'bad-field');
    const short = copy(manifest);
    short.probe!.means.lymphocyte.pop();
    await refused(readBundle(short, weights), 'bad-field', /probe\.means/);
    const huge = copy(manifest);
    huge.normalisation.mean[0] = 1e308;
    await refused(readBundle(huge, weights), 'bad-normalisation', /float32/);
    const tiny = copy(manifest);
    tiny.normalisation.std[0] = 1e-300;
    delete tiny.probe;
    await refused(readBundle(tiny, weights), 'not-finite', /probe image/);
    const deep = JSON.stringify({ ...manifest, training: { x: '@' } }).replace(
      '"@"',
      '['.repeat(20_000) + ']'.repeat(20_000),
    );
    await refused(readBundle(deep, weights), 'too-deep');
    const longName = copy(manifest);
    longName.classes[0].weights.layers[0].kernel.length = 'x'.repeat(3_000_000) as unknown as number;
    await refused(readBundle(longName, weights), 'bad-field', /3000000 characters/);
  });

  for (const [name, mpp] of [
    ['default', 0.25],
    ['consep-0.5um', 0.5],
  ] as const)
    test(`models/${name} has checksum and probe matching its weights, at ${mpp} µm/px`, async () => {
      const dir = new URL(`../../../models/${name}/`, import.meta.url);
      const manifest = JSON.parse(await readFile(new URL('extractors.json', dir), 'utf8')) as ExtractorManifest;
      const bytes = await readFile(new URL(manifest.weightsFile, dir));
      assert.equal(manifest.weightsSha256, createHash('sha256').update(bytes).digest('hex'));
      const weights = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const bundle = await readBundle(manifest, weights);
      assert.equal(bundle.warnings, undefined);
      assert.deepEqual(
        Object.keys(manifest.probe!.means),
        bundle.classes.map((c) => c.name),
      );
      // decodeBundle checks the probe too (synchronously), only not the checksum.
      assert.doesNotThrow(() => decodeBundle(manifest, weights));
      assert.equal(bundle.mpp, mpp);
      assert.ok(bundle.stain, 'the stain statistics that --stain maps a slide to');
    });
});
