import { expect } from 'chai';
import type { FewShot } from '../../../plugin/attach-fewshot.js';
import '../../../plugin/panel/fewshot-segmenter.js';
import type { FewShotSegmenter } from '../../../plugin/panel/fewshot-segmenter.js';
import { openSampleViewer, sampleSlideExists, slideUrl, workerUrl, type SampleViewer } from '../sample-viewer.js';

// The panel's Stain select in Chromium: the panel attaches the handle itself (viewer and slide
// given), the user picks Reinhard, the panel attaches again with it and keeps the support patches
// (no storage here, so only the panel can carry them over); real worker, extractors and slide.
describe('<fewshot-segmenter> stain normalisation select', () => {
  let sample: SampleViewer | undefined;
  let panel: FewShotSegmenter | undefined;
  let given: FewShotSegmenter | undefined;

  const nextReady = (p: FewShotSegmenter) =>
    new Promise<FewShot>((resolve, reject) => {
      p.addEventListener('ready', (e) => resolve(e.detail), { once: true });
      p.addEventListener('error', (e) => e.detail.task === 'attach' && reject(e.detail.error), { once: true });
    });

  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    sample = await openSampleViewer(480, 360);
  });

  after(() => {
    given?.remove();
    panel?.remove();
    sample?.close();
  });

  it('re-attaches with the chosen stain, keeping the patches; a given handle cannot be switched', async () => {
    panel = document.createElement('fewshot-segmenter');
    document.body.append(panel);
    let ready = nextReady(panel);
    panel.options = { workerUrl, workers: 1, backends: ['wasm'], storage: false };
    panel.viewer = sample!.viewer;
    panel.slide = { kind: 'url', url: slideUrl };
    const first = await ready;
    await panel.updateComplete;
    const root = panel.shadowRoot!;
    const select = root.querySelector<HTMLSelectElement>('#stain')!;
    expect(first.stain).to.equal('none');
    expect(select.value).to.equal('none');
    expect(select.disabled).to.equal(false);
    expect([...select.options].map((o) => o.value)).to.deep.equal(['none', 'reinhard', 'macenko']);

    const id = first.support.addPatch({ x: 1200, y: 900 });
    first.support.paintStroke(id, { label: 'class', size: 20 }, [
      [100, 100],
      [150, 130],
    ]);
    const mask = first.support.patch(id)!.mask.slice();

    ready = nextReady(panel);
    select.value = 'reinhard';
    select.dispatchEvent(new Event('change'));
    const second = await ready;
    await panel.updateComplete;
    expect(second).to.not.equal(first);
    expect(second.stain).to.equal('reinhard');
    expect(panel.handle).to.equal(second);
    // The re-attach's patch copy lands after 'ready': wait for the panel's own update.
    await new Promise((resolve) =>
      second.support.patches.length ? resolve(undefined) : second.support.addEventListener('change', resolve),
    );
    expect(second.support.patches.map((p) => [p.id, p.x, p.y])).to.deep.equal([[id, 1200, 900]]);
    expect(second.support.patch(id)!.mask).to.deep.equal(mask);
    expect(root.querySelector<HTMLSelectElement>('#stain')!.value).to.equal('reinhard');

    // Given a handle (not its own: this one is the first panel's), a panel shows its stain and cannot attach it again.
    given = document.createElement('fewshot-segmenter');
    given.handle = second;
    document.body.append(given);
    await given.updateComplete;
    const shown = given.shadowRoot!.querySelector<HTMLSelectElement>('#stain')!;
    expect(shown.value).to.equal('reinhard');
    expect(shown.disabled).to.equal(true);
  });
});
