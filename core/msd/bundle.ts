/**
 * Extractor bundles: the trained MSD feature extractors, one per known class, as a JSON
 * manifest plus one little-endian float32 weights file (format: models/FORMAT.md). Everything
 * a bundle claims is checked when it is read, so a bad file fails here with a BundleError that
 * names the problem instead of producing wrong features later.
 */
import { answerOf, wrongAsset, type AssetKind } from '../assets/asset-response.js';
import { briefValue } from '../json/brief-value.js';
import { readBoundedJson } from '../json/bounded-json.js';
import { FLOAT32_MAX, fitsFloat32 } from '../math/float32.js';
import { BundleError } from './bundle-error.js';
import { SHA256_HEX, sha256Hex } from './bundle-checksum.js';
import { PROBE_SIZE, probeExtractor, probeMismatch } from './bundle-probe.js';
import { NO_CHECKSUM_WARNING, NO_PROBE_WARNING, NO_WEBCRYPTO_WARNING } from './bundle-warnings.js';
import { dilationOf, type MsdLayer, type MsdWeights } from './weights.js';
import { plainStainStats, stainStatsProblem, type StainStats } from '../stain/stain-stats.js';

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
  /**
   * What reading could not check and the bundle was loaded anyway: an old bundle without a
   * checksum or probe, a page without WebCrypto. Absent when everything was checked.
   */
  readonly warnings?: readonly string[];
  /** The training data's stain statistics, what input stain normalisation maps to (models/FORMAT.md#stain). */
  readonly stain?: StainStats;
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

/** Features of the fixed probe image (bundle-probe.ts), per class name: depth map means, then the output's. */
export interface ManifestProbe {
  size: number;
  means: Record<string, number[]>;
}

export interface ExtractorManifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  weightsFile: string;
  /** Lower-case hex SHA-256 of the weights file; optional for bundles written before it existed. */
  weightsSha256?: string;
  /** Optional likewise; written with the checksum by writeBundle. */
  probe?: ManifestProbe;
  mppExpected: number;
  normalisation: ManifestNormalisation;
  /** Optional: the training data's stain statistics (models/FORMAT.md#stain). */
  stain?: StainStats;
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
    ...(bundle.stain ? { stain: plainStainStats(bundle.stain) } : {}),
    training: { ...bundle.metadata },
    classes,
  };
  decodeBundle(manifest, buffer);
  return { manifest, weights: buffer };
}

/**
 * A bundle as files to save: encodeBundle's layout plus its integrity, the weights' SHA-256 and
 * the probe (models/FORMAT.md#integrity), which readers check. What tools/train.ts writes.
 */
export async function writeBundle(
  bundle: ExtractorBundle,
  options: EncodeOptions = {},
): Promise<{ manifest: ExtractorManifest; weights: ArrayBuffer }> {
  const { manifest, weights } = encodeBundle(bundle, options);
  return { manifest: await withIntegrity(manifest, weights), weights };
}

/**
 * The manifest with the checksum and probe of these weights, computed from the bundle they
 * decode to (the manifest is checked first). For writers, and for adding integrity to a bundle
 * written without it, without touching its weights file.
 */
export async function withIntegrity(manifest: ExtractorManifest, weights: ArrayBuffer): Promise<ExtractorManifest> {
  const sha = await sha256Hex(weights);
  if (sha === undefined) throw new Error('writing a bundle needs WebCrypto (crypto.subtle) for its checksum');
  const { weightsSha256: _sha, probe: _probe, ...rest } = manifest;
  const bundle = decodeBundle(rest, weights);
  const means: Record<string, number[]> = {};
  for (const c of bundle.classes) means[c.name] = probeExtractor(c.weights, PROBE_SIZE);
  // Key order: the integrity right after the file it is about.
  const { format, version, weightsFile, ...others } = rest;
  return { format, version, weightsFile, weightsSha256: sha, probe: { size: PROBE_SIZE, means }, ...others };
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
    throw new BundleError('bad-field', `${path}.${key} must be an integer ≥ ${min}, got ${briefValue(value)}`);
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
  // float32-finite: the engines normalise in float32, where 1e308 is Infinity.
  const finite = (v: unknown): v is number[] =>
    Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && fitsFloat32(x));
  if (!finite(mean) || !finite(std))
    throw new BundleError(
      'bad-normalisation',
      `${path}.mean and .std must be arrays of finite numbers within float32's ±${FLOAT32_MAX.toPrecision(3)}`,
    );
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
  readonly sha256?: string;
  readonly probe?: ManifestProbe;
  readonly mpp: number;
  readonly metadata: Json;
  readonly classes: ParsedClass[];
  readonly stain?: StainStats;
}

/** Everything that can be checked without the weights file. */
function parseManifest(manifest: unknown): ParsedManifest {
  const read = readBoundedJson(manifest);
  if (read.problem) {
    if (read.problem.kind === 'too-deep') throw new BundleError('too-deep', `the manifest: ${read.problem.message}`);
    throw new BundleError('not-json', `the manifest is not JSON (${read.problem.message})`);
  }
  manifest = read.value;
  if (!isRecord(manifest)) throw new BundleError('bad-field', 'the manifest must be a JSON object');
  if (manifest.format !== BUNDLE_FORMAT) {
    throw new BundleError('wrong-format', `format is ${briefValue(manifest.format)}, expected "${BUNDLE_FORMAT}"`);
  }
  if (manifest.version !== BUNDLE_VERSION) {
    throw new BundleError(
      'unsupported-version',
      `version ${briefValue(manifest.version)} is not supported (this reader knows version ${BUNDLE_VERSION})`,
    );
  }
  const weightsFile = text(manifest, 'weightsFile', 'manifest');
  // A bare file name beside the manifest: a manifest must not send the reader to another place.
  if (/[/\\?#:]/.test(weightsFile) || weightsFile === '.' || weightsFile === '..') {
    throw new BundleError(
      'bad-field',
      `manifest.weightsFile must be a plain file name, got ${briefValue(weightsFile)}`,
    );
  }
  const mpp = get(manifest, 'mppExpected', 'manifest');
  if (typeof mpp !== 'number' || !(mpp > 0 && mpp <= MAX_MPP)) {
    throw new BundleError(
      'bad-mpp',
      `mppExpected must be a positive number of microns per pixel, got ${briefValue(mpp)} (at most ${MAX_MPP})`,
    );
  }
  const sha256 = manifest.weightsSha256;
  if (sha256 !== undefined && (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)))
    throw new BundleError(
      'bad-field',
      `manifest.weightsSha256 must be 64 lower-case hex digits, got ${briefValue(sha256)}`,
    );
  const shared = normalisation(get(manifest, 'normalisation', 'manifest'), 'manifest.normalisation', undefined);
  const stain = manifest.stain;
  const stainProblem = stain === undefined ? undefined : stainStatsProblem(stain);
  if (stainProblem) throw new BundleError('bad-stain', `manifest.stain ${stainProblem}`);
  const training = manifest.training ?? {};
  if (!isRecord(training)) throw new BundleError('bad-field', 'manifest.training must be an object');
  const list = array(manifest, 'classes', 'manifest');
  if (list.length === 0) throw new BundleError('no-classes', 'manifest.classes is empty');

  const names = new Set<string>();
  const classes = list.map((entry, index): ParsedClass => {
    if (!isRecord(entry)) throw new BundleError('bad-field', `classes[${index}] must be an object`);
    const path = `classes[${index}]`;
    const name = text(entry, 'name', path);
    if (names.has(name)) throw new BundleError('duplicate-class', `two extractors are named ${briefValue(name)}`);
    names.add(name);
    const where = `class ${briefValue(name)}`;
    const depth = integer(entry, 'depth', path, 1);
    const inputChannels = integer(entry, 'inputChannels', path, 1);
    const dilations = array(entry, 'dilations', path);
    if (dilations.length !== depth)
      throw new BundleError('depth-mismatch', `${where} has depth ${depth} but ${dilations.length} dilations`);
    dilations.forEach((d, i) => {
      if (d !== dilationOf(i))
        throw new BundleError(
          'dilation-mismatch',
          `${where} layer ${i} has dilation ${briefValue(d)}, an MSD network has ${dilationOf(i)} there`,
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
  const probe = manifest.probe === undefined ? undefined : parseProbe(manifest.probe, classes);
  return {
    weightsFile,
    ...(sha256 === undefined ? {} : { sha256: sha256 as string }),
    ...(probe ? { probe } : {}),
    mpp,
    metadata: training,
    classes,
    ...(stain === undefined ? {} : { stain: plainStainStats(stain as StainStats) }),
  };
}

/** Microns per pixel above this are no slide's: 1 mm per pixel. */
const MAX_MPP = 1000;

function parseProbe(value: unknown, classes: readonly ParsedClass[]): ManifestProbe {
  if (!isRecord(value) || value.size !== PROBE_SIZE || !isRecord(value.means))
    throw new BundleError(
      'bad-field',
      `manifest.probe must be { size: ${PROBE_SIZE}, means: { class name: numbers } }, got ${briefValue(value)}`,
    );
  const stored = value.means;
  const means: Record<string, number[]> = {};
  for (const c of classes) {
    const list = stored[c.name];
    const expected = c.dilations.length + 1;
    if (!Array.isArray(list) || list.length !== expected || !list.every((v) => typeof v === 'number'))
      throw new BundleError(
        'bad-field',
        `manifest.probe.means[${briefValue(c.name)}] must be ${expected} numbers, got ${briefValue(list)}`,
      );
    means[c.name] = list as number[];
  }
  if (Object.keys(stored).length !== classes.length)
    throw new BundleError(
      'bad-field',
      `manifest.probe.means names ${Object.keys(stored).length} classes, the bundle has ${classes.length}`,
    );
  return { size: PROBE_SIZE, means };
}

/** Checks the layout against the weights file and reads every tensor. */
function readWeights(parsed: ParsedManifest, buffer: ArrayBuffer): ExtractorBundle {
  checkLayout(parsed, buffer);
  return readTensors(parsed, buffer);
}

/** The tensors against the weights file's size: inside it, disjoint, covering it. */
function checkLayout(parsed: ParsedManifest, buffer: ArrayBuffer): void {
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
}

/** Every tensor read (each value finite), then every extractor run on the probe image. */
function readTensors(parsed: ParsedManifest, buffer: ArrayBuffer): ExtractorBundle {
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
  // Every extractor runs once on the probe image: finite features are required of any bundle,
  // the stored probe's values of one that has them.
  const warnings: string[] = [];
  for (const c of classes) {
    const computed = probeExtractor(c.weights, PROBE_SIZE);
    const bad = computed.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new BundleError(
        'not-finite',
        `class ${briefValue(c.name)} gives a non-finite ` +
          `${bad < computed.length - 1 ? `feature map ${bad}` : 'output'} on the probe image`,
      );
    const stored = parsed.probe?.means[c.name];
    const differs = stored ? probeMismatch(stored, computed) : -1;
    if (stored && differs >= 0)
      throw new BundleError(
        'probe-mismatch',
        `class ${briefValue(c.name)} gives ${computed[differs]} as probe value ${differs}, the manifest says ` +
          `${stored[differs]}: the manifest does not read these weights as they were written`,
      );
  }
  if (!parsed.probe) warnings.push(NO_PROBE_WARNING);
  return {
    classes,
    mpp: parsed.mpp,
    metadata: parsed.metadata,
    ...(parsed.stain ? { stain: parsed.stain } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

/**
 * Reads a bundle from its manifest (parsed JSON or JSON text) and weights file, checking all of
 * it but the weights' checksum, which needs the asynchronous WebCrypto digest: readBundle checks
 * that too, and is what files from outside go through. For bundles made in this process
 * (encodeBundle's output, tests, tools).
 */
export function decodeBundle(manifest: unknown, weights: ArrayBuffer): ExtractorBundle {
  return readWeights(parseManifest(manifest), weights);
}

/** Checks the weights' SHA-256 against the manifest's; warnings for what could not be checked. */
async function checkSha256(parsed: ParsedManifest, weights: ArrayBuffer): Promise<string[]> {
  if (parsed.sha256 === undefined) return [NO_CHECKSUM_WARNING];
  const actual = await sha256Hex(weights);
  if (actual === undefined) return [NO_WEBCRYPTO_WARNING];
  if (actual !== parsed.sha256)
    throw new BundleError(
      'checksum-mismatch',
      `the weights file's SHA-256 is ${actual}, the manifest says ${parsed.sha256}: ` +
        `the file is damaged or not this bundle's`,
    );
  return [];
}

async function readVerified(parsed: ParsedManifest, weights: ArrayBuffer): Promise<ExtractorBundle> {
  // Layout first (a cut file is weights-short, not a checksum mismatch), then the bytes, then
  // what they compute (a damaged weight is a checksum mismatch, not a non-finite probe).
  checkLayout(parsed, weights);
  const early = await checkSha256(parsed, weights);
  const bundle = readTensors(parsed, weights);
  const warnings = [...early, ...(bundle.warnings ?? [])];
  return { ...bundle, ...(warnings.length ? { warnings } : {}) };
}

/**
 * Reads a bundle from its manifest and weights file, checking all of it: decodeBundle's checks
 * and the weights' SHA-256. A bundle without checksum or probe loads, with `warnings` saying so.
 */
export async function readBundle(manifest: unknown, weights: ArrayBuffer): Promise<ExtractorBundle> {
  return readVerified(parseManifest(manifest), weights);
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
    throw new BundleError('network', `${briefValue(String(from))} is not a URL (${what})`, { cause: err });
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
    return readVerified(parsed, weights);
  }
  const parsed = parseManifest(await from.manifest.text());
  throwIfAborted(signal);
  const weights = await from.weights.arrayBuffer();
  throwIfAborted(signal);
  return readVerified(parsed, weights);
}
