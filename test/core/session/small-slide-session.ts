import assert from 'node:assert/strict';
import type { InferenceGrid } from '../../../core/inference/inference-grid.js';
import { encodeBundle } from '../../../core/msd/bundle.js';
import type { PoolSlide } from '../../../core/session/compute.js';
import { createSession, type Session, type SessionOptions } from '../../../core/session/session.js';
import { createSupportSet, type SupportSetStore } from '../../../core/support-set/support-set.js';
import { WorkerPool } from '../../../plugin/pool/worker-pool.js';
import { encodeTiff } from '../../../tools/sample/tiff.js';
import { createInThreadWorker } from '../../../worker/in-thread-worker.js';
import { randomWeights } from '../msd/msd-test-cases.js';

/**
 * A session on the real pool over two in-thread workers (the worker's own code), small enough
 * for a node test: random extractors of depths 3 and 4 and a 1100×600 slide at their scale (the
 * grid is level 0), six 512² output tiles, a few ms each when whole.
 */
export const weights = [randomWeights(3, 3, 71), randomWeights(3, 4, 72)];
export const extractors = weights.map((w, i) => ({ name: `c${i}`, depth: w.layers.length }));
export const WIDTH = 1100,
  HEIGHT = 600;
/** The slide's RGB, row-major. */
export const pixels = Uint8Array.from({ length: WIDTH * HEIGHT * 3 }, (_, i) => {
  const p = Math.floor(i / 3);
  const x = p % WIDTH,
    y = Math.floor(p / WIDTH);
  return Math.round(128 + 80 * Math.sin(x / (5 + (i % 3))) * Math.cos(y / 8) + ((p * 31) % 13));
});

export interface SmallSlideSession {
  readonly pool: WorkerPool;
  readonly slide: PoolSlide;
  readonly grid: InferenceGrid;
  readonly support: SupportSetStore;
  readonly session: Session;
}

/**
 * Another slide than the default one: its size and RGB (row-major), the extractors' weights and
 * µm/px (the slide's too: the grid is level 0), the pool's worker count.
 */
export interface SmallSlide {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
  readonly weights: readonly ReturnType<typeof randomWeights>[];
  readonly mpp: number;
  readonly workers: number;
}

/** The pool with the extractors, the slide open as `name`, an empty support set, and a session over them. */
export async function openSmallSlideSession(
  name: string,
  options: Omit<SessionOptions, 'compute' | 'slide' | 'grid' | 'extractors' | 'support'> = {},
  small: SmallSlide = { width: WIDTH, height: HEIGHT, pixels, weights, mpp: 0.5, workers: 2 },
): Promise<SmallSlideSession> {
  const { width, height, mpp } = small;
  const encoded = encodeBundle({
    classes: small.weights.map((w, i) => ({ name: `c${i}`, weights: w })),
    mpp,
    metadata: {},
  });
  const tiff = encodeTiff([{ options: { width, height, samplesPerPixel: 3 }, pixels: small.pixels }]);
  const pool = await WorkerPool.create({
    workers: small.workers,
    createWorker: () => createInThreadWorker(),
    backends: ['cpu'],
  });
  const loaded = await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  const slide = await pool.openSlide({ kind: 'blob', blob: new Blob([tiff as Uint8Array<ArrayBuffer>]), name });
  const grid = pool.inferenceGrid(slide, { slideMpp: mpp });
  assert.deepEqual([grid.level, grid.width, grid.height], [0, width, height]);
  const support = createSupportSet({ slide: { name, width, height }, extractorMpp: mpp, scale: 1 });
  const session = createSession({ compute: pool, slide, grid, extractors: loaded.extractors, support, ...options });
  return { pool, slide, grid, support, session };
}
