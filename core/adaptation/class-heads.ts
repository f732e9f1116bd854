import { briefValue } from '../json/brief-value.js';
import { readBoundedJson } from '../json/bounded-json.js';
import type { ExtractorSignature } from '../msd/extractor-signature.js';
import { checkSupportClasses, DEFAULT_SUPPORT_CLASS, type SupportClass } from '../support-set/support-classes.js';
import {
  checkHeadExtractors,
  HEAD_FORMAT,
  HeadError,
  parseHead,
  serializeHead,
  type Head,
  type HeadJson,
} from './head.js';

/**
 * Several new classes' heads as one file (issue 15: several classes at once): one head per
 * class, each fitted one-vs-rest (its class against background and every other class), in the
 * order of the support set's classes, so class k's head predicts label k.
 *
 *   { "format": "openseadragon-fewshot/class-heads", "version": 1,
 *     "classes": [ { "name", "color", "head": <a head file, head.ts> } ] }
 *
 * A single head file (head.ts, version 1: the product before classes) reads as one class, named
 * and coloured by its metadata's className and color when it has them, else DEFAULT_SUPPORT_CLASS.
 */
export const CLASS_HEADS_FORMAT = 'openseadragon-fewshot/class-heads';
export const CLASS_HEADS_VERSION = 1;

export interface ClassHead extends SupportClass {
  readonly head: Head;
}

export interface ClassHeadsJson {
  readonly format: typeof CLASS_HEADS_FORMAT;
  readonly version: typeof CLASS_HEADS_VERSION;
  readonly classes: readonly (SupportClass & { readonly head: HeadJson })[];
}

export function serializeClassHeads(classes: readonly ClassHead[]): ClassHeadsJson {
  checkSupportClasses(classes);
  return {
    format: CLASS_HEADS_FORMAT,
    version: CLASS_HEADS_VERSION,
    classes: classes.map((c) => ({ name: c.name, color: c.color, head: serializeHead(c.head) })),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a class-heads file, or a single head file as one class (text or parsed JSON), checking
 * all of it; with `extractors` (their signatures), that every head was fitted on them. Throws a HeadError.
 */
export function parseClassHeads(input: unknown, extractors?: readonly ExtractorSignature[]): ClassHead[] {
  const read = readBoundedJson(input);
  if (read.problem) {
    const code = read.problem.kind === 'too-deep' ? 'too-deep' : 'not-json';
    throw new HeadError(code, code === 'too-deep' ? read.problem.message : `not JSON (${read.problem.message})`);
  }
  const json = read.value;
  if (isRecord(json) && json.format === HEAD_FORMAT) {
    const head = parseHead(json);
    if (extractors) checkHeadExtractors(head.metadata.extractors, extractors);
    const { className, color } = head.metadata;
    const name = typeof className === 'string' && className.trim() !== '' ? className : DEFAULT_SUPPORT_CLASS.name;
    const colour = typeof color === 'string' && color.trim() !== '' ? color : DEFAULT_SUPPORT_CLASS.color;
    return [{ name, color: colour, head }];
  }
  if (!isRecord(json)) throw new HeadError('bad-field', 'a class-heads file must be a JSON object');
  if (json.format !== CLASS_HEADS_FORMAT) {
    throw new HeadError(
      'wrong-format',
      `format is ${briefValue(json.format)}, expected "${CLASS_HEADS_FORMAT}" or "${HEAD_FORMAT}"`,
    );
  }
  if (json.version !== CLASS_HEADS_VERSION) {
    throw new HeadError(
      'unsupported-version',
      `version ${briefValue(json.version)} is not supported (this reader knows version ${CLASS_HEADS_VERSION})`,
    );
  }
  if (!Array.isArray(json.classes)) throw new HeadError('bad-field', 'classes must be an array');
  const list = json.classes.map((entry: unknown, k: number): ClassHead => {
    if (!isRecord(entry)) throw new HeadError('bad-field', `classes[${k}] must be an object with name, color, head`);
    let head: Head;
    try {
      head = parseHead(entry.head);
      if (extractors) checkHeadExtractors(head.metadata.extractors, extractors);
    } catch (err) {
      if (err instanceof HeadError)
        throw new HeadError(err.code, `classes[${k}].head: ${err.message.replace(/^Head: /, '')}`);
      throw err;
    }
    return { name: entry.name as string, color: entry.color as string, head };
  });
  try {
    checkSupportClasses(list);
  } catch (err) {
    throw new HeadError('bad-field', `classes: ${(err as Error).message}`);
  }
  // One overlay composes them pixel by pixel: every head must weigh the same features.
  list.forEach((c, k) => {
    if (k > 0) checkHeadExtractors(c.head.metadata.extractors, list[0].head.metadata.extractors);
  });
  return list;
}
