import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEAD_FORMAT, HeadError, parseHead, serializeHead, type Head } from '../../../core/adaptation/head.js';
import { smallExtractors } from './adapt-test-cases.js';

// The small extractors: alpha (depth 4) then beta (depth 3), so heads weigh 7 features.
const extractors = smallExtractors();

function head(): Head {
  return {
    W: [0.5, -1.25, 3e-7, 12, -0.001, 2, 1 / 3],
    b: -4.5,
    featureStats: { mean: [1, 2, 3, 4, 5, 6, 7], std: [0.5, 1, 1, 2, 1e-3, 1, 4] },
    threshold: 0.5,
    metadata: {
      extractors: [
        { name: 'alpha', depth: 4 },
        { name: 'beta', depth: 3 },
      ],
      className: 'plasma',
      shots: 5,
      nested: { a: [1, 2] },
    },
  };
}

test('a head survives serialise → JSON text → parse unchanged, with and without extractors to check against', () => {
  const original = head();
  const json = serializeHead(original);
  assert.equal(json.format, HEAD_FORMAT);
  assert.equal(json.version, 1);
  const text = JSON.stringify(json);
  for (const parsed of [
    parseHead(text),
    parseHead(JSON.parse(text)),
    parseHead(text, extractors),
    parseHead(text, { classes: extractors, mpp: 0.25, metadata: {} }),
  ]) {
    assert.deepEqual(parsed, original);
  }
  // Serialising copies: later changes to the head do not reach the JSON.
  (original.W as number[])[0] = 99;
  assert.equal(json.W[0], 0.5);
});

function rejects(
  // A malformed head is any JSON: the mutations reach into it freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  mutate: (json: Record<string, any>) => unknown,
  code: string,
  message: RegExp,
  withExtractors = false,
) {
  const json = JSON.parse(JSON.stringify(serializeHead(head())));
  const replaced = mutate(json);
  const input = replaced === undefined ? json : replaced;
  assert.throws(
    () => parseHead(input, withExtractors ? extractors : undefined),
    (err: unknown) => {
      assert.ok(err instanceof HeadError, `expected a HeadError, got ${err}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      return true;
    },
  );
}

test('bad heads are refused with a message that names the problem', () => {
  rejects(() => '{"format": ', 'not-json', /not JSON/);
  rejects(() => [1, 2], 'bad-field', /must be a JSON object/);
  rejects(
    (j) => void (j.format = 'openseadragon-fewshot/extractors'),
    'wrong-format',
    /format is "openseadragon-fewshot\/extractors", expected "openseadragon-fewshot\/head"/,
  );
  rejects((j) => void delete j.format, 'wrong-format', /format is missing/);
  rejects((j) => void (j.version = 2), 'unsupported-version', /version 2 is not supported/);
  rejects((j) => void (j.W[3] = 'x'), 'bad-field', /W\[3\] is "x", not a number/);
  // JSON has no NaN: JSON.stringify writes null, which is caught; a parsed object can hold NaN.
  rejects((j) => void (j.W[2] = null), 'bad-field', /W\[2\] is null/);
  rejects((j) => void (j.W[2] = NaN), 'not-finite', /W\[2\] is NaN/);
  rejects((j) => void (j.b = Infinity), 'not-finite', /b is Infinity/);
  rejects((j) => void (j.W = []), 'bad-field', /W is empty/);
  rejects((j) => void j.featureStats.mean.pop(), 'bad-field', /featureStats\.mean has 6 values, W has 7/);
  rejects((j) => void (j.featureStats.std[4] = 0), 'bad-field', /featureStats\.std\[4\] is 0/);
  rejects(
    (j) => void (j.threshold = 1),
    'bad-field',
    /threshold is 1; a probability threshold lies strictly between 0 and 1/,
  );
  rejects((j) => void delete j.metadata.extractors, 'bad-field', /metadata\.extractors must list the extractors/);
  rejects((j) => void (j.metadata.extractors[1].depth = 2.5), 'bad-field', /metadata\.extractors\[1\] must be/);
  rejects(
    (j) => void (j.metadata.extractors[1].depth = 4),
    'bad-field',
    /W has 7 weights but the extractors it names, alpha \(depth 4\), beta \(depth 4\), give 8 features/,
  );
});

test('a head is refused for extractors other than those it was fitted on', () => {
  const text = JSON.stringify(serializeHead(head()));
  const check = (given: typeof extractors, message: RegExp) =>
    assert.throws(
      () => parseHead(text, given),
      (err: unknown) => err instanceof HeadError && err.code === 'extractor-mismatch' && message.test(err.message),
    );
  // Wrong feature count.
  check(
    [extractors[0]],
    /the head has 7 weights \(fitted on alpha \(depth 4\), beta \(depth 3\)\) but these extractors give 4 features \(alpha \(depth 4\)\)/,
  );
  // Right count, wrong order: the weights would multiply the wrong maps.
  check(
    [extractors[1], extractors[0]],
    /fitted on alpha \(depth 4\), beta \(depth 3\), in that order; these extractors are beta \(depth 3\), alpha \(depth 4\)/,
  );
  // Right count and order, another network.
  check(
    [extractors[0], { ...extractors[1], name: 'gamma' }],
    /these extractors are alpha \(depth 4\), gamma \(depth 3\)/,
  );
});

test('a value beyond float32 is refused: finite in the file, Infinity on every backend', () => {
  // Issue 12: W[0] = 1e308 was accepted and 2,334 of 4,096 pixels came out NaN.
  rejects((j) => void (j.W[0] = 1e308), 'not-finite', /W\[0\] is 1e\+308, beyond float32/);
  rejects((j) => void (j.b = -3.5e38), 'not-finite', /b is -3\.5e\+38, beyond float32/);
  rejects((j) => void (j.featureStats.std[1] = 1e39), 'not-finite', /featureStats\.std\[1\]/);
  // The largest float32 itself is a float32.
  assert.equal(parseHead({ ...serializeHead(head()), b: 3.4028234663852886e38 }).b, 3.4028234663852886e38);
});

test('deep nesting and long values are refused with the head’s own error and a short message', () => {
  const deep = JSON.stringify(serializeHead(head())).replace('"plasma"', '['.repeat(20_000) + ']'.repeat(20_000));
  rejects(() => deep, 'too-deep', /nests deeper than 64 levels/);
  // A parsed value too (the session's loadHead takes either): checked without recursion.
  let nested: unknown = 0;
  for (let i = 0; i < 20_000; i++) nested = [nested];
  rejects((j) => void (j.metadata.className = nested), 'too-deep', /nests deeper than 64 levels/);
  rejects((j) => void (j.W[1] = 'x'.repeat(3_000_000)), 'bad-field', /W\[1\] is "x+…" \(3000000 characters\)/);
  rejects((j) => void (j.metadata.extractors[0].name = 'n'.repeat(100_000)), 'extractor-mismatch', /100000/, true);
  for (const long of ['x'.repeat(3_000_000), Array(1_000_000).fill(1e308)]) {
    assert.throws(
      () => parseHead({ ...serializeHead(head()), threshold: long }),
      (err: unknown) => err instanceof HeadError && err.message.length <= 400,
    );
  }
});

/** The head with an ensemble of two members (head-ensemble.ts's shape). */
function withEnsemble(): Head {
  const h = head();
  const members = [0.1, -0.2].map((d) => ({ W: h.W.map((w) => w + d), b: h.b - d }));
  return { ...h, ensemble: { version: 1, method: 'bootstrap', seed: 3, rows: 4096, members } };
}

test('an ensemble travels with its head and is checked whole; a head without one (version 1 as before) loads', () => {
  const original = withEnsemble();
  const text = JSON.stringify(serializeHead(original));
  assert.deepEqual(parseHead(text, extractors), original);
  // Copies: the parsed ensemble is not the caller's arrays.
  const parsed = parseHead(JSON.parse(text));
  assert.notEqual(parsed.ensemble!.members[0].W, original.ensemble!.members[0].W);
  // A head as written before ensembles existed: the same version, no field, no ensemble.
  const old = serializeHead(head());
  assert.equal(old.version, 1);
  assert.equal('ensemble' in old, false);
  assert.equal(parseHead(JSON.stringify(old)).ensemble, undefined);

  const bad = (mutate: (e: Record<string, unknown> & { members: { W: unknown[]; b: unknown }[] }) => void) => {
    const json = JSON.parse(text);
    mutate(json.ensemble);
    return () => parseHead(json);
  };
  const refused = (code: string, message: RegExp) => (err: unknown) =>
    err instanceof HeadError && err.code === code && message.test(err.message);
  assert.throws(
    bad((e) => (e.version = 2)),
    refused('unsupported-version', /ensemble version 2 is not supported/),
  );
  assert.throws(
    bad((e) => (e.method = 'dropout')),
    refused('bad-field', /ensemble\.method is "dropout"/),
  );
  assert.throws(
    bad((e) => (e.members = [])),
    refused('bad-field', /ensemble\.members must be an array of 1 to 32/),
  );
  assert.throws(
    bad((e) => e.members[1].W.pop()),
    refused('bad-field', /ensemble\.members\[1\]\.W has 6 values, W has 7/),
  );
  assert.throws(
    bad((e) => (e.members[0].b = 'x')),
    refused('bad-field', /ensemble\.members\[0\]\.b must be a number/),
  );
  assert.throws(
    bad((e) => (e.members[0].W[2] = 1e39)),
    refused('not-finite', /beyond float32/),
  );
  assert.throws(
    bad((e) => (e.rows = 0.5)),
    refused('bad-field', /ensemble\.rows is 0\.5/),
  );
  assert.throws(
    () => parseHead({ ...JSON.parse(text), ensemble: [1] }),
    refused('bad-field', /ensemble must be an object/),
  );
});
