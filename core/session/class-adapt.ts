import type { AdaptProgress, AdaptReport } from '../adaptation/adapt.js';
import type { ClassHead } from '../adaptation/class-heads.js';
import { parseHead } from '../adaptation/head.js';
import { oneVsRestMask, type SupportClass } from '../support-set/support-classes.js';
import type { AdaptRequest, Compute } from './compute.js';

/**
 * Adapt for several new classes at once (issue 15): one head per class, one-vs-rest (its label
 * 1, every other class's pixels background, ignored pixels ignored), all asked of the compute at
 * once. The worker pool starts each fit on an idle worker when it has one (worker-pool.ts's adapt
 * reserves its fitter before its first await, so the next class's fit goes to another), the
 * features of each fit spread over the workers still idle: with as many workers as classes the
 * fits run side by side. Of one class the request is the single-class adapt's exactly (the mask
 * is its own one-vs-rest mask), so the head is the same.
 */
export interface ClassAdaptRequest extends Omit<AdaptRequest, 'metadata'> {
  /** The classes, label k of the patches' masks the k-th (support-classes.ts). */
  readonly classes: readonly SupportClass[];
  /** Stored in every head, with the class's name (className), colour (color) and label (classLabel). */
  readonly metadata?: Record<string, unknown>;
}

export interface ClassAdaptAnswer {
  readonly classes: readonly ClassHead[];
  /** Each class's fit report, in class order. */
  readonly reports: readonly AdaptReport[];
}

export interface ClassAdaptControl {
  readonly signal?: AbortSignal;
  /** `label`: which class's fit (1-based). */
  readonly onProgress?: (label: number, progress: AdaptProgress) => void;
}

/** The request of class `label`'s head: the patches with its one-vs-rest masks. */
export function classRequest(request: ClassAdaptRequest, label: number): AdaptRequest {
  const { classes, metadata, ...rest } = request;
  const c = classes[label - 1];
  const single = classes.length === 1;
  return {
    ...rest,
    patches: request.patches.map((p) => ({ ...p, mask: single ? p.mask.slice() : oneVsRestMask(p.mask, label) })),
    metadata: { ...metadata, className: c.name, color: c.color, ...(single ? {} : { classLabel: label }) },
  };
}

export async function adaptClasses(
  compute: Pick<Compute, 'adapt'>,
  request: ClassAdaptRequest,
  control: ClassAdaptControl = {},
): Promise<ClassAdaptAnswer> {
  const { signal, onProgress } = control;
  // One abort for all: a fit that fails stops the others (their heads are of no use alone).
  const inner = new AbortController();
  const abort = () => inner.abort(signal?.reason);
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const answers = await Promise.all(
      request.classes.map(async (c, i) => {
        try {
          return await compute.adapt(classRequest(request, i + 1), {
            signal: inner.signal,
            onProgress: onProgress && ((p) => onProgress(i + 1, p)),
          });
        } catch (err) {
          inner.abort(err);
          throw err;
        }
      }),
    );
    return {
      classes: answers.map((a, i) => ({ ...request.classes[i], head: parseHead(a.head) })),
      reports: answers.map((a) => a.report),
    };
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}
