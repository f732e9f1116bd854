import type { FuzzKind } from '../../../tools/fuzz/fuzz-kind.js';

/** What the check of a one-byte mutant does, by its byte: each outcome the runner must tell apart. */
export const BEHAVIOURS = ['opened', 'typed', 'untyped', 'crash', 'hang', 'late-abort'] as const;

class CodedError extends Error {
  readonly code = 'bad';
}

/** A kind whose reader misbehaves on purpose: a native abort, a blocked event loop, an ignored signal. */
export const kind: FuzzKind = {
  name: 'misbehaving',
  seeds: async () => [new Uint8Array([0])],
  mutate: (_seed, random) => new Uint8Array([Math.floor(random() * BEHAVIOURS.length)]),
  async check(bytes) {
    switch (BEHAVIOURS[bytes[0]]) {
      case 'opened':
        return;
      case 'typed':
        throw new CodedError('typed');
      case 'untyped':
        throw new RangeError('untyped');
      case 'crash':
        // What Node does on Blob.slice(NaN): a C++ assertion, no JavaScript exception.
        process.abort();
        break;
      case 'hang':
        for (;;);
      case 'late-abort':
        // Never settles, whatever the signal says.
        await new Promise(() => {});
    }
  },
  isTyped: (error) => error instanceof CodedError,
};
