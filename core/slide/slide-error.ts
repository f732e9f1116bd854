/** Why a slide could not be opened or read. Stable strings: callers and the UI switch on them. */
export type SlideErrorCode =
  | 'not-tiff'
  | 'truncated'
  | 'corrupt'
  | 'strip-too-large'
  | 'unsupported-compression'
  | 'unsupported-format'
  | 'no-range-support'
  | 'network'
  | 'aborted'
  | 'bad-region';

/** A typed error that names the problem and the file it came from. */
export class SlideError extends Error {
  readonly code: SlideErrorCode;
  readonly file: string;

  constructor(code: SlideErrorCode, file: string, detail: string, options?: { cause?: unknown }) {
    super(`${file}: ${detail}`, options);
    this.name = code === 'aborted' ? 'AbortError' : 'SlideError';
    this.code = code;
    this.file = file;
  }
}

export function isAbortError(err: unknown): boolean {
  return (
    (err instanceof SlideError && err.code === 'aborted') ||
    (typeof err === 'object' && err !== null && (err as { name?: string }).name === 'AbortError')
  );
}

/** Throws the 'aborted' SlideError if the signal fired, so no caller ever gets a stale result. */
export function throwIfAborted(signal: AbortSignal | undefined, file: string): void {
  if (signal?.aborted) throw new SlideError('aborted', file, 'the read was aborted', { cause: signal.reason });
}

/**
 * Waits for the promise unless the signal fires first; then rejects with the 'aborted' SlideError (for reads that
 * take no signal of their own).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, file: string): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal, file);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new SlideError('aborted', file, 'the read was aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
