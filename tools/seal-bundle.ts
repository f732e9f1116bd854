import fs from 'node:fs';
import path from 'node:path';
import { readBundle, withIntegrity, type ExtractorManifest } from '../core/msd/bundle.js';
import { existingFile, runCli } from './cli.js';

/**
 * Adds the integrity fields (weightsSha256, probe: models/FORMAT.md#integrity) to a bundle
 * written before bundles had them, rewriting only its manifest: the weights file stays
 * byte-identical, nothing is retrained. How models/default got them.
 */
await runCli(
  {
    name: 'seal-bundle',
    command: 'npm run seal-bundle --',
    synopsis: 'MANIFEST.json',
    description:
      'Writes the SHA-256 of the weights file and the probe (features of the fixed probe image) into the\n' +
      'manifest, after checking the bundle; the weights file is not touched. Refuses a bundle whose\n' +
      'existing checksum or probe does not match.',
    options: {
      manifest: {
        type: 'string',
        value: 'FILE',
        description: 'the manifest (default: models/default/extractors.json)',
      },
    },
    examples: ['npm run seal-bundle -- --manifest models/default/extractors.json'],
  },
  async (args) => {
    const file = existingFile('--manifest', args.manifest ?? 'models/default/extractors.json', 'a bundle manifest');
    const text = fs.readFileSync(file, 'utf8');
    const manifest = JSON.parse(text) as ExtractorManifest;
    const bytes = fs.readFileSync(path.join(path.dirname(file), manifest.weightsFile));
    const weights = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    await readBundle(manifest, weights); // a damaged bundle is refused, not sealed
    const sealed = await withIntegrity(manifest, weights);
    const after = await readBundle(sealed, weights);
    if (after.warnings) throw new Error(`sealed, yet: ${after.warnings.join('; ')}`);
    fs.writeFileSync(file, JSON.stringify(sealed, null, 1) + '\n');
    console.log(
      `${file}: weightsSha256 ${sealed.weightsSha256}, probe of ${Object.keys(sealed.probe!.means).length} classes`,
    );
  },
);
