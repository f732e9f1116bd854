import { assert } from 'chai';
import { openInWorker } from '../../../plugin/slide/worker-pixel-source.js';
import type { SlideDescription } from '../../../core/slide/pixel-source.js';
import { openTiff } from '../../../core/slide/tiff-source.js';

const workerUrl = new URL('/worker/worker-entry.ts', location.origin);

async function exists(url: string): Promise<boolean> {
  const r = await fetch(url, { headers: { Range: 'bytes=0-0' } });
  await r.body?.cancel();
  return r.ok;
}

const slides: [string, string][] = [
  ['generated sample slide', '/files/.cache/sample/sample-slide.tif'],
  ['Aperio SVS (JPEG, RGB-encoded)', '/shared-data/wsi/CMU-1-Small-Region.svs'],
  ['JPEG pyramid', '/shared-data/wsi/derived/CMU-1-Small-Region.pyramid-jpeg90-256.tif'],
  ['TCGA SVS (JPEG 2000)', '/shared-data/wsi/TCGA-CR-7395-01A-01-TS1.svs'],
];

describe('reads from a Web Worker equal main-thread reads', () => {
  for (const [label, url] of slides) {
    it(label, async function (this: Mocha.Context) {
      if (!(await exists(url))) {
        console.log(`skipped: ${url} is not there (../shared/data absent or sample slide not generated)`);
        this.skip();
      }
      for (const slide of [
        { kind: 'url', url },
        { kind: 'blob', blob: await (await fetch(url)).blob(), name: url },
      ] as SlideDescription[]) {
        const main = await openTiff(slide);
        const inWorker = await openInWorker(slide, { workerUrl });
        try {
          assert.deepEqual(inWorker.levels, main.levels);
          assert.deepEqual(inWorker.mpp, main.mpp);
          for (let level = 0; level < main.levels.length; level++) {
            const { width, height } = main.levels[level];
            const region = {
              level,
              x: Math.floor(width / 3),
              y: Math.floor(height / 3),
              width: Math.min(300, width - Math.floor(width / 3)),
              height: Math.min(200, height - Math.floor(height / 3)),
            };
            const a = await main.readRegion(region);
            const b = await inWorker.readRegion(region);
            assert.equal(a.length, region.width * region.height * 3);
            assert.isTrue(
              a.every((v, i) => v === b[i]),
              `level ${level}: worker pixels differ`,
            );
            assert.isAbove(new Set(a).size, 20, 'a real region has many distinct values');
          }
        } finally {
          inWorker.close();
        }
      }
    });
  }
});
