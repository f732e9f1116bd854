// Makes the demo's *Try an example* support set (tools/example-support.ts says how):
//   npx tsx tools/make-example-support.ts [--slide viewer-demo/slides/CMU-1-Small-Region.svs]
//     [--out viewer-demo/examples/cmu-example.support.json] [--extractors models/default/extractors.json]
// The same slide always gives the same file (test/viewer-demo/example.node.test.ts checks the committed one).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openTiff } from '../core/slide/tiff-source.js';
import { makeExampleSupportSet } from './example-support.js';

const { values } = parseArgs({
  options: {
    slide: { type: 'string', default: 'viewer-demo/slides/CMU-1-Small-Region.svs' },
    out: { type: 'string', default: 'viewer-demo/examples/cmu-example.support.json' },
    extractors: { type: 'string', default: 'models/default/extractors.json' },
  },
});

const extractorMpp = (JSON.parse(fs.readFileSync(values.extractors, 'utf8')) as { mppExpected: number }).mppExpected;
const name = path.basename(values.slide);
const slide = await openTiff({ kind: 'blob', blob: new Blob([fs.readFileSync(values.slide)]), name });
const started = performance.now();
const example = await makeExampleSupportSet(slide, { extractorMpp });
const { grid, nuclei } = example;
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `${name}: grid ${grid.width}×${grid.height} at ${grid.mpp.x.toFixed(4)} µm/px, labelled in ${seconds} s; nuclei: ` +
    `${nuclei.nuclei} dark nuclei (class), ${nuclei.ignored} dark regions ignored`,
);
for (const p of example.patches) {
  console.log(
    `  patch in the ${p.from} at grid (${p.gridX}, ${p.gridY}), level 0 (${(p.gridX * grid.scaleX).toFixed(1)}, ` +
      `${(p.gridY * grid.scaleY).toFixed(1)}): ${p.classPixels} class px, ${p.ignoredPixels} ignored`,
  );
}
fs.mkdirSync(path.dirname(values.out), { recursive: true });
fs.writeFileSync(values.out, example.text);
console.log(`wrote ${values.out} (${example.text.length} bytes)`);
