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

/** The pool with the extractors, the slide open as `name`, an empty support set, and a session over them. */
export async function openSmallSlideSession(
  name: string,
  options: Omit<SessionOptions, 'compute' | 'slide' | 'grid' | 'extractors' | 'support'> = {},
): Promise<SmallSlideSession> {
  const encoded = encodeBundle({
    classes: weights.map((w, i) => ({ name: `c${i}`, weights: w })),
    mpp: 0.5,
    metadata: {},
  });
  const tiff = encodeTiff([{ options: { width: WIDTH, height: HEIGHT, samplesPerPixel: 3 }, pixels }]);
  const pool = await WorkerPool.create({ workers: 2, createWorker: () => createInThreadWorker(), backends: ['cpu'] });
  await pool.setExtractors({ kind: 'decoded', manifest: encoded.manifest, weights: encoded.weights });
  const slide = await pool.openSlide({ kind: 'blob', blob: new Blob([tiff as Uint8Array<ArrayBuffer>]), name });
  const grid = pool.inferenceGrid(slide);
  assert.deepEqual([grid.level, grid.width, grid.height], [0, WIDTH, HEIGHT]);
  const support = createSupportSet({ slide: { name, width: WIDTH, height: HEIGHT }, extractorMpp: 0.5, scale: 1 });
  const session = createSession({ compute: pool, slide, grid, extractors, support, ...options });
  return { pool, slide, grid, support, session };
}
