import fs from 'node:fs';
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { inferenceGrid } from '../core/inference/inference-grid.js';
import { resampledSource } from '../core/inference/resampled-source.js';
import { readBundle } from '../core/msd/bundle.js';
import { readTissueMask } from '../core/slide/tissue-mask.js';
import { openTiff } from '../core/slide/tiff-source.js';
import { estimateSlideStain } from '../core/stain/slide-stain.js';
import { stainTransform } from '../core/stain/stain-normaliser.js';
import type { StainStats } from '../core/stain/stain-stats.js';
import { existingFile, integerOption, runCli } from './cli.js';

/**
 * What stain normalisation does to a slide, to look at: the slide's stain as the product
 * estimates it (core/stain/slide-stain.ts) beside the bundle's, and one region at the extractors'
 * scale as it is, Reinhard-normalised and Macenko-normalised, side by side in one PNG.
 */
await runCli(
  {
    name: 'stain-preview',
    command: 'npm run stain-preview --',
    synopsis: '--slide FILE [--out FILE.png] [--size N] [--manifest FILE]',
    description:
      "Prints a slide's stain statistics beside the bundle's and writes one region as it is, then\n" +
      'Reinhard- and Macenko-normalised to the bundle, side by side.',
    options: {
      slide: { type: 'string', value: 'FILE', description: 'a TIFF/SVS slide' },
      out: { type: 'string', value: 'FILE.png', description: 'the picture (default: <slide name>-stain.png)' },
      size: { type: 'string', value: 'N', default: '384', description: 'edge of the region, extractor pixels' },
      manifest: { type: 'string', value: 'FILE', description: 'the bundle (default: models/default/extractors.json)' },
    },
    examples: ['npm run stain-preview -- --slide viewer-demo/slides/CMU-1-Small-Region.svs --out cmu-stain.png'],
  },
  async (args) => {
    const file = existingFile('slide', args.slide ?? '', 'a TIFF or SVS slide');
    const manifestFile = existingFile('manifest', args.manifest ?? 'models/default/extractors.json', 'a manifest');
    const size = integerOption('size', args.size, 16);
    const manifest = fs.readFileSync(manifestFile, 'utf8');
    const bytes = fs.readFileSync(path.join(path.dirname(manifestFile), JSON.parse(manifest).weightsFile));
    const bundle = await readBundle(
      manifest,
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    if (!bundle.stain) throw new Error(`${manifestFile} has no stain statistics (npm run stain-stats)`);
    const slide = await openTiff({ kind: 'blob', blob: await openAsBlob(file), name: path.basename(file) });
    const grid = inferenceGrid(slide, bundle.mpp);
    const view = resampledSource(slide, grid.level, grid.width, grid.height);
    const own = await estimateSlideStain(slide, view);
    if (!own) throw new Error(`${file}: too little tissue to estimate its stain`);
    const show = (name: string, s: StainStats) =>
      console.log(
        `${name}: L*a*b* mean ${s.reinhard.mean.map((v) => v.toFixed(1)).join(', ')} ` +
          `std ${s.reinhard.std.map((v) => v.toFixed(1)).join(', ')}; ` +
          `H ${s.macenko.stains[0].map((v) => v.toFixed(3))} ` +
          `E ${s.macenko.stains[1].map((v) => v.toFixed(3))}; ` +
          `99th-percentile concentrations ${s.macenko.maxConcentrations.map((v) => v.toFixed(2)).join(', ')}`,
      );
    show(`${path.basename(file)} (${grid.width}×${grid.height} at ${bundle.mpp} µm/px)`, own);
    show('bundle', bundle.stain);
    // The region: centred on the tissue pixel in the middle of the mask's tissue, in raster order.
    const mask = await readTissueMask(slide, { maxSide: 256 });
    const tissue = [...mask.data.keys()].filter((i) => mask.data[i]);
    const cell = tissue[Math.floor(tissue.length / 2)] ?? 0;
    const edge = Math.min(size, grid.width, grid.height);
    const cx = (((cell % mask.width) + 0.5) * grid.width) / mask.width;
    const cy = ((Math.floor(cell / mask.width) + 0.5) * grid.height) / mask.height;
    const x = Math.max(0, Math.min(grid.width - edge, Math.round(cx - edge / 2)));
    const y = Math.max(0, Math.min(grid.height - edge, Math.round(cy - edge / 2)));
    const raw = await view.readRegion({ level: 0, x, y, width: edge, height: edge });
    const panels = [
      raw,
      stainTransform('reinhard', own, bundle.stain)!(raw),
      stainTransform('macenko', own, bundle.stain)!(raw),
    ];
    const png = new PNG({ width: edge * panels.length, height: edge });
    panels.forEach((rgb, k) => {
      for (let r = 0; r < edge; r++)
        for (let c = 0; c < edge; c++) {
          const o = 4 * (r * edge * panels.length + k * edge + c);
          png.data.set(rgb.subarray(3 * (r * edge + c), 3 * (r * edge + c) + 3), o);
          png.data[o + 3] = 255;
        }
    });
    const out = args.out ?? `${path.basename(file).replace(/\.[^.]+$/, '')}-stain.png`;
    fs.writeFileSync(out, PNG.sync.write(png));
    console.log(`wrote ${out}: grid (${x}, ${y}) ${edge}², as it is | Reinhard | Macenko`);
  },
);
