import { briefMessage } from '../json/brief-value.js';

/** Why an extractor bundle could not be loaded. Stable strings: callers and the UI switch on them. */
export type BundleErrorCode =
  | 'not-json'
  | 'too-deep'
  | 'missing-field'
  | 'bad-field'
  | 'wrong-format'
  | 'unsupported-version'
  | 'no-classes'
  | 'duplicate-class'
  | 'depth-mismatch'
  | 'dilation-mismatch'
  | 'shape-mismatch'
  | 'bad-normalisation'
  /** `stain` is not valid stain statistics (models/FORMAT.md#stain). */
  | 'bad-stain'
  | 'bad-mpp'
  | 'weights-short'
  | 'weights-long'
  | 'overlapping-tensors'
  | 'not-finite'
  | 'checksum-mismatch'
  | 'probe-mismatch'
  | 'network'
  /** The URL answered, but with something else (an HTML page where the file is missing). */
  | 'wrong-file'
  | 'aborted';

/** A typed error naming the problem; the message says where in the bundle it is. */
export class BundleError extends Error {
  readonly code: BundleErrorCode;

  constructor(code: BundleErrorCode, message: string, options?: { cause?: unknown }) {
    super(briefMessage(`Extractor bundle: ${message}`), options);
    this.name = code === 'aborted' ? 'AbortError' : 'BundleError';
    this.code = code;
  }
}
