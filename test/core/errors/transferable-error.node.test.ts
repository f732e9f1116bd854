import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptError } from '../../../core/adaptation/adapt-error.js';
import { HeadError } from '../../../core/adaptation/head.js';
import { BundleError } from '../../../core/msd/bundle-error.js';
import { PoolStateError } from '../../../core/session/compute.js';
import { SlideError, isAbortError } from '../../../core/slide/slide-error.js';
import { SupportSetFileError } from '../../../core/support-set/support-set-file-error.js';
import { parseSupportSet } from '../../../core/support-set/support-set-file.js';
import {
  TRANSFERABLE_ERROR_CLASSES,
  flattenError,
  rebuildError,
  type TransferableError,
  type TransferableErrorClass,
} from '../../../core/errors/transferable-error.js';

/** What postMessage does to the flattened error: a structured clone, nothing more. */
const across = (err: unknown): Error => rebuildError(structuredClone(flattenError(err)));

// One ordinary and one aborted instance of each registered class: an abort is named 'AbortError'
// whatever its class, and must come back as its class all the same.
const cases: {
  readonly [K in TransferableErrorClass]: { type: abstract new (...a: never[]) => Error; made: Error[] };
} = {
  SlideError: {
    type: SlideError,
    made: [
      new SlideError('not-tiff', 'a.txt', 'not a TIFF file'),
      new SlideError('aborted', 'b.tif', 'the read was aborted'),
    ],
  },
  BundleError: {
    type: BundleError,
    made: [
      new BundleError('weights-short', 'the weights file is 3 bytes short'),
      new BundleError('aborted', 'aborted'),
    ],
  },
  AdaptError: {
    type: AdaptError,
    made: [new AdaptError('no-positive', 'no support pixel is the class'), new AdaptError('aborted', 'aborted')],
  },
  HeadError: {
    type: HeadError,
    made: [new HeadError('extractor-mismatch', 'the head has 2 weights'), new HeadError('not-finite', 'W[1] is NaN')],
  },
  SupportSetFileError: {
    type: SupportSetFileError,
    made: [
      new SupportSetFileError('wrong-slide', 'the file is for slide a.svs, this is b.svs'),
      new SupportSetFileError('not-json', 'not JSON', { cause: new SyntaxError('Unexpected token') }),
    ],
  },
  PoolStateError: {
    type: PoolStateError,
    made: [new PoolStateError('the worker pool is closed'), new PoolStateError('slide s1 is not open in this pool')],
  },
};

test('every registered class is covered by the cases below', () => {
  assert.deepEqual([...TRANSFERABLE_ERROR_CLASSES].sort(), Object.keys(cases).sort());
});

for (const [name, { type, made }] of Object.entries(cases)) {
  test(`a ${name} survives structured cloning with its class, code, name and message`, () => {
    for (const original of made) {
      const flat = structuredClone(flattenError(original));
      assert.equal(flat.errorClass, name);
      const back = rebuildError(flat);
      assert.ok(back instanceof type, `${back.constructor.name} is a ${name}`);
      assert.equal(back.message, original.message, 'the message is kept exactly, prefix and all');
      assert.equal(back.name, original.name);
      assert.equal((back as Error & { code: string }).code, (original as Error & { code: string }).code);
      if (original instanceof SlideError) assert.equal((back as SlideError).file, original.file);
      assert.equal(isAbortError(back), isAbortError(original));
    }
  });
}

test('a DOMException AbortError comes back as one; other errors as an Error with their name', () => {
  const abort = across(new DOMException('This operation was aborted', 'AbortError'));
  assert.ok(abort instanceof DOMException);
  assert.equal(abort.name, 'AbortError');
  assert.equal(abort.message, 'This operation was aborted');
  assert.ok(isAbortError(abort));

  const range = across(new RangeError('a 3×3 RGB patch has 27 bytes, got 4'));
  assert.equal(range.name, 'RangeError');
  assert.equal(range.message, 'a 3×3 RGB patch has 27 bytes, got 4');
  assert.ok(!(range instanceof SlideError));

  const thrown = across('a bare string');
  assert.equal(thrown.name, 'Error');
  assert.equal(thrown.message, 'a bare string');
});

test('a class this side does not know arrives as a plain Error with its name and message', () => {
  const flat = { name: 'FutureError', message: 'from a newer worker', errorClass: 'FutureError', code: 'x' };
  const back = rebuildError(flat as unknown as TransferableError);
  assert.equal(Object.getPrototypeOf(back), Error.prototype);
  assert.deepEqual([back.name, back.message], ['FutureError', 'from a newer worker']);
});

test("the support set parser's own error crosses with its code and the message it wrote", () => {
  let thrown: unknown;
  try {
    parseSupportSet('{"format": "openseadragon-fewshot/support-set", "version": 99}');
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof SupportSetFileError, 'the parser refuses the file');
  const back = across(thrown);
  assert.ok(back instanceof SupportSetFileError);
  assert.equal(back.code, 'unsupported-version');
  assert.equal(back.message, thrown.message);
  assert.match(back.message, /^Support set file: /, 'the prefix is not doubled or lost');
});

test('a PoolStateError crosses as one: region-run.ts tells it from a failed tile by its class', () => {
  const back = across(new PoolStateError('the worker pool is closed'));
  assert.ok(back instanceof PoolStateError);
  assert.equal(back.name, 'PoolStateError');
  assert.equal(back.message, 'the worker pool is closed');
  assert.ok(!isAbortError(back));
});
