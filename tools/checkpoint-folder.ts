import fs from 'node:fs';
import path from 'node:path';
import type { CheckpointStore } from '../core/training/trainer.js';

/**
 * A training checkpoint as checkpoint.json + checkpoint.bin in a folder. Each file is written
 * to a temporary name and renamed over the old one, so a crash leaves whole files; the JSON
 * carries a checksum of the binary, so a crash between the two renames is detected on resume.
 */
export function folderCheckpointStore(dir: string): CheckpointStore {
  const json = path.join(dir, 'checkpoint.json');
  const bin = path.join(dir, 'checkpoint.bin');
  return {
    async load() {
      if (!fs.existsSync(json)) return undefined;
      if (!fs.existsSync(bin)) throw new Error(`${json} has no ${path.basename(bin)} beside it`);
      return {
        json: await fs.promises.readFile(json, 'utf8'),
        binary: new Uint8Array(await fs.promises.readFile(bin)),
      };
    },
    async save(c) {
      await fs.promises.mkdir(dir, { recursive: true });
      await fs.promises.writeFile(`${bin}.tmp`, c.binary);
      await fs.promises.writeFile(`${json}.tmp`, c.json);
      await fs.promises.rename(`${bin}.tmp`, bin);
      await fs.promises.rename(`${json}.tmp`, json);
    },
  };
}
