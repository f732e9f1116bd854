/** Why an adaptation could not run. Stable strings: callers and the UI switch on them. */
export type AdaptErrorCode =
  | 'empty-support'
  | 'bad-patch'
  | 'no-positive'
  | 'no-negative'
  | 'no-extractors'
  | 'bad-options'
  | 'not-finite'
  /** A head's ensemble was asked of a worker that does not hold that head's fit (head-ensemble.ts). */
  | 'no-basis'
  | 'aborted';

/** A typed error naming the problem (and, for a patch, which one). */
export class AdaptError extends Error {
  readonly code: AdaptErrorCode;

  constructor(code: AdaptErrorCode, message: string, options?: { cause?: unknown }) {
    super(`Adaptation: ${message}`, options);
    // An abort is an AbortError like every other cancelled operation of the project.
    this.name = code === 'aborted' ? 'AbortError' : 'AdaptError';
    this.code = code;
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AdaptError('aborted', 'the adaptation was aborted', { cause: signal.reason });
}

/**
 * A new task of the event loop: setImmediate in Node; elsewhere a MessageChannel message, which
 * unlike setTimeout(0) is not clamped to 4 ms once timeouts nest.
 */
function nextTask(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(undefined);
  });
}

/**
 * On wasm and cpu every TF.js op runs synchronously and `await data()` resolves as a microtask,
 * so a long computation never lets an abort (or a worker message) in. Yield to the event loop
 * (a macrotask) when `interval` ms have passed since the last yield, then check the signal.
 */
export function cooperativeCheckpoint(signal: AbortSignal | undefined, interval = 30): () => Promise<void> {
  let last = performance.now();
  return async () => {
    throwIfAborted(signal);
    if (performance.now() - last < interval) return;
    await nextTask();
    last = performance.now();
    throwIfAborted(signal);
  };
}
