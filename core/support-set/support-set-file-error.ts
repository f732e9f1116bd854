// Its own file, apart from the parser (support-set-file.ts), so the error registry
// (core/errors/transferable-error.ts) that every worker loads does not pull the parser in.

import { briefMessage } from '../json/brief-value.js';

export type SupportSetFileErrorCode =
  | 'not-json'
  | 'too-deep'
  | 'wrong-format'
  | 'unsupported-version'
  | 'bad-field'
  | 'bad-mask'
  | 'too-large'
  | 'outside-slide'
  | 'duplicate-id'
  | 'wrong-slide'
  | 'wrong-resolution';

export class SupportSetFileError extends Error {
  readonly code: SupportSetFileErrorCode;

  constructor(code: SupportSetFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(briefMessage(`Support set file: ${message}`), options);
    this.name = 'SupportSetFileError';
    this.code = code;
  }
}
