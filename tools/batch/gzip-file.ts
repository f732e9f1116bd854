import fs from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { temporaryName } from './tile-store.js';

/**
 * A gzip file written as its text comes, through a temporary name and a rename (readers see it
 * whole or not at all, as writeAtomic's): a slide's GeoJSON is written cell by cell, never held
 * whole — as one string it would hit V8's limit of ~512 Mi characters at ~600,000 cells. `write`
 * waits while the compressor is behind, so what is held is the compressor's buffer.
 */
export async function writeGzipFile(file: string, produce: (write: (text: string) => Promise<void>) => Promise<void>) {
  const temporary = temporaryName(file);
  const gzip = createGzip();
  const written = pipeline(gzip, fs.createWriteStream(temporary));
  try {
    await produce(async (text) => {
      if (!gzip.write(text)) await Promise.race([once(gzip, 'drain'), written]);
    });
    gzip.end();
    await written;
  } catch (err) {
    gzip.destroy();
    await written.catch(() => undefined);
    fs.rmSync(temporary, { force: true });
    throw err;
  }
  fs.renameSync(temporary, file);
}
