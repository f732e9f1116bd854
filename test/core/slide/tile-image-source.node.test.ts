import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlideError } from '../../../core/slide/slide-error.js';
import { openTileImages } from '../../../core/slide/tile-image-source.js';

test('image-tile sources say that they need a browser when opened in Node', async () => {
  const description = {
    kind: 'tiles',
    name: 'pattern.png',
    width: 700,
    height: 500,
    levels: [
      {
        width: 700,
        height: 500,
        downsample: 1,
        tileWidth: 700,
        tileHeight: 500,
        urlLevel: 0,
        url: 'http://127.0.0.1:9/pattern.png',
      },
    ],
    scheme: { kind: 'images' },
  } as const;
  await assert.rejects(openTileImages(description), (err: unknown) => {
    assert.ok(err instanceof SlideError);
    assert.equal(err.code, 'unsupported-format');
    assert.match(err.message, /^pattern\.png: .*need a browser/);
    return true;
  });
});
