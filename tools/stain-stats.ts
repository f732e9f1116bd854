import fs from 'node:fs';
import path from 'node:path';
import { readBundle, type ExtractorManifest } from '../core/msd/bundle.js';
import { datasetStain } from '../core/stain/dataset-stain.js';
import { plainStainStats } from '../core/stain/stain-stats.js';
import { existingFile, existingFolder, listOption, runCli, usageError } from './cli.js';
import { readLabelledDataset } from './dataset.js';
import { scaleImage } from './scaled-image.js';

/**
 * Writes the stain statistics of a bundle's training images (models/FORMAT.md#stain) into its
 * manifest (core/stain/dataset-stain.ts: Reinhard's pooled over their tissue pixels, Macenko's the
 * median over images): what `--stain reinhard|macenko` maps a slide to. The images are those the
 * manifest's `training.classes[*].split` names (train and
 * validation: every pixel an extractor was fitted or selected on), or `--images`. The weights
 * file is not touched; the bundle is read back with its checksum and probe before and after.
 */
await runCli(
  {
    name: 'stain-stats',
    command: 'npm run stain-stats --',
    synopsis: '--data DIR [--manifest FILE] [--images LIST]',
    description:
      'Computes the stain statistics (Reinhard: L*a*b* mean and std; Macenko: H&E vectors and 99th-percentile\n' +
      "concentrations) of the bundle's training images and writes them into its manifest as `stain`.",
    options: {
      data: { type: 'string', value: 'DIR', description: 'the labelled dataset folder the bundle was trained on' },
      manifest: {
        type: 'string',
        value: 'FILE',
        description: 'the manifest (default: models/default/extractors.json)',
      },
      images: { type: 'string', value: 'LIST', description: "image names (default: the manifest's training split)" },
    },
    examples: ['npm run stain-stats -- --data ../shared/data/consep --manifest models/default/extractors.json'],
  },
  async (args) => {
    const data = existingFolder('data', args.data, 'a labelled dataset folder', ['manifest.csv', 'images']);
    const file = existingFile('manifest', args.manifest ?? 'models/default/extractors.json', 'a bundle manifest');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as ExtractorManifest;
    const bytes = fs.readFileSync(path.join(path.dirname(file), manifest.weightsFile));
    const weights = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    await readBundle(manifest, weights); // a damaged bundle is refused, not extended
    const names = args.images ? listOption('images', args.images, (s) => s) : splitImages(manifest);
    const wanted = new Set(names);
    const images = names.length
      ? readLabelledDataset(data).filter((im) => wanted.has(im.name))
      : readLabelledDataset(data, 'train');
    const missing = names.filter((n) => !images.some((im) => im.name === n));
    if (missing.length) usageError(`--data ${data} has no image ${missing.join(', ')}`);
    if (images.length === 0) usageError(`--data ${data} has no training images`);
    // The pixels the networks saw: a bundle trained with `--downsample F` saw the tiles reduced F times.
    const downsample = trainedDownsample(manifest);
    const seen = await Promise.all(images.map((im) => scaleImage(im, 1 / downsample)));
    const stats = datasetStain(seen.map((im) => im.rgb));
    if (!stats) throw new Error(`the ${images.length} images hold too little tissue to estimate a stain`);
    const { training, classes, ...head } = manifest;
    const { stain: _old, ...rest } = head;
    const updated: ExtractorManifest = {
      ...rest,
      stain: roundStats(plainStainStats(stats)),
      training: {
        ...training,
        stain: {
          data: path.basename(path.resolve(data)),
          images: images.map((im) => im.name),
          ...(downsample === 1 ? {} : { downsample }),
          tool: 'stain-stats',
        },
      },
      classes,
    };
    const read = await readBundle(updated, weights);
    if (!read.stain) throw new Error('the written statistics did not read back');
    fs.writeFileSync(file, JSON.stringify(updated, null, 1) + '\n');
    const r = read.stain.reinhard;
    const m = read.stain.macenko;
    console.log(
      `${file}: stain of ${images.length} images (${stats.pixels} tissue pixels): L*a*b* mean ` +
        `${r.mean.map((v) => v.toFixed(2)).join(', ')}, std ${r.std.map((v) => v.toFixed(2)).join(', ')}; ` +
        `H ${m.stains[0].map((v) => v.toFixed(3)).join(', ')}, E ${m.stains[1].map((v) => v.toFixed(3)).join(', ')}, ` +
        `99th-percentile concentrations ${m.maxConcentrations.map((v) => v.toFixed(3)).join(', ')}`,
    );
  },
);

/** Every image a class of the bundle trained or validated on (tools/train.ts records the split). */
function splitImages(manifest: ExtractorManifest): string[] {
  const classes = (manifest.training as { classes?: Record<string, { split?: Record<string, string[]> }> }).classes;
  const names = new Set<string>();
  for (const c of Object.values(classes ?? {}))
    for (const list of Object.values(c.split ?? {})) list.forEach((n) => names.add(n));
  return [...names].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The `--downsample` the bundle's classes were trained with (tools/train.ts records it), 1 when none. */
function trainedDownsample(manifest: ExtractorManifest): number {
  const classes = (manifest.training as { classes?: Record<string, { downsample?: number }> }).classes;
  const factors = new Set(Object.values(classes ?? {}).map((c) => c.downsample ?? 1));
  if (factors.size > 1) throw new Error(`the classes were trained at different scales (downsample ${[...factors]})`);
  return [...factors][0] ?? 1;
}

/** Nine significant digits: far below what a byte of colour resolves, and a readable manifest. */
function roundStats<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v)));
}
