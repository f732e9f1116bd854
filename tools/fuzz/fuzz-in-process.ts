import { SeededRandom } from '../../core/math/seeded-random.js';
import type { FuzzKind } from './fuzz-kind.js';

/** Longest message a typed refusal may have: it goes into a status line (issue 12 saw 3,000,189). */
export const MAX_FUZZ_MESSAGE = 500;

export type FuzzOutcome = 'accepted' | 'refused' | 'long-message' | 'unusable' | 'untyped';

export interface FuzzCase {
  readonly index: number;
  readonly outcome: FuzzOutcome;
  /** The error's name, code and the start of its message (not for 'accepted'). */
  readonly detail?: string;
}

export interface FuzzTally {
  readonly kind: string;
  readonly counts: Readonly<Record<FuzzOutcome, number>>;
  /** The cases that are not 'accepted' or 'refused'. */
  readonly failures: readonly FuzzCase[];
}

/**
 * Mutates a kind's seeds `n` times (round robin, seeded) and reads each mutant in this process:
 * accepted (and usable: the kind's check ran it), refused with a typed error and a short
 * message, or a failure — a typed error with a long message, an accepted file that gives
 * NaN ('accepted, but…' from the kind's check), any other error. For files that cannot hang or
 * crash the process (JSON, small bundles); TIFFs go through the child-process runner.
 */
export async function fuzzInProcess(kind: FuzzKind, n: number, seed: number): Promise<FuzzTally> {
  const seeds = await kind.seeds();
  const random = new SeededRandom(seed);
  const next = () => random.next();
  const counts: Record<FuzzOutcome, number> = { accepted: 0, refused: 0, 'long-message': 0, unusable: 0, untyped: 0 };
  const failures: FuzzCase[] = [];
  for (let index = 0; index < n; index++) {
    const mutant = kind.mutate(seeds[index % seeds.length], next);
    let outcome: FuzzOutcome = 'accepted';
    let detail: string | undefined;
    try {
      await kind.check(mutant, new AbortController().signal);
    } catch (err) {
      const e = err as { name?: unknown; code?: unknown; message?: unknown };
      const message = String(e?.message ?? err);
      const code = e?.code ? ` ${String(e.code)}` : '';
      detail = `${String(e?.name)}${code}: ${message.slice(0, 160)} (${message.length} chars)`;
      if (kind.isTyped(err)) outcome = message.length <= MAX_FUZZ_MESSAGE ? 'refused' : 'long-message';
      else outcome = message.startsWith('accepted, but') ? 'unusable' : 'untyped';
    }
    counts[outcome]++;
    if (outcome !== 'accepted' && outcome !== 'refused')
      failures.push({ index, outcome, ...(detail ? { detail } : {}) });
  }
  return { kind: kind.name, counts, failures };
}
