import fs from 'node:fs';
import path from 'node:path';
import type { HeadJson } from '../core/adaptation/head.js';
import type { Tiling } from '../core/inference/tiling.js';

/**
 * Everything an evaluation has finished, as one JSON file rewritten atomically after each step,
 * so an interrupted run resumes where it stopped and a rerun with more draws or instances only
 * does the new work. The protocol is stored with it: a state made under other settings is
 * refused rather than silently mixed in.
 *
 * The tiling (`--tiling whole|patches`) is not part of the protocol: extractors and heads do not
 * depend on how test images are tiled, so both tilings share them and a second tiling only
 * scores. Its test counts are kept apart by their key (`countsKey`), never mixed.
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
  /** --extractors: the bundle's manifest whose extractors every target used (nothing trained). */
  readonly extractors?: string;
  /** --stain, when not 'none'. */
  readonly stain?: string;
  /** --test: the test images of a folder without a split. */
  readonly test?: readonly string[];
  /** --train: the support images, when not all the others. */
  readonly train?: readonly string[];
  /** --zoom: images scaled to the extractors' scale. */
  readonly zoom?: readonly { readonly names: readonly string[]; readonly zoom: number }[];
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
  readonly version: 2;
  readonly protocol: Protocol;
  /** `${class}/${instance}` → how that extractor trained. */
  readonly extractors: Record<string, ExtractorRecord>;
  readonly adaptations: Record<string, Adaptation>;
  /** `countsKey(tiling, instance, image)` → counts on that test image, predicted with that tiling. */
  readonly counts: Record<string, ImageCounts>;
}

export const adaptationKey = (a: { target: string; instance: number; shots: number; draw: number }) =>
  `${a.target}/${a.instance}/${a.shots}/${a.draw}`;

export const countsKey = (tiling: Tiling, instance: number, image: string) => `${tiling}/${instance}/${image}`;

/** Version 1 had one tiling, one forward per whole test image ('whole'), and counts keyed `${instance}/${image}`. */
function fromVersion1(state: Omit<EvaluationState, 'version'>): EvaluationState {
  const counts: Record<string, ImageCounts> = {};
  for (const [key, value] of Object.entries(state.counts)) counts[`whole/${key}`] = value;
  return { ...state, version: 2, counts };
}

export function loadState(file: string, protocol: Protocol): EvaluationState {
  if (!fs.existsSync(file)) return { version: 2, protocol, extractors: {}, adaptations: {}, counts: {} };
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<EvaluationState, 'version'> & { version: number };
  if (stored.version !== 1 && stored.version !== 2)
    throw new Error(
      `${file} is version ${stored.version}; this tool reads versions 1 and 2 (move it away to start over)`,
    );
  const state = stored.version === 1 ? fromVersion1(stored) : (stored as EvaluationState);
  if (JSON.stringify(state.protocol) !== JSON.stringify(protocol)) {
    throw new Error(
      `${file} was made with other settings:\n  stored ${JSON.stringify(state.protocol)}\n` +
        `  now    ${JSON.stringify(protocol)}\n` +
        `pass the same settings to resume, or another --cache to start a new evaluation`,
    );
  }
  return state;
}

/**
 * Claims the state file for this process until it exits: a state is read once and rewritten
 * whole after every step, so two runs on it at once (say `--tiling whole` and `--tiling
 * patches`, which share it) would each overwrite the other's work. A lock left by a process
 * that no longer runs is taken over.
 */
export function lockState(file: string): void {
  const lock = `${file}.lock`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(fs.readFileSync(lock, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid))
      throw new Error(`${file} is in use by another evaluation (process ${pid}); wait for it, or give another --cache`);
    fs.rmSync(lock, { force: true });
  }
  process.once('exit', () => {
    // Only our own lock: a taken-over one belongs to whoever wrote it last.
    if (fs.existsSync(lock) && fs.readFileSync(lock, 'utf8').trim() === String(process.pid)) fs.rmSync(lock);
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function saveState(file: string, state: EvaluationState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
  fs.renameSync(`${file}.tmp`, file);
}
