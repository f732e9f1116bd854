import { expect } from 'chai';
import { HEAD_FORMAT, HEAD_VERSION } from '../../../core/adaptation/head.js';
import { gunzip, gzip } from '../../../core/cells/gzip.js';
import { importQuPathAnnotations } from '../../../core/support-set/qupath-import.js';
import { createSupportSet } from '../../../core/support-set/support-set.js';
import { useSamplePanel } from './sample-panel.js';
import { predictWholeView } from '../sample-viewer.js';
import { whenDom as when } from './dom-change.js';

// The panel's QuPath controls in Chromium, as a user drives them: a QuPath GeoJSON saved as
// .geojson.gz (gzipped here by the browser's own CompressionStream) given to the file input,
// the class chosen, Paint; on a real viewer, worker and extractors over the sample slide.
const fixtureUrl = new URL('/files/test/fixtures/qupath/tumor-stroma.geojson', location.origin).href;

describe('<fewshot-segmenter> QuPath import and .geojson.gz export', () => {
  const fixture = useSamplePanel(480, 360, { className: 'Tumor' });

  it('reads a .geojson.gz, offers its classes, paints the patches as one undo step', async () => {
    const h = fixture.handle!;
    const text = await (await fetch(fixtureUrl)).text();
    h.support.addPatch({ x: 1000, y: 1000 });
    h.support.addPatch({ x: 2000, y: 1500 }, { scale: 1.5 });
    // What the import must give: the same file through the core importer on a copy of the set.
    const copy = createSupportSet({
      slide: h.support.slide,
      extractorMpp: h.support.extractorMpp,
      patches: h.support.patches,
    });
    const report = importQuPathAnnotations(copy, text, { className: 'Tumor', placePatches: true });

    const root = fixture.panel!.shadowRoot!;
    const input = root.querySelector<HTMLInputElement>('#qupath-import + input[type=file]')!;
    const transfer = new DataTransfer();
    const gz = await gzip(text);
    transfer.items.add(new File([gz as Uint8Array<ArrayBuffer>], 'annotations.geojson.gz'));
    input.files = transfer.files;
    input.dispatchEvent(new Event('change'));
    await when(root, () => root.querySelector('#qupath-choice') !== null);
    const select = root.querySelector<HTMLSelectElement>('#qupath-class')!;
    expect([...select.options].map((o) => o.textContent)).to.deep.equal(['Tumor (3)', 'Stroma (1)', 'Lymphocyte (1)']);
    expect(select.value).to.equal('Tumor', "the session's class name is chosen first");
    const place = root.querySelector<HTMLInputElement>('#qupath-place')!;
    place.click();
    await fixture.panel!.updateComplete;
    const undoBefore = h.support.undoLabel;
    root.querySelector<HTMLButtonElement>('#qupath-paint')!.click();
    await fixture.panel!.updateComplete;

    expect(root.querySelector('#qupath-choice')).to.equal(null);
    expect(report.patchesPlaced).to.equal(1);
    expect(root.textContent).to.include(
      `Painted ${report.patchesChanged} patch(es) from annotations.geojson.gz, 1 placed ` +
        `(${report.classPixels} class, ${report.otherPixels} background pixels; one undo step).`,
    );
    expect(h.support.patches.length).to.equal(3);
    h.support.patches.forEach((p, k) => {
      expect([p.x, p.y, p.scale]).to.deep.equal([copy.patches[k].x, copy.patches[k].y, copy.patches[k].scale]);
      expect(p.mask).to.deep.equal(copy.patches[k].mask);
    });
    expect(h.support.undoLabel).to.equal('import QuPath annotations');
    h.support.undo();
    expect(h.support.patches.length).to.equal(2);
    expect(h.support.undoLabel).to.equal(undoBefore);
  });

  it('refuses a malformed file with its message, changing nothing', async () => {
    const h = fixture.handle!;
    const revision = h.support.revision;
    const root = fixture.panel!.shadowRoot!;
    const input = root.querySelector<HTMLInputElement>('#qupath-import + input[type=file]')!;
    const transfer = new DataTransfer();
    transfer.items.add(new File(['{"type": "Topology"}'], 'bad.geojson'));
    input.files = transfer.files;
    input.dispatchEvent(new Event('change'));
    await when(root, () => /bad\.geojson was not read/.test(root.textContent ?? ''));
    expect(root.textContent).to.match(/expected a FeatureCollection, a Feature or an array of Features/);
    expect(root.querySelector('#qupath-choice')).to.equal(null);
    expect(h.support.revision).to.equal(revision);
  });

  it('exports GeoJSON as .geojson.gz that inflates to the same cells, every one with a colour', async () => {
    const h = fixture.handle!;
    // A head for these extractors (any weights do: these mark dark pixels, roughly) and one view's tiles.
    const features = h.extractors.reduce((n, e) => n + e.depth, 0);
    await h.loadHead({
      format: HEAD_FORMAT,
      version: HEAD_VERSION,
      W: Array.from({ length: features }, (_, i) => (i % 5) * 0.02 - 0.04),
      b: -0.5,
      featureStats: { mean: new Array(features).fill(0), std: new Array(features).fill(1) },
      threshold: 0.5,
      metadata: { extractors: h.extractors.map((e) => ({ name: e.name, depth: e.depth })) },
    });
    const { viewer, display } = fixture.sample!;
    const vp = viewer.viewport;
    const level0 = display.levels[0];
    vp.zoomTo(level0.width / 300, undefined, true);
    vp.panTo(vp.imageToViewportCoordinates(level0.width / 2, level0.height / 2), true);
    // Every tile of the view: the exports compared below then see the same results.
    await predictWholeView(h);
    await fixture.panel!.updateComplete;

    const blob = await h.exportGeoJsonGz();
    expect(blob.type).to.equal('application/gzip');
    const json = JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(await blob.arrayBuffer()))));
    const strip = (c: { features: { id: string }[] }) => c.features.map((f) => ({ ...f, id: '' }));
    const direct = await h.exportMeasuredGeoJson();
    expect(strip(json)).to.deep.equal(strip(direct), 'the same cells (ids are new per export)');
    // With the stain ODs, read from the slide's pixels (the synchronous export has no pixels).
    expect(h.exportGeoJson().features.length).to.equal(json.features.length);
    for (const f of json.features) expect(f.properties.measurements['Hematoxylin OD mean']).to.be.a('number');
    expect(json.features.length).to.be.greaterThan(0);
    for (const f of json.features)
      expect(f.properties.classification).to.deep.equal({ name: 'Tumor', color: [0, 230, 118] });
    const button = fixture.panel!.shadowRoot!.querySelector<HTMLButtonElement>('#export-geojson-gz')!;
    expect(button.textContent?.trim()).to.equal('GeoJSON (.geojson.gz)');
    expect(button.disabled).to.equal(false);
  });
});
