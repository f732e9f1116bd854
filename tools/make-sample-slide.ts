// Builds the demo's synthetic sample slide; `npm run sample -- --help` lists the options.
import { choiceOption, integerOption, progressLine, runCli } from './cli.js';
import { makeSampleSlide } from './sample/index.js';

await runCli(
  {
    name: 'sample',
    command: 'npm run sample',
    synopsis: '[options]',
    description: `
Renders the synthetic H&E sample slide (a tiled pyramidal TIFF), its level-0 label mask, a JSON
description and a small labelled patch set into --out. The same seed always gives the same
bytes; outputs that already match the options are kept (nothing to do).`,
    options: {
      out: { type: 'string', value: 'DIR', default: '.cache/sample', description: 'output folder' },
      seed: { type: 'string', value: 'N', default: '1', description: 'random seed' },
      size: { type: 'string', value: 'N', default: '8192', description: 'level-0 width and height in pixels' },
      compression: { type: 'string', value: 'deflate|jpeg', default: 'deflate', description: 'tile compression' },
      patches: { type: 'string', value: 'N', default: '24', description: 'labelled patches (0: none)' },
      workers: { type: 'string', value: 'N', description: 'render threads (default one per core; 0: this thread)' },
      force: { type: 'boolean', default: false, description: 'regenerate even when the outputs match' },
    },
    examples: ['npm run sample -- --seed 1 --size 8192', 'npm run sample -- --size 2048 --compression jpeg --force'],
  },
  async (values) => {
    const options = {
      out: values.out,
      seed: integerOption('seed', values.seed, 0),
      size: integerOption('size', values.size, 1),
      compression: choiceOption('compression', values.compression, ['deflate', 'jpeg'] as const),
      patches: integerOption('patches', values.patches, 0),
      workers: values.workers === undefined ? undefined : integerOption('workers', values.workers, 0),
      force: values.force,
    };
    // Started now, so the ETA counts from the start; nothing shows if the outputs are up to date.
    const rows = progressLine({ label: 'rendering rows', total: options.size });
    let rendering = false;
    await makeSampleSlide({
      ...options,
      log: (line) => (rendering ? rows.log(line) : console.log(line)),
      onRows: (done, total) => {
        rendering = done < total;
        if (rendering) rows.update(done);
        else rows.finish();
      },
    });
  },
);
