import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { serializeHead } from '../../../core/adaptation/head.js';
import { classCellsToGeoJson, composeClasses, measureClassCells } from '../../../core/cells/class-composition.js';
import { maskPlacement } from '../../../core/cells/mask-placement.js';
import { readGridRgb } from '../../../core/session/grid-rgb.js';
import { parseHexColor } from '../../../core/session/hex-color.js';
import { openSmallSlideSession, pixels, WIDTH } from './small-slide-session.js';

const opened = openSmallSlideSession('class-export.tif');
after(async () => (await opened).pool.close());

const PATCH = 256;
const tumour = { name: 'Tumour', color: '#ff0000' };
const immune = { name: 'Immune', color: '#0000ff' };

/** Labels from the slide's own pixels: bright red → 1 (Tumour), dark red → 2 (Immune). */
function labels(x0: number, y0: number): Uint8Array {
  return Uint8Array.from({ length: PATCH * PATCH }, (_, i) => {
    const r = pixels[((y0 + Math.floor(i / PATCH)) * WIDTH + x0 + (i % PATCH)) * 3];
    return r > 180 ? 1 : r < 80 ? 2 : 0;
  });
}

test(
  'after adaptClasses the exports carry every class: the composition of each head’s own prediction',
  { timeout: 300_000 },
  async () => {
    const { pool, slide, grid, support, session } = await opened;
    support.replacePatches(
      [
        { id: 'a', x: 40, y: 30, scale: 1, mask: labels(40, 30) },
        { id: 'b', x: 600, y: 200, scale: 1, mask: labels(600, 200) },
      ],
      { classes: [tumour, immune] },
    );
    const { classes } = await session.adaptClasses();
    const exported = await session.exportMeasuredGeoJson();
    const names = new Set(exported.features.map((f) => f.properties.classification.name));
    assert.deepEqual([...names].sort(), ['Immune', 'Tumour'], 'cells of both classes');
    for (const f of exported.features) {
      const c = f.properties.classification;
      assert.deepEqual(c.color, c.name === 'Tumour' ? [255, 0, 0] : [0, 0, 255]);
    }
    const csv = await session.exportCellsCsv();
    const rows = csv.trim().split('\n').slice(1);
    assert.equal(rows.length, exported.features.length, 'a CSV row per cell');
    assert.ok(rows.some((r) => r.includes('Tumour')) && rows.some((r) => r.includes('Immune')));

    const overlay = (await session.classOverlay())!;
    assert.deepEqual(overlay.colors, ['#ff0000', '#0000ff']);

    // Independently: each class's head loaded as the session's single head, the slide predicted by
    // a region run, and those maps composed.
    const maps: Float32Array[] = [];
    for (const c of classes) {
      await session.loadHead(serializeHead(c.head));
      const run = await session.predictRegion('slide');
      assert.equal((await run.finished).state, 'finished');
      maps.push(session.results.mosaic()!.probabilities.slice());
    }
    const rect = { x: 0, y: 0, width: grid.width, height: grid.height };
    const rgb = await readGridRgb(pool.readRegion.bind(pool), slide, grid, rect);
    const mpp = grid.mppSource !== 'assumed' ? grid.slideMpp : undefined;
    const placement = maskPlacement(0, 0, grid.scaleX, grid.scaleY);
    const cells = measureClassCells(
      classes.map((c, k) => {
        const [r, g, b] = parseHexColor(c.color);
        return { name: c.name, color: [r, g, b] as const, threshold: c.head.threshold, probabilities: maps[k] };
      }),
      rect.width,
      rect.height,
      { placement, mpp, rgb },
    );
    const expected = classCellsToGeoJson(cells, { placement, mpp, decimals: 2 }).collection;
    const composed = composeClasses(
      maps,
      classes.map((c) => c.head.threshold),
    );
    assert.deepEqual(overlay.labels, composed, 'the overlay’s classes are the composition');
    assert.ok(composed.includes(1) && composed.includes(2));
    // Feature ids are random UUIDs (geojson-export.ts): everything else is equal.
    const withoutIds = (c: typeof exported) => c.features.map((f) => ({ ...f, id: undefined }));
    assert.deepEqual(withoutIds(exported), withoutIds(expected));

    // A single head loaded: the exports are its one class again.
    const single = await session.exportMeasuredGeoJson();
    assert.ok(single.features.length > 0);
    assert.ok(single.features.every((f) => f.properties.classification.name === session.className));
  },
);
