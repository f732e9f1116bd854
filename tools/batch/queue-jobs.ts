import { createHash } from 'node:crypto';
import type { RedisOptions } from 'bullmq';
import type { Rect } from '../../core/math/rect.js';
import { usageError } from '../cli.js';
import type { BatchRegion } from './slide-plan.js';

/**
 * What the batch's coordinator (queue-coordinator.ts) and its workers (queue-worker.ts) agree on:
 * the Redis server, the two BullMQ queues and their jobs. A slide is one flow: a parent job on
 * SLIDE_QUEUE (assemble its outputs) over child jobs on TILE_QUEUE (compute a batch of its tiles).
 * Job ids are made from the slide's name, what its tiles are computed for (tile-store.ts's stamp)
 * and the output folder, so a restarted coordinator finds the flows it added, and adding one twice
 * adds nothing.
 */

export const SLIDE_QUEUE = 'fewshot-slides';
export const TILE_QUEUE = 'fewshot-tiles';

/** The files every job names: all of them are paths every worker sees (a shared folder) or URLs. */
export interface JobFiles {
  readonly head: string;
  readonly extractors?: string;
  /** The batch's --out folder: its .batch/ holds the plans and stored tiles. */
  readonly out: string;
}

export interface TileJob extends JobFiles {
  /** The slide, as an absolute path or a URL. */
  readonly source: string;
  readonly name: string;
  readonly region: BatchRegion;
  /** The tiles this job computes (inference-grid pixels), of the slide's plan. */
  readonly tiles: readonly Rect[];
}

export interface SlideJob extends JobFiles {
  readonly name: string;
}

/** What a tile job answers: how many of its tiles it computed (the others were stored already). */
export interface TileJobResult {
  readonly computed: number;
  readonly tiles: number;
}

/** `redis://HOST:PORT[/DB]` as BullMQ's connection options; a usage error for anything else. */
export function queueConnection(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    usageError(`--queue must be redis://HOST:PORT, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'redis:' || parsed.hostname === '')
    usageError(`--queue must be redis://HOST:PORT, got ${JSON.stringify(url)}`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) usageError(`--queue ${url}: the database after the port is a number`);
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(db !== '' ? { db: Number(db) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    // BullMQ's workers block on Redis: a command must wait for a reconnect, not fail after 20 tries.
    maxRetriesPerRequest: null,
  };
}

/**
 * The parent job's id of a slide planned with `stamp` into the (absolute) `out` folder: another
 * batch of the same slides into another folder is another flow. BullMQ ids may not hold ':'.
 */
export function slideJobId(name: string, stamp: Readonly<Record<string, unknown>>, out: string): string {
  const hash = createHash('sha1')
    .update(JSON.stringify([stamp, out]))
    .digest('hex')
    .slice(0, 16);
  return `slide-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${hash}`;
}
