import { AdaptError, type AdaptErrorCode } from '../adaptation/adapt-error.js';
import { HeadError, type HeadErrorCode } from '../adaptation/head.js';
import { BundleError, type BundleErrorCode } from '../msd/bundle-error.js';
import { PoolStateError } from '../session/compute.js';
import { SlideError, type SlideErrorCode } from '../slide/slide-error.js';
import { SupportSetFileError, type SupportSetFileErrorCode } from '../support-set/support-set-file-error.js';

/**
 * Errors across postMessage. Structured cloning keeps no class (and a worker's SlideError is not
 * the main thread's anyway), so the sender flattens an error to plain data and the receiver
 * rebuilds it. This lives in core/ because both sides use it: the worker flattens
 * (worker/serve-worker.ts), the main thread rebuilds (plugin/pool/worker-channel.ts), and the main
 * thread knows worker/ only by the types of its protocol.
 */

interface FlatFields {
  /** The thrown error's `name` ('AbortError' for an abort, whatever its class). */
  readonly name: string;
  /** The thrown error's message, exactly. */
  readonly message: string;
}

/**
 * An error as plain data: a typed error names its class in `errorClass` with the fields that
 * class has; any other error keeps name and message only.
 */
export type TransferableError =
  | (FlatFields & { readonly errorClass: 'SlideError'; readonly code: SlideErrorCode; readonly file: string })
  | (FlatFields & { readonly errorClass: 'BundleError'; readonly code: BundleErrorCode })
  | (FlatFields & { readonly errorClass: 'AdaptError'; readonly code: AdaptErrorCode })
  | (FlatFields & { readonly errorClass: 'HeadError'; readonly code: HeadErrorCode })
  | (FlatFields & { readonly errorClass: 'SupportSetFileError'; readonly code: SupportSetFileErrorCode })
  | (FlatFields & { readonly errorClass: 'PoolStateError'; readonly code?: undefined })
  | (FlatFields & { readonly errorClass?: undefined; readonly code?: undefined });

/** The classes that keep their identity across the boundary. */
export type TransferableErrorClass = NonNullable<TransferableError['errorClass']>;

/** The instance each class name stands for. */
interface Instances {
  SlideError: SlideError;
  BundleError: BundleError;
  AdaptError: AdaptError;
  HeadError: HeadError;
  SupportSetFileError: SupportSetFileError;
  PoolStateError: PoolStateError;
}

type Flat<K extends TransferableErrorClass> = Extract<TransferableError, { errorClass: K }>;

interface Entry<K extends TransferableErrorClass> {
  readonly type: abstract new (...args: never[]) => Instances[K];
  /** The fields of the class beyond name and message, as plain data. */
  readonly fields: (err: Instances[K]) => Omit<Flat<K>, 'name' | 'message' | 'errorClass'>;
  /**
   * An instance with those fields. The constructors build their message from parts (a prefix, a
   * file name), so `rebuildError` then puts the original message back as it was.
   */
  readonly make: (flat: Flat<K>) => Instances[K];
}

// Every typed error of core/ that a caller switches on. Slides, bundles, adaptation and heads are
// thrown in workers today; a support set file (parsed wherever a session runs) and the pool's state
// (region-run.ts ends a run as 'interrupted' on a PoolStateError, where another error is one failed
// tile) are registered too, so that a session driven from a worker, or a compute behind a port,
// keeps that meaning. Each class has its own small module (support-set-file-error.ts; compute.ts is
// types but for PoolStateError), so the registry pulls no parser or pool into the worker's bundle.
// An error of a subclass arrives as its registered base class.
const REGISTRY: { readonly [K in TransferableErrorClass]: Entry<K> } = {
  SlideError: {
    type: SlideError,
    fields: (e) => ({ code: e.code, file: e.file }),
    make: (f) => new SlideError(f.code, f.file, ''),
  },
  BundleError: { type: BundleError, fields: (e) => ({ code: e.code }), make: (f) => new BundleError(f.code, '') },
  AdaptError: { type: AdaptError, fields: (e) => ({ code: e.code }), make: (f) => new AdaptError(f.code, '') },
  HeadError: { type: HeadError, fields: (e) => ({ code: e.code }), make: (f) => new HeadError(f.code, '') },
  SupportSetFileError: {
    type: SupportSetFileError,
    fields: (e) => ({ code: e.code }),
    make: (f) => new SupportSetFileError(f.code, ''),
  },
  PoolStateError: { type: PoolStateError, fields: () => ({}), make: () => new PoolStateError('') },
};

/** The registered classes, for tests that go through each. */
export const TRANSFERABLE_ERROR_CLASSES = Object.keys(REGISTRY) as readonly TransferableErrorClass[];

/** Plain data for postMessage that `rebuildError` turns back into an error of the same class. */
export function flattenError(err: unknown): TransferableError {
  const e = err instanceof Error ? err : new Error(String(err));
  for (const errorClass of TRANSFERABLE_ERROR_CLASSES) {
    const entry = REGISTRY[errorClass] as Entry<TransferableErrorClass>;
    if (e instanceof entry.type) {
      return { name: e.name, message: e.message, errorClass, ...entry.fields(e) } as TransferableError;
    }
  }
  return { name: e.name, message: e.message };
}

/**
 * The error `flattenError` was given, as far as plain data carries it: a typed error is an
 * instance of its class with its code (and file) and the same name and message; an 'AbortError'
 * of no registered class is a DOMException, like the one an aborted signal throws; anything else
 * is an Error with the original name.
 */
export function rebuildError(flat: TransferableError): Error {
  // A class this side does not know (a worker of another version) falls through to a plain Error.
  const entry = flat.errorClass === undefined ? undefined : REGISTRY[flat.errorClass];
  if (entry) {
    const err = (entry as Entry<TransferableErrorClass>).make(flat as Flat<TransferableErrorClass>);
    err.message = flat.message;
    err.name = flat.name;
    return err;
  }
  if (flat.name === 'AbortError') return new DOMException(flat.message, 'AbortError');
  const err = new Error(flat.message);
  err.name = flat.name;
  return err;
}
