import type { FewShot, FewShotOptions } from '../../../plugin/attach-fewshot.js';
import '../../../plugin/panel/fewshot-segmenter.js';
import type { FewShotSegmenter } from '../../../plugin/panel/fewshot-segmenter.js';
import { attachSample, openSampleViewer, sampleSlideExists, type SampleViewer } from '../sample-viewer.js';

/** What a panel test starts from: the sample viewer, a handle attached to it, the panel over the handle. */
export interface SamplePanel {
  sample?: SampleViewer;
  handle?: FewShot;
  panel?: FewShotSegmenter;
}

/**
 * Called in a `describe`: opens a width × height sample viewer, attaches a handle (with `options`)
 * and puts the panel over it before the suite's tests (which are skipped without the sample
 * slide), and removes all three after them. The object returned is filled in by then.
 */
export function useSamplePanel(width: number, height: number, options: Partial<FewShotOptions> = {}): SamplePanel {
  const fixture: SamplePanel = {};
  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    fixture.sample = await openSampleViewer(width, height);
    fixture.handle = await attachSample(fixture.sample.viewer, options);
    const panel = document.createElement('fewshot-segmenter');
    fixture.panel = panel;
    panel.handle = fixture.handle;
    document.body.append(panel);
    await panel.updateComplete;
  });
  after(() => {
    fixture.panel?.remove();
    fixture.handle?.destroy();
    fixture.sample?.close();
  });
  return fixture;
}
