/**
 * Throughput of mask → cells → export on a large mask: connected components, outlines,
 * simplification (cellContours), the QuPath GeoJSON (built and stringified) and the PNG of the
 * mask. The mask is a mosaic of the sample's nucleus labels (all classes), tiled to the size
 * asked for; without the sample, seeded random ellipses of nucleus size. Medians over timed runs
 * after one warm-up.
 *
 *   npx tsx tools/bench-contours.ts                   # 6144×6144, 3 timed runs
 *   npx tsx tools/bench-contours.ts --size 8192 --runs 5 --tolerance 1
 */
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { cellContours } from '../core/cells/cell-contours.js';
import { cellInstances } from '../core/cells/cell-instances.js';
import { measureCells } from '../core/cells/cell-measurements.js';
import { cellsToGeoJson } from '../core/cells/geojson-export.js';
import { maskPlacement } from '../core/cells/mask-placement.js';
import { encodePng } from '../core/cells/png-encode.js';
import { SeededRandom } from '../core/math/seeded-random.js';
import { integerOption, numberOption, startCli } from './cli.js';

const args = startCli({
  name: 'bench:contours',
  command: 'npm run bench:contours',
  synopsis: '[options]',
  description: `
Throughput of mask → cells → export on a large mask: connected components, outlines,
simplification, the QuPath GeoJSON and the mask's PNG. Medians over timed runs after a warm-up.`,
  options: {
    size: { type: 'string', value: 'N', default: '6144', description: 'mask width and height' },
    runs: { type: 'string', value: 'N', default: '3', description: 'timed runs' },
    tolerance: { type: 'string', value: 'PX', default: '0.5', description: 'outline simplification tolerance' },
    labels: {
      type: 'string',
      value: 'DIR',
      default: '.cache/sample/patches/labels',
      description: 'label PNGs tiled into the mask (seeded random ellipses when missing)',
    },
  },
  examples: ['npm run bench:contours -- --size 8192 --runs 5 --tolerance 1'],
});
const size = integerOption('size', args.size, 16, 32768);
const runs = integerOption('runs', args.runs, 1);
const tolerance = numberOption('tolerance', args.tolerance, 0);

function mosaicOfSampleLabels(dir: string): Uint8Array | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const tiles = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => PNG.sync.read(fs.readFileSync(path.join(dir, f))));
  if (tiles.length === 0) return undefined;
  const mask = new Uint8Array(size * size);
  const t = tiles[0].width;
  for (let ty = 0, k = 0; ty < size; ty += t) {
    for (let tx = 0; tx < size; tx += t, k++) {
      const tile = tiles[k % tiles.length];
      for (let y = 0; y < Math.min(t, size - ty); y++) {
        for (let x = 0; x < Math.min(t, size - tx); x++)
          mask[(ty + y) * size + tx + x] = tile.data[4 * (y * tile.width + x)] ? 255 : 0;
      }
    }
  }
  return mask;
}

/** About one nucleus per 400 px², 3–7 px radii: the density and size of the sample's nuclei. */
function randomEllipses(): Uint8Array {
  const random = new SeededRandom(1);
  const mask = new Uint8Array(size * size);
  for (let n = 0; n < (size * size) / 400; n++) {
    const cx = random.next() * size,
      cy = random.next() * size;
    const a = 3 + 4 * random.next(),
      b = 3 + 4 * random.next(),
      angle = Math.PI * random.next();
    const c = Math.cos(angle),
      s = Math.sin(angle),
      r = Math.max(a, b);
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(size, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(size, Math.ceil(cx + r)); x++) {
        const u = (x + 0.5 - cx) * c + (y + 0.5 - cy) * s,
          v = -(x + 0.5 - cx) * s + (y + 0.5 - cy) * c;
        if ((u * u) / (a * a) + (v * v) / (b * b) < 1) mask[y * size + x] = 255;
      }
    }
  }
  return mask;
}

const sample = mosaicOfSampleLabels(args.labels);
const mask = sample ?? randomEllipses();
const source = sample
  ? `a mosaic of the sample's nucleus labels (${args.labels})`
  : 'seeded random ellipses (no sample found; `npm run sample` makes one)';
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const time = async <T>(f: () => T | Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const value = await f();
  return [value, performance.now() - t0];
};

console.log(
  `mask ${size}×${size} (${((size * size) / 1e6).toFixed(1)} Mpx), ${source}; tolerance ${tolerance} px; ` +
    `${runs} timed runs after 1 warm-up; medians`,
);
const contourMs: number[] = [],
  instanceMs: number[] = [],
  measureMs: number[] = [],
  geojsonMs: number[] = [],
  pngMs: number[] = [];
let instanceCount = 0;
let cells = 0,
  vertices = 0,
  jsonBytes = 0,
  pngBytes = 0;
for (let r = 0; r <= runs; r++) {
  const [found, tc] = await time(() => cellContours(mask, size, size, { tolerance }));
  const [text, tg] = await time(() =>
    JSON.stringify(
      cellsToGeoJson(found, {
        placement: maskPlacement(1024, 2048, 2),
        classification: { name: 'Nucleus', color: [200, 0, 0] },
        mpp: { x: 0.25, y: 0.25 },
      }),
    ),
  );
  const [png, tp] = await time(() => encodePng(mask, size, size));
  // The same mask as instances (touching nuclei split by the watershed), then measured.
  const [instances, ti] = await time(() => cellInstances(mask, size, size, { tolerance }));
  const [, tm] = await time(() => measureCells(instances, { placement: maskPlacement(0, 0, 1) }));
  if (r === 0) continue;
  instanceMs.push(ti);
  measureMs.push(tm);
  instanceCount = instances.cells.length;
  contourMs.push(tc);
  geojsonMs.push(tg);
  pngMs.push(tp);
  cells = found.length;
  vertices = found.reduce((s, c) => s + c.rings.reduce((t, ring) => t + ring.length / 2, 0), 0);
  jsonBytes = text.length;
  pngBytes = png.length;
}
const tc = median(contourMs),
  tg = median(geojsonMs),
  tp = median(pngMs);
console.log(`cells ${cells}, vertices per cell ${(vertices / cells).toFixed(1)}`);
console.log(
  `contours (components + outlines + simplification): ${tc.toFixed(0)} ms — ` +
    `${Math.round(cells / (tc / 1000))} cells/s, ${((size * size) / 1e6 / (tc / 1000)).toFixed(0)} Mpx/s`,
);
console.log(
  `GeoJSON (build + stringify): ${tg.toFixed(0)} ms — ${Math.round(cells / (tg / 1000))} cells/s, ` +
    `${(jsonBytes / 1e6).toFixed(1)} MB`,
);
console.log(`PNG of the mask: ${tp.toFixed(0)} ms, ${(pngBytes / 1e3).toFixed(0)} kB`);
const ti = median(instanceMs);
console.log(
  `instances (components split by the watershed, each traced): ${ti.toFixed(0)} ms, ${instanceCount} cells — ` +
    `${(ti / tc).toFixed(2)}× the components; measuring them ${median(measureMs).toFixed(0)} ms`,
);
console.log(`mask → GeoJSON text: ${(tc + tg).toFixed(0)} ms — ${Math.round(cells / ((tc + tg) / 1000))} cells/s`);
