/**
 * Extractor bundles: the trained MSD feature extractors, one per known class, as a JSON
 * manifest plus one little-endian float32 weights file (format: models/FORMAT.md). Everything
 * a bundle claims is checked when it is read, so a bad file fails here with a BundleError that
 * names the problem instead of producing wrong features later.
 */
import { answerOf, wrongAsset, type AssetKind } from '../assets/asset-response.js';
import { BundleError } from './bundle-error.js';
import { dilationOf, type MsdLayer, type MsdWeights } from './weights.js';

export const BUNDLE_FORMAT = 'openseadragon-fewshot/extractors';
export const BUNDLE_VERSION = 1;

export interface ExtractorClass {
  readonly name: string;
  readonly weights: MsdWeights;
}

export interface ExtractorBundle {
  readonly classes: readonly ExtractorClass[];
  /** Microns per pixel of the images the extractors were trained on: read inputs at this scale. */
  readonly mpp: number;
  /** Free-form training metadata (data, epochs, validation scores…); the manifest's `training`. */
  readonly metadata: Record<string, unknown>;
}

/** A run of float32 values in the weights file, counted in values (byte offset = 4 · offset). */
export interface TensorRef {
  offset: number;
  length: number;
}

export interface ManifestNormalisation {
  mean: number[];
  std: number[];
}

export interface ManifestClass {
  name: string;
  depth: number;
  inputChannels: number;
  /** One per layer, (i mod 10) + 1: stored so that a reader can check it is the network it knows. */
  dilations: number[];
  /** Only where this class was trained with other statistics than the bundle's. */
  normalisation?: ManifestNormalisation;
  weights: {
    layers: { kernel: TensorRef; bias: TensorRef }[];
    output: { weights: TensorRef; bias: TensorRef };
  };
}

export interface ExtractorManifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  weightsFile: string;
  mppExpected: number;
  normalisation: ManifestNormalisation;
  training: Record<string, unknown>;
  classes: ManifestClass[];
}

export interface EncodeOptions {
  /** File name the manifest points at; the file is written beside the manifest. */
  readonly weightsFile?: string;
}

export type BundleSource = URL | string | { readonly manifest: Blob; readonly weights: Blob };

const sameNumbers = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Lays the bundle out as a manifest and one weights buffer: per class, each layer's kernel then
 * its bias, then the output weights and bias. The result is decoded once before it is returned,
 * so anything encodeBundle accepts, decodeBundle reads back.
 */
export function encodeBundle(
  bundle: ExtractorBundle,
  options: EncodeOptions = {},
): { manifest: ExtractorManifest; weights: ArrayBuffer } {
  if (bundle.classes.length === 0) throw new BundleError('no-classes', 'the bundle has no extractors');
  const shared = bundle.classes[0].weights.normalisation;
  const chunks: ArrayLike<number>[] = [];
  let offset = 0;
  const put = (values: ArrayLike<number>): TensorRef => {
    chunks.push(values);
    const ref = { offset, length: values.length };
    offset += values.length;
    return ref;
  };
  const classes: ManifestClass[] = bundle.classes.map(({ name, weights }) => {
    const normalisation = weights.normalisation;
    const differs = !sameNumbers(normalisation.mean, shared.mean) || !sameNumbers(normalisation.std, shared.std);
    return {
      name,
      depth: weights.layers.length,
      inputChannels: weights.inputChannels,
      dilations: weights.layers.map((layer) => layer.dilation),
      ...(differs ? { normalisation: { mean: [...normalisation.mean], std: [...normalisation.std] } } : {}),
      weights: {
        layers: weights.layers.map((layer) => ({ kernel: put(layer.kernel), bias: put([layer.bias]) })),
        output: { weights: put(weights.output.weights), bias: put([weights.output.bias]) },
      },
    };
  });
  const buffer = new ArrayBuffer(offset * 4);
  const view = new DataView(buffer);
  let at = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++, at += 4) view.setFloat32(at, chunk[i], true);
  }
  const manifest: ExtractorManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    weightsFile: options.weightsFile ?? 'extractors.bin',
    mppExpected: bundle.mpp,
    normalisation: { mean: [...shared.mean], std: [...shared.std] },
    training: { ...bundle.metadata },
    classes,
  };
  decodeBundle(manifest, buffer);
  return { manifest, weights: buffer };
}

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function get(object: Json, key: string, path: string): unknown {
  const value = object[key];
  if (value === undefined || value === null) throw new BundleError('missing-field', `${path}.${key} is missing`);
  return value;
}

function record(object: Json, key: string, path: string): Json {
  const value = get(object, key, path);
  if (!isRecord(value)) throw new BundleError('bad-field', `${path}.${key} must be an object`);
  return value;
}

function array(object: Json, key: string, path: string): unknown[] {
  const value = get(object, key, path);
  if (!Array.isArray(value)) throw new BundleError('bad-field', `${path}.${key} must be an array`);
  return value;
}

function integer(object: Json, key: string, path: string, min: number): number {
  const value = get(object, key, path);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new BundleError('bad-field', `${path}.${key} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function text(object: Json, key: string, path: string): string {
  const value = get(object, key, path);
  if (typeof value !== 'string' || value === '')
    throw new BundleError('bad-field', `${path}.${key} must be a non-empty string`);
  return value;
}

function tensorRef(object: Json, key: string, path: string): TensorRef {
  const ref = record(object, key, path);
  return { offset: integer(ref, 'offset', `${path}.${key}`, 0), length: integer(ref, 'length', `${path}.${key}`, 0) };
}

function normalisation(value: unknown, path: string, channels: number | undefined): ManifestNormalisation {
  if (!isRecord(value)) throw new BundleError('bad-normalisation', `${path} must be an object with mean and std`);
  const { mean, std } = value;
  const finite = (v: unknown): v is number[] =>
    Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!finite(mean) || !finite(std))
    throw new BundleError('bad-normalisation', `${path}.mean and .std must be arrays of finite numbers`);
  if (mean.length !== std.length)
    throw new BundleError(
      'bad-normalisation',
      `${path} has ${mean.length} means but ${std.length} standard deviations`,
    );
  if (channels !== undefined && mean.length !== channels) {
    throw new BundleError(
      'bad-normalisation',
      `${path} has ${mean.length} channels, the network has ${channels} input channels`,
    );
  }
  if (std.some((s) => s <= 0)) throw new BundleError('bad-normalisation', `${path}.std must be positive`);
  return { mean, std };
}

interface PlannedTensor {
  readonly ref: TensorRef;
  readonly label: string;
}

interface ParsedClass {
  readonly name: string;
  readonly inputChannels: number;
  readonly dilations: number[];
  readonly normalisation: ManifestNormalisation;
  readonly layers: { kernel: PlannedTensor; bias: PlannedTensor }[];
  readonly output: { weights: PlannedTensor; bias: PlannedTensor };
}

interface ParsedManifest {
  readonly weightsFile: string;
  readonly mpp: number;
  readonly metadata: Json;
  readonly classes: ParsedClass[];
}

/** Everything that can be checked without the weights file. */
function parseManifest(manifest: unknown): ParsedManifest {
  if (typeof manifest === 'string') {
    try {
      manifest = JSON.parse(manifest);
    } catch (err) {
      throw new BundleError('not-json', `the manifest is not JSON (${(err as Error).message})`, { cause: err });
    }
  }
  if (!isRecord(manifest)) throw new BundleError('bad-field', 'the manifest must be a JSON object');
  if (manifest.format !== BUNDLE_FORMAT) {
    throw new BundleError('wrong-format', `format is ${JSON.stringify(manifest.format)}, expected "${BUNDLE_FORMAT}"`);
  }
  if (manifest.version !== BUNDLE_VERSION) {
    throw new BundleError(
      'unsupported-version',
      `version ${JSON.stringify(manifest.version)} is not supported (this reader knows version ${BUNDLE_VERSION})`,
    );
  }
  const weightsFile = text(manifest, 'weightsFile', 'manifest');
  // A bare file name beside the manifest: a manifest must not send the reader to another place.
  if (/[/\\?#:]/.test(weightsFile) || weightsFile === '.' || weightsFile === '..') {
    throw new BundleError(
      'bad-field',
      `manifest.weightsFile must be a plain file name, got ${JSON.stringify(weightsFile)}`,
    );
  }
  const mpp = get(manifest, 'mppExpected', 'manifest');
  if (typeof mpp !== 'number' || !Number.isFinite(mpp) || mpp <= 0) {
    throw new BundleError(
      'bad-mpp',
      `mppExpected must be a positive number of microns per pixel, got ${JSON.stringify(mpp)}`,
    );
  }
  const shared = normalisation(get(manifest, 'normalisation', 'manifest'), 'manifest.normalisation', undefined);
  const training = manifest.training ?? {};
  if (!isRecord(training)) throw new BundleError('bad-field', 'manifest.training must be an object');
  const list = array(manifest, 'classes', 'manifest');
  if (list.length === 0) throw new BundleError('no-classes', 'manifest.classes is empty');

  const names = new Set<string>();
  const classes = list.map((entry, index): ParsedClass => {
    if (!isRecord(entry)) throw new BundleError('bad-field', `classes[${index}] must be an object`);
    const path = `classes[${index}]`;
    const name = text(entry, 'name', path);
    if (names.has(name)) throw new BundleError('duplicate-class', `two extractors are named "${name}"`);
    names.add(name);
    const where = `class "${name}"`;
    const depth = integer(entry, 'depth', path, 1);
    const inputChannels = integer(entry, 'inputChannels', path, 1);
    const dilations = array(entry, 'dilations', path);
    if (dilations.length !== depth)
      throw new BundleError('depth-mismatch', `${where} has depth ${depth} but ${dilations.length} dilations`);
    dilations.forEach((d, i) => {
      if (d !== dilationOf(i))
        throw new BundleError(
          'dilation-mismatch',
          `${where} layer ${i} has dilation ${JSON.stringify(d)}, an MSD network has ${dilationOf(i)} there`,
        );
    });
    const norm =
      entry.normalisation === undefined
        ? shared
        : normalisation(entry.normalisation, `${path}.normalisation`, inputChannels);
    if (norm.mean.length !== inputChannels) {
      throw new BundleError(
        'bad-normalisation',
        `manifest.normalisation has ${norm.mean.length} channels, ${where} has ${inputChannels} input channels`,
      );
    }
    const weights = record(entry, 'weights', path);
    const layerRefs = array(weights, 'layers', `${path}.weights`);
    if (layerRefs.length !== depth)
      throw new BundleError('depth-mismatch', `${where} has depth ${depth} but weights for ${layerRefs.length} layers`);
    const planned = (ref: TensorRef, label: string, expected: number): PlannedTensor => {
      if (ref.length !== expected)
        throw new BundleError(
          'shape-mismatch',
          `${where} ${label} has ${ref.length} values, its shape needs ${expected}`,
        );
      return { ref, label: `${where} ${label}` };
    };
    const layers = layerRefs.map((layer, i) => {
      const lp = `${path}.weights.layers[${i}]`;
      if (!isRecord(layer)) throw new BundleError('bad-field', `${lp} must be an object`);
      return {
        kernel: planned(
          tensorRef(layer, 'kernel', lp),
          `layer ${i} kernel (3×3×${inputChannels + i})`,
          9 * (inputChannels + i),
        ),
        bias: planned(tensorRef(layer, 'bias', lp), `layer ${i} bias`, 1),
      };
    });
    const output = record(weights, 'output', `${path}.weights`);
    return {
      name,
      inputChannels,
      dilations: dilations as number[],
      normalisation: norm,
      layers,
      output: {
        weights: planned(
          tensorRef(output, 'weights', `${path}.weights.output`),
          `output weights (${inputChannels}+${depth})`,
          inputChannels + depth,
        ),
        bias: planned(tensorRef(output, 'bias', `${path}.weights.output`), 'output bias', 1),
      },
    };
  });
  return { weightsFile, mpp, metadata: training, classes };
}

/** Checks the layout against the weights file and reads every tensor. */
function readWeights(parsed: ParsedManifest, buffer: ArrayBuffer): ExtractorBundle {
  const tensors = parsed.classes.flatMap((c) => [
    ...c.layers.flatMap((l) => [l.kernel, l.bias]),
    c.output.weights,
    c.output.bias,
  ]);
  const available = Math.floor(buffer.byteLength / 4);
  for (const { ref, label } of tensors) {
    if (ref.offset + ref.length > available) {
      throw new BundleError(
        'weights-short',
        `${label} needs float32 values [${ref.offset}, ${ref.offset + ref.length}) ` +
          `but the weights file has ${buffer.byteLength} bytes (${available} values)`,
      );
    }
  }
  const sorted = [...tensors].sort((a, b) => a.ref.offset - b.ref.offset);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1];
    if (sorted[i].ref.offset < previous.ref.offset + previous.ref.length) {
      throw new BundleError(
        'overlapping-tensors',
        `${previous.label} and ${sorted[i].label} share values of the weights file`,
      );
    }
  }
  const used = tensors.reduce((sum, t) => sum + t.ref.length, 0) * 4;
  if (buffer.byteLength > used) {
    throw new BundleError(
      'weights-long',
      `the weights file has ${buffer.byteLength} bytes, the manifest uses ${used}: wrong file, ` +
        `or a manifest that does not match it`,
    );
  }

  const view = new DataView(buffer);
  const read = ({ ref, label }: PlannedTensor): Float32Array => {
    const values = new Float32Array(ref.length);
    for (let i = 0; i < ref.length; i++) {
      const v = view.getFloat32((ref.offset + i) * 4, true);
      if (!Number.isFinite(v)) throw new BundleError('not-finite', `${label} value ${i} is ${v}`);
      values[i] = v;
    }
    return values;
  };
  const classes = parsed.classes.map((c): ExtractorClass => {
    const layers: MsdLayer[] = c.layers.map((layer, i) => ({
      dilation: c.dilations[i],
      kernel: read(layer.kernel),
      bias: read(layer.bias)[0],
    }));
    return {
      name: c.name,
      weights: {
        inputChannels: c.inputChannels,
        layers,
        output: { weights: read(c.output.weights), bias: read(c.output.bias)[0] },
        normalisation: { mean: [...c.normalisation.mean], std: [...c.normalisation.std] },
      },
    };
  });
  return { classes, mpp: parsed.mpp, metadata: parsed.metadata };
}

/** Reads a bundle from its manifest (parsed JSON or JSON text) and weights file, checking all of it. */
export function decodeBundle(manifest: unknown, weights: ArrayBuffer): ExtractorBundle {
  return readWeights(parseManifest(manifest), weights);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BundleError('aborted', 'loading was aborted', { cause: signal.reason });
}

/** The bytes at `url`, or a BundleError naming the URL and what came back instead (asset-response.ts). */
async function fetchFile(
  url: URL,
  expected: AssetKind,
  what: string,
  signal: AbortSignal | undefined,
): Promise<ArrayBuffer> {
  let response: Response;
  let body: ArrayBuffer;
  try {
    response = await fetch(url, { signal });
    body = await response.arrayBuffer();
  } catch (err) {
    throwIfAborted(signal);
    throw new BundleError('network', `could not read ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  const problem = wrongAsset(url.href, answerOf(response, body), expected, what);
  if (problem) throw new BundleError(response.ok ? 'wrong-file' : 'network', problem);
  return body;
}

function toUrl(from: URL | string, what: string): URL {
  try {
    return new URL(from, globalThis.location?.href);
  } catch (err) {
    throw new BundleError('network', `${JSON.stringify(String(from))} is not a URL (${what})`, { cause: err });
  }
}

/**
 * Loads a bundle from the URL of its manifest (the weights file is fetched from beside it, or from
 * `weightsUrl`: a bundler that renames files emits the two apart) or from the two files a user
 * picked. A relative URL resolves against the page or worker location.
 */
export async function loadBundle(
  from: BundleSource,
  options: { signal?: AbortSignal; weightsUrl?: URL | string } = {},
): Promise<ExtractorBundle> {
  const { signal } = options;
  throwIfAborted(signal);
  if (typeof from === 'string' || from instanceof URL) {
    const url = toUrl(from, 'the manifest');
    const manifestText = new TextDecoder().decode(await fetchFile(url, 'json', 'its JSON manifest', signal));
    const parsed = parseManifest(manifestText);
    const weightsUrl =
      options.weightsUrl !== undefined ? toUrl(options.weightsUrl, 'the weights') : new URL(parsed.weightsFile, url);
    const weights = await fetchFile(weightsUrl, 'binary', 'its float32 weights file', signal);
    throwIfAborted(signal);
    return readWeights(parsed, weights);
  }
  const parsed = parseManifest(await from.manifest.text());
  throwIfAborted(signal);
  const weights = await from.weights.arrayBuffer();
  throwIfAborted(signal);
  return readWeights(parsed, weights);
}
