import fs from 'node:fs';
import path from 'node:path';
import type { HeadJson } from '../core/adaptation/head.js';

/**
 * Everything an evaluation has finished, as one JSON file rewritten atomically after each step,
 * so an interrupted run resumes where it stopped and a rerun with more draws or instances only
 * does the new work. The protocol is stored with it: a state made under other settings is
 * refused rather than silently mixed in.
 */

export interface Protocol {
  readonly dataset: string;
  readonly targets: readonly { readonly name: string; readonly ids: readonly number[] }[];
  readonly depth: number;
  readonly window: number;
  readonly stride: number;
  readonly minPositive: number;
  readonly threshold: number;
  readonly lambda: number;
}

export interface Adaptation {
  readonly target: string;
  readonly instance: number;
  readonly shots: number;
  readonly draw: number;
  /** Where the support patches were cut (dataset pixels). */
  readonly windows: readonly {
    readonly image: string;
    readonly x: number;
    readonly y: number;
    readonly count: number;
  }[];
  readonly logistic: HeadJson;
  readonly bfgs: HeadJson;
  readonly report: {
    readonly timings: {
      readonly features: number;
      readonly standardise: number;
      readonly logistic: number;
      readonly bfgs: number;
      readonly total: number;
    };
    readonly newtonSteps: number;
    readonly bfgsSteps: number;
    readonly bfgsStop: string;
    readonly supportDice: { readonly logistic: number; readonly bfgs: number };
  };
}

/** [overlap, predicted] per head kind. */
export interface HeadCounts {
  readonly logistic: readonly [number, number];
  readonly bfgs: readonly [number, number];
}

export interface ImageCounts {
  /** Class pixels per target in this image. */
  readonly truth: Record<string, number>;
  /** The target's own extractor: [overlap, predicted]. */
  readonly upper: Record<string, readonly [number, number]>;
  /** By adaptation key. */
  readonly heads: Record<string, HeadCounts>;
}

export interface ExtractorRecord {
  readonly bestValDice: number;
  readonly bestEpoch: number;
  readonly epochs: number;
  readonly trainingSeconds: number;
}

export interface EvaluationState {
  readonly version: 1;
  readonly protocol: Protocol;
  /** `${class}/${instance}` → how that extractor trained. */
  readonly extractors: Record<string, ExtractorRecord>;
  readonly adaptations: Record<string, Adaptation>;
  /** `${instance}/${image}` → counts on that test image. */
  readonly counts: Record<string, ImageCounts>;
}

export const adaptationKey = (a: { target: string; instance: number; shots: number; draw: number }) =>
  `${a.target}/${a.instance}/${a.shots}/${a.draw}`;

export function loadState(file: string, protocol: Protocol): EvaluationState {
  if (!fs.existsSync(file)) return { version: 1, protocol, extractors: {}, adaptations: {}, counts: {} };
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as EvaluationState;
  if (state.version !== 1)
    throw new Error(`${file} is version ${state.version}; this tool reads version 1 (move it away to start over)`);
  if (JSON.stringify(state.protocol) !== JSON.stringify(protocol)) {
    throw new Error(
      `${file} was made with other settings:\n  stored ${JSON.stringify(state.protocol)}\n` +
        `  now    ${JSON.stringify(protocol)}\n` +
        `pass the same settings to resume, or another --cache to start a new evaluation`,
    );
  }
  return state;
}

export function saveState(file: string, state: EvaluationState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
  fs.renameSync(`${file}.tmp`, file);
}
