import { BundleError } from '../../core/msd/bundle-error.js';
import { encodeBundle, loadBundle, writeBundle } from '../../core/msd/bundle.js';
import { MsdWorkspace, packMsdParams } from '../../core/msd/engine.js';
import type { FuzzKind } from './fuzz-kind.js';
import { fuzzExtractors, fuzzTile, fuzzWeights, nonFinite } from './fuzz-extractors.js';
import { mutateJson, pick } from './json-mutator.js';

/**
 * Extractor bundles (core/msd/bundle.ts, models/FORMAT.md): a manifest and a weights file, packed
 * for the fuzzer as one byte array, [manifest length: uint32 LE][manifest JSON][weights]. A
 * mutant changes one of the two: the manifest as JSON, or the weights by finite corruptions (a
 * float's random bytes, a flipped exponent bit, zeros) and by cutting or extending the file —
 * finite corruptions pass every layout check, so only the weights' checksum can catch them.
 * Read as the panel reads two files a user picked (loadBundle of two Blobs); an accepted bundle's
 * features and outputs on a 16×16 tile must be finite.
 */
export function packBundle(manifest: Uint8Array, weights: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + manifest.length + weights.length);
  new DataView(out.buffer).setUint32(0, manifest.length, true);
  out.set(manifest, 4);
  out.set(weights, 4 + manifest.length);
  return out;
}

export function unpackBundle(bytes: Uint8Array): {
  manifest: Uint8Array<ArrayBuffer>;
  weights: Uint8Array<ArrayBuffer>;
} {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  return { manifest: bytes.slice(4, 4 + length), weights: bytes.slice(4 + length) };
}

/** A finite float32 corruption: the checks on layout and finiteness all pass it. */
export function corruptWeights(weights: Uint8Array, random: () => number): Uint8Array {
  const out = weights.slice();
  const view = new DataView(out.buffer);
  const floats = out.length >> 2;
  switch (pick(random, 5)) {
    case 0: {
      // Random bytes, redrawn until the float is finite.
      const at = 4 * pick(random, floats);
      do for (let k = 0; k < 4; k++) out[at + k] = pick(random, 256);
      while (!Number.isFinite(view.getFloat32(at, true)));
      return out;
    }
    case 1: {
      const at = 4 * pick(random, floats);
      const bits = view.getUint32(at, true);
      let flipped: number;
      do flipped = bits ^ (1 << (23 + pick(random, 8)));
      while (!Number.isFinite(new Float32Array(new Uint32Array([flipped]).buffer)[0]));
      view.setUint32(at, flipped >>> 0, true);
      return out;
    }
    case 2: {
      const at = 4 * pick(random, floats);
      out.fill(0, at, at + 4 * (1 + pick(random, 8)));
      return out;
    }
    case 3:
      return out.slice(0, 4 * pick(random, floats));
    default: {
      const grown = new Uint8Array(out.length + 4 * (1 + pick(random, 4)));
      grown.set(out);
      return grown;
    }
  }
}

/** A sealed bundle (checksum and probe), or one written before bundles had them (`sealed` false). */
export async function writeSeed(classes: ReturnType<typeof fuzzExtractors>, sealed = true): Promise<Uint8Array> {
  const bundle = { classes, mpp: 0.25, metadata: { data: 'fuzz' } };
  const { manifest, weights } = sealed ? await writeBundle(bundle) : encodeBundle(bundle);
  return packBundle(new TextEncoder().encode(JSON.stringify(manifest)), new Uint8Array(weights));
}

export function bundleKind(): FuzzKind {
  const tile = fuzzTile(16, 16);
  return {
    name: 'bundle',
    async seeds() {
      return [
        await writeSeed(fuzzExtractors()),
        await writeSeed([{ name: 'spindle', weights: fuzzWeights(12, 13) }]),
        // An old bundle: what the checksum would catch is left to the other checks, and an
        // accepted mutant must still compute finite features.
        await writeSeed(fuzzExtractors(), false),
      ];
    },
    mutate(seed, random) {
      const { manifest, weights } = unpackBundle(seed);
      return random() < 0.5
        ? packBundle(mutateJson(manifest, random), weights)
        : packBundle(manifest, corruptWeights(weights, random));
    },
    async check(bytes, signal) {
      const { manifest, weights } = unpackBundle(bytes);
      const bundle = await loadBundle({ manifest: new Blob([manifest]), weights: new Blob([weights]) }, { signal });
      for (const { name, weights: w } of bundle.classes) {
        const depth = w.layers.length;
        const workspace = new MsdWorkspace({
          inputChannels: 3,
          depth,
          height: 16,
          width: 16,
          samples: 1,
          training: false,
        });
        const output = workspace.forward(0, packMsdParams(w), tile, w.normalisation);
        let bad = nonFinite(output);
        for (let m = 0; m < depth; m++) bad += nonFinite(workspace.featureMap(0, m));
        if (bad > 0) throw new Error(`accepted, but extractor ${name} gives ${bad} non-finite values on a 16×16 tile`);
      }
    },
    isTyped: (error) => error instanceof BundleError && typeof error.code === 'string',
  };
}
