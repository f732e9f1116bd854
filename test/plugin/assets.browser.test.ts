import { assert } from 'chai';
import { DEFAULT_EXTRACTORS_URL, loadDefaultExtractors } from '../../plugin/assets.js';

describe('the shipped default extractors', () => {
  it('load from the package in the browser, with one network per known class', async () => {
    const bundle = await loadDefaultExtractors();
    assert.match(DEFAULT_EXTRACTORS_URL.pathname, /\/models\/default\/extractors\.json$/);
    const names = bundle.classes.map((c) => c.name);
    assert.includeMembers(names, ['inflammatory']);
    assert.equal(bundle.mpp, 0.25, 'trained on CoNSeP at 0.25 µm/px');
    for (const { name, weights } of bundle.classes) {
      assert.isAtLeast(weights.layers.length, 1, name);
      assert.isTrue(
        weights.output.weights.some((w) => w !== 0),
        `${name} has trained output weights`,
      );
    }
  });
});
