import { expect } from 'chai';
import type { FewShot, FewShotWarning } from '../../plugin/attach-fewshot.js';
import '../../plugin/panel/fewshot-segmenter.js';
import type { FewShotSegmenter } from '../../plugin/panel/fewshot-segmenter.js';
import { openSampleViewer, sampleSlideExists, type SampleViewer, attachSample } from './sample-viewer.js';
import { whenDom as when } from './panel/dom-change.js';

// What a user is told when something loaded or exported unchecked, in Chromium on the sample
// slide with the real worker: the shipped bundle made "old" here (its manifest without
// weightsSha256 and probe, as bundles were written before they carried them) and given as the
// user's files, then the shipped (sealed) bundle itself; and an export that rounding leaves
// cells out of. The handle's 'warning' event and the panel's lines are what is checked.
const bundleUrl = (file: string) => new URL(`/files/models/default/${file}`, location.origin).href;
const UNSEALED_NOTE =
  'Extractor bundle: no checksum, no probe — saved by an older version; re-save it with `npm run seal-bundle`';

async function unsealedBundle() {
  const manifest = (await (await fetch(bundleUrl('extractors.json'))).json()) as Record<string, unknown>;
  expect(manifest).to.include.keys('weightsSha256', 'probe');
  delete manifest.weightsSha256;
  delete manifest.probe;
  const weights = await (await fetch(bundleUrl('extractors.bin'))).blob();
  return {
    kind: 'files' as const,
    manifest: new Blob([JSON.stringify(manifest)], { type: 'application/json' }),
    weights,
  };
}

const nextWarning = (handle: FewShot) =>
  new Promise<FewShotWarning>((resolve) =>
    handle.addEventListener('warning', (e) => resolve(e.detail), { once: true }),
  );

describe('warnings on the handle and in the panel', () => {
  let sample: SampleViewer | undefined;
  let handle: FewShot | undefined;
  let panel: FewShotSegmenter | undefined;

  before(async function (this: Mocha.Context) {
    if (!(await sampleSlideExists())) this.skip();
    sample = await openSampleViewer(480, 360);
  });

  afterEach(() => {
    panel?.remove();
    handle?.destroy();
    panel = handle = undefined;
  });

  after(() => sample?.close());

  const attach = (extractors?: Awaited<ReturnType<typeof unsealedBundle>>) =>
    attachSample(sample!.viewer, { ...(extractors ? { extractors } : {}) });

  const showPanel = async (h: FewShot) => {
    panel = document.createElement('fewshot-segmenter');
    panel.handle = h;
    document.body.append(panel);
    await panel.updateComplete;
    return panel.shadowRoot!;
  };

  it('an unsealed bundle loads, with a warning event and a line under the extractors', async () => {
    handle = await attach(await unsealedBundle());
    const warning = await nextWarning(handle);
    expect(warning.kind).to.equal('extractors');
    expect(warning.message).to.equal(UNSEALED_NOTE);
    expect(
      warning.kind === 'extractors' && warning.details.map((d) => /no (weightsSha256|probe)/.test(d)),
    ).to.deep.equal([true, true]);
    expect(handle.warnings).to.deep.equal([warning]);
    const root = await showPanel(handle);
    expect(root.querySelector('#extractors-warning')?.textContent).to.equal(UNSEALED_NOTE);
  });

  it('a stored support set that cannot be read is reported to a listener added after the await', async () => {
    // A record of this slide that is not a support-set file: restoring it is refused (nothing is
    // lost: the record stays), and the host hears why through 'error', task 'restore'.
    const storage = {
      kind: 'test',
      read: async () => '{"format": "not a support set"}',
      write: async () => {},
      remove: async () => {},
    };
    handle = await attachSample(sample!.viewer, { storage });
    const failure = await new Promise<{ error: unknown; task: string }>((resolve) =>
      handle!.addEventListener('error', (e) => resolve(e.detail), { once: true }),
    );
    expect(failure.task).to.equal('restore');
    expect(failure.error).to.be.instanceOf(Error);
    expect(handle.support.patches).to.have.length(0);
  });

  it('the shipped, sealed bundle gives none; an export that leaves cells out says so in the panel', async () => {
    handle = await attach();
    expect(handle.warnings).to.deep.equal([]);
    const root = await showPanel(handle);
    expect(root.querySelector('#extractors-warning')).to.equal(null);

    // The sample is 0.5 µm/px, the extractors 0.25: a grid pixel is half a level-0 pixel, and a
    // one-pixel cell at odd grid x or y collapses when rounded to 0 decimals (its corners k + 0.5
    // and k + 1 both round to k + 1); 64 such cells, 4 grid pixels apart, 16 at (even, even).
    expect(handle.grid.scaleX).to.equal(0.5);
    const width = 32;
    const probabilities = new Float32Array(width * width);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) probabilities[(4 * y + (y % 2)) * width + 4 * x + (x % 2)] = 0.9;
    handle.session.addResult({
      key: 'warnings-test',
      tile: { x: 0, y: 0, width, height: width },
      level0: { x: 0, y: 0, width: width / 2, height: width / 2 },
      megapixels: (width * width) / 1e6,
      probabilities,
    });
    const seen: FewShotWarning[] = [];
    handle.addEventListener('warning', (e) => seen.push(e.detail));
    expect(handle.exportGeoJson().features.length).to.equal(64);
    expect(seen).to.deep.equal([]);
    expect(handle.exportGeoJson(undefined, { decimals: 0 }).features.length).to.equal(16);
    const message = '48 cells too small to export at this precision (0 decimals) were left out';
    expect(seen).to.deep.equal([{ kind: 'export', droppedCells: 48, droppedHoles: 0, decimals: 0, message }]);
    expect(handle.warnings).to.deep.equal(seen);
    await when(root, () => root.querySelector('[role=status]')?.textContent === message);
  });
});
