import type { FeatureStats } from './feature-standardisation.js';
import { briefMessage, briefText, briefValue } from '../json/brief-value.js';
import { readBoundedJson } from '../json/bounded-json.js';
import { FLOAT32_MAX, fitsFloat32 } from '../math/float32.js';
import { extractorSignature, type ExtractorSet, type ExtractorSignature } from '../msd/extractor-signature.js';

/**
 * The adapted perceptron, ŷ = σ(b + g(x)·W), as the small JSON a user saves and reloads
 * (docs/ARCHITECTURE.md#few-shot-adaptation). W and b act on the raw concatenated features (the
 * standardisation is folded in); `featureStats` are kept for reference and for refitting. A head
 * only means something with the extractors it was fitted on, in the same order, so it names them.
 */
export const HEAD_FORMAT = 'openseadragon-fewshot/head';
export const HEAD_VERSION = 1;

export interface HeadMetadata {
  /** The extractors whose concatenated features W weighs, in order; Σ depth = W.length. */
  readonly extractors: readonly ExtractorSignature[];
  /** Free-form: class name, shots, fit report… (kept as given). */
  readonly [key: string]: unknown;
}

export interface Head {
  readonly W: readonly number[];
  readonly b: number;
  readonly featureStats: FeatureStats;
  /** Probability above which a pixel is the class. */
  readonly threshold: number;
  readonly metadata: HeadMetadata;
  /**
   * Refits of the head on bootstrap resamples of its support (head-ensemble.ts), whose
   * disagreement is part of the uncertainty layer (core/inference/uncertainty.ts). Optional: a
   * head saved before it existed, or loaded without it, has none, and its uncertainty comes from
   * its probability alone. A reader of version 1 that does not know the field ignores it.
   */
  readonly ensemble?: HeadEnsemble;
}

export const ENSEMBLE_VERSION = 1;
/** Most members a head file may carry: each is one more weighted sum per pixel of every tile. */
export const MAX_ENSEMBLE_MEMBERS = 32;

/** A head's ensemble, versioned on its own so that its layout can change without the head's. */
export interface HeadEnsemble {
  readonly version: typeof ENSEMBLE_VERSION;
  /** How the members were made: 'bootstrap' (head-ensemble.ts). */
  readonly method: 'bootstrap';
  /** The seed of the resamples: the same support, head and seed give the same members. */
  readonly seed: number;
  /** Rows (labelled pixels) each member was fitted on. */
  readonly rows: number;
  /** Perceptrons over the same raw features as W and b (standardisation folded in, as theirs). */
  readonly members: readonly { readonly W: readonly number[]; readonly b: number }[];
}

export interface HeadJson extends Head {
  readonly format: typeof HEAD_FORMAT;
  readonly version: typeof HEAD_VERSION;
}

export type HeadErrorCode =
  'not-json' | 'too-deep' | 'wrong-format' | 'unsupported-version' | 'bad-field' | 'not-finite' | 'extractor-mismatch';

export class HeadError extends Error {
  readonly code: HeadErrorCode;

  constructor(code: HeadErrorCode, message: string, options?: { cause?: unknown }) {
    super(briefMessage(`Head: ${message}`), options);
    this.name = 'HeadError';
    this.code = code;
  }
}

/** A JSON-able copy with format and version; JSON.stringify it to save. */
export function serializeHead(head: Head): HeadJson {
  return {
    format: HEAD_FORMAT,
    version: HEAD_VERSION,
    W: [...head.W],
    b: head.b,
    featureStats: { mean: [...head.featureStats.mean], std: [...head.featureStats.std] },
    threshold: head.threshold,
    metadata: JSON.parse(JSON.stringify(head.metadata)) as HeadMetadata,
    ...(head.ensemble ? { ensemble: copyEnsemble(head.ensemble) } : {}),
  };
}

function copyEnsemble(e: HeadEnsemble): HeadEnsemble {
  const members = e.members.map((m) => ({ W: [...m.W], b: m.b }));
  return { version: e.version, method: e.method, seed: e.seed, rows: e.rows, members };
}

/** Reads a head file's `ensemble` (present: checked whole), one set of weights per feature like W. */
function parseEnsemble(value: unknown, features: number): HeadEnsemble {
  if (!isRecord(value)) throw new HeadError('bad-field', 'ensemble must be an object');
  if (value.version !== ENSEMBLE_VERSION) {
    throw new HeadError(
      'unsupported-version',
      `ensemble version ${briefValue(value.version)} is not supported (this reader knows ${ENSEMBLE_VERSION})`,
    );
  }
  if (value.method !== 'bootstrap')
    throw new HeadError('bad-field', `ensemble.method is ${briefValue(value.method)}, expected "bootstrap"`);
  const seed = finite(value.seed, 'ensemble.seed');
  const rows = finite(value.rows, 'ensemble.rows');
  if (!(Number.isInteger(rows) && rows > 0))
    throw new HeadError('bad-field', `ensemble.rows is ${rows}; it counts the rows each member was fitted on`);
  const list = value.members;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ENSEMBLE_MEMBERS)
    throw new HeadError('bad-field', `ensemble.members must be an array of 1 to ${MAX_ENSEMBLE_MEMBERS} heads`);
  const members = list.map((m, i) => {
    if (!isRecord(m)) throw new HeadError('bad-field', `ensemble.members[${i}] must be an object with W and b`);
    const W = numbers(m.W, `ensemble.members[${i}].W`, features);
    return { W: [...W], b: finite(m.b, `ensemble.members[${i}].b`) };
  });
  return { version: ENSEMBLE_VERSION, method: 'bootstrap', seed, rows, members };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Finite, and finite as the float32 every backend computes with (core/math/float32.ts). */
function checkFinite(v: number, path: string): void {
  if (!Number.isFinite(v)) throw new HeadError('not-finite', `${path} is ${v}`);
  if (!fitsFloat32(v))
    throw new HeadError(
      'not-finite',
      `${path} is ${v}, beyond float32's ±${FLOAT32_MAX.toPrecision(3)}: infinite when used`,
    );
}

function numbers(value: unknown, path: string, length?: number): number[] {
  if (!Array.isArray(value)) throw new HeadError('bad-field', `${path} must be an array of numbers`);
  value.forEach((v, i) => {
    if (typeof v !== 'number') throw new HeadError('bad-field', `${path}[${i}] is ${briefValue(v)}, not a number`);
    checkFinite(v, `${path}[${i}]`);
  });
  if (length !== undefined && value.length !== length) {
    throw new HeadError(
      'bad-field',
      `${path} has ${value.length} values, W has ${length}: they must match one per feature`,
    );
  }
  return value as number[];
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number') throw new HeadError('bad-field', `${path} must be a number, got ${briefValue(value)}`);
  checkFinite(value, path);
  return value;
}

const describe = (s: readonly ExtractorSignature[]) =>
  briefMessage(s.map((e) => `${briefText(e.name)} (depth ${e.depth})`).join(', '), 120);

/**
 * Reads a head from its JSON (text or parsed), checking all of it; with `extractors`, also that
 * it was fitted on exactly these extractors' features. Throws a HeadError naming the problem.
 */
export function parseHead(json: unknown, extractors?: ExtractorSet): Head {
  const read = readBoundedJson(json);
  if (read.problem) {
    const code = read.problem.kind === 'too-deep' ? 'too-deep' : 'not-json';
    throw new HeadError(code, code === 'too-deep' ? read.problem.message : `not JSON (${read.problem.message})`);
  }
  json = read.value;
  if (!isRecord(json)) throw new HeadError('bad-field', 'a head must be a JSON object');
  if (json.format !== HEAD_FORMAT)
    throw new HeadError('wrong-format', `format is ${briefValue(json.format)}, expected "${HEAD_FORMAT}"`);
  if (json.version !== HEAD_VERSION) {
    throw new HeadError(
      'unsupported-version',
      `version ${briefValue(json.version)} is not supported (this reader knows version ${HEAD_VERSION})`,
    );
  }
  const W = numbers(json.W, 'W');
  if (W.length === 0) throw new HeadError('bad-field', 'W is empty');
  const b = finite(json.b, 'b');
  if (!isRecord(json.featureStats))
    throw new HeadError('bad-field', 'featureStats must be an object with mean and std');
  const mean = numbers(json.featureStats.mean, 'featureStats.mean', W.length);
  const std = numbers(json.featureStats.std, 'featureStats.std', W.length);
  std.forEach((s, i) => {
    if (!(s > 0))
      throw new HeadError(
        'bad-field',
        `featureStats.std[${i}] is ${s}; standard deviations used for scaling are positive`,
      );
  });
  const threshold = finite(json.threshold, 'threshold');
  if (!(threshold > 0 && threshold < 1))
    throw new HeadError(
      'bad-field',
      `threshold is ${threshold}; a probability threshold lies strictly between 0 and 1`,
    );
  if (!isRecord(json.metadata)) throw new HeadError('bad-field', 'metadata must be an object');
  const list = json.metadata.extractors;
  if (!Array.isArray(list) || list.length === 0)
    throw new HeadError('bad-field', 'metadata.extractors must list the extractors the head was fitted on');
  const signature = list.map((e, i): ExtractorSignature => {
    if (
      !isRecord(e) ||
      typeof e.name !== 'string' ||
      e.name === '' ||
      !Number.isInteger(e.depth) ||
      (e.depth as number) < 1
    ) {
      throw new HeadError(
        'bad-field',
        `metadata.extractors[${i}] must be { name: non-empty string, depth: positive integer }, ` +
          `got ${briefValue(e)}`,
      );
    }
    return { name: e.name, depth: e.depth as number };
  });
  const total = signature.reduce((s, e) => s + e.depth, 0);
  if (total !== W.length) {
    throw new HeadError(
      'bad-field',
      `W has ${W.length} weights but the extractors it names, ${describe(signature)}, give ${total} features`,
    );
  }
  if (extractors) checkHeadExtractors(signature, extractorSignature(extractors));
  const ensemble = json.ensemble === undefined ? undefined : parseEnsemble(json.ensemble, W.length);
  // Copies: a parsed object passed in stays the caller's.
  const copy = { W: [...W], featureStats: { mean: [...mean], std: [...std] } };
  return {
    ...copy,
    b,
    threshold,
    metadata: { ...json.metadata, extractors: signature },
    ...(ensemble ? { ensemble } : {}),
  };
}

/** Throws unless `given` are the extractors a head with `signature` was fitted on, in order. */
export function checkHeadExtractors(
  signature: readonly ExtractorSignature[],
  given: readonly ExtractorSignature[],
): void {
  const weights = signature.reduce((s, e) => s + e.depth, 0);
  const features = given.reduce((s, e) => s + e.depth, 0);
  if (features !== weights) {
    throw new HeadError(
      'extractor-mismatch',
      `the head has ${weights} weights (fitted on ${describe(signature)}) but these extractors give ${features} ` +
        `features (${describe(given)})`,
    );
  }
  if (
    given.length !== signature.length ||
    given.some((e, i) => e.name !== signature[i].name || e.depth !== signature[i].depth)
  ) {
    throw new HeadError(
      'extractor-mismatch',
      `the head was fitted on ${describe(signature)}, in that order; these extractors are ${describe(given)}`,
    );
  }
}

/**
 * Throws a HeadError unless W and b make a perceptron over `features` features: one finite weight
 * each and a finite bias. For a bare { W, b } (a worker's set-head), which names no extractors.
 */
export function checkHeadWeights(head: { readonly W: readonly number[]; readonly b: number }, features: number): void {
  const W = numbers(head.W, 'W');
  finite(head.b, 'b');
  if (W.length !== features) {
    const given = `the head has ${W.length} weights but the extractors give ${features} features`;
    throw new HeadError('extractor-mismatch', given);
  }
}
