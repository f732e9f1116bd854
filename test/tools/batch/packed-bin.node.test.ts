import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installPackedPackage } from '../../examples/host-page.js';
import { madeUpHead, runNode, SAMPLE, SOURCE_BIN, writeSmallSlide } from './batch-fixtures.js';

// The command line as a user gets it: `npm pack` of the built package, unpacked as `npm install`
// puts it, its `bin` run by Node (built JavaScript, no tsx), its own models/default as the
// extractors; it must write the bytes the source writes.

const HOST = path.resolve('.cache/batch-packed');
const INSTALLED = path.join(HOST, 'node_modules', 'openseadragon-fewshot');
let tmp: string;
let bin: string;

before(() => {
  assert.ok(fs.existsSync(SAMPLE), 'the sample slide is missing: run `npm run sample`');
  installPackedPackage(HOST);
  const pkg = JSON.parse(fs.readFileSync(path.join(INSTALLED, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  bin = path.join(INSTALLED, pkg.bin['openseadragon-fewshot']);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fewshot-packed-'));
});

after(() => {
  fs.rmSync(HOST, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the packed bin is built JavaScript with a shebang; batch and worker answer --help', async () => {
  const text = fs.readFileSync(bin, 'utf8');
  assert.ok(text.startsWith('#!/usr/bin/env node\n'), 'starts with a shebang');
  assert.ok(fs.existsSync(path.join(path.dirname(bin), 'node-worker.js')), 'its worker threads’ module is beside it');
  const help = await runNode([bin, 'batch', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /npx openseadragon-fewshot batch --head FILE/);
  assert.ok(fs.existsSync(path.join(path.dirname(bin), 'queue-processor.js')), 'its queue processor is beside it');
  const worker = await runNode([bin, 'worker', '--help']);
  assert.equal(worker.code, 0, worker.stderr);
  assert.match(worker.stdout, /Usage: npx openseadragon-fewshot worker --queue redis:\/\/HOST:PORT/);
  const unknown = await runNode([bin, 'evaluate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "evaluate"/);
});

test(
  'the packed bin writes the same outputs as the source, on its own shipped extractors',
  { timeout: 600_000 },
  async () => {
    const slide = path.join(tmp, 'small.tif');
    await writeSmallSlide(slide, 2048, 2048);
    const head = path.join(tmp, 'made-up.head.json');
    fs.writeFileSync(head, JSON.stringify(madeUpHead()));
    const args = (out: string) => [
      'batch',
      '--head',
      head,
      '--slide',
      slide,
      '--region',
      'slide',
      '--out',
      out,
      '--threads',
      '2',
    ];
    const packed = await runNode([bin, ...args(path.join(tmp, 'packed'))]);
    assert.equal(packed.code, 0, packed.stderr);
    assert.match(packed.stdout, /small: \d+ cells, 2 of 2 tiles computed now/);
    const source = await runNode([...SOURCE_BIN, ...args(path.join(tmp, 'source'))]);
    assert.equal(source.code, 0, source.stderr);
    for (const name of ['small.geojson.gz', 'small.probability.tif', 'cohort.csv']) {
      const a = fs.readFileSync(path.join(tmp, 'packed', name));
      assert.ok(a.length > 0 && a.equals(fs.readFileSync(path.join(tmp, 'source', name))), `${name}: the same bytes`);
    }
  },
);
