import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { runTool } from './run-tool.js';

/** A labelled dataset folder of `count` 32×32 tiles: a dark square nucleus (class 2) on pale background. */
function dataset(dir: string, count: number): void {
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'labels'), { recursive: true });
  const names = Array.from({ length: count }, (_, k) => `train_${k + 1}`);
  for (const [k, name] of names.entries()) {
    const image = new PNG({ width: 32, height: 32 });
    const label = new PNG({ width: 32, height: 32 });
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const inside = x >= 4 + k && x < 20 + k && y >= 8 && y < 24;
        const i = 4 * (y * 32 + x);
        image.data.set(inside ? [90, 40, 140, 255] : [230, 200, 220, 255], i);
        label.data.set([inside ? 2 : 0, inside ? 2 : 0, inside ? 2 : 0, 255], i);
      }
    fs.writeFileSync(path.join(dir, 'images', `${name}.png`), PNG.sync.write(image));
    fs.writeFileSync(path.join(dir, 'labels', `${name}.png`), PNG.sync.write(label));
  }
  fs.writeFileSync(path.join(dir, 'manifest.csv'), ['name', ...names].join('\n') + '\n');
}

test(
  '--downsample 2 trains on the reduced tiles and the bundle declares twice the dataset mpp',
  { timeout: 120_000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-downsample-'));
    try {
      dataset(path.join(dir, 'data'), 5);
      const out = path.join(dir, 'bundle');
      const args = ['--data', path.join(dir, 'data'), '--class', 'nucleus=2', '--depth', '2', '--max-epochs', '1'];
      const sizes = ['--crop', '8', '--batch', '2', '--crops-per-epoch', '2', '--threads', '1', '--downsample', '2'];
      const rest = ['--mpp', '0.25', '--out', out, '--checkpoints', path.join(dir, 'checkpoints')];
      const r = await runTool('train', [...args, ...sizes, ...rest]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /reduced 2× to 16×16 \(0\.5 µm\/px\)/);
      const manifest = JSON.parse(fs.readFileSync(path.join(out, 'extractors.json'), 'utf8')) as {
        mppExpected: number;
        training: { classes: Record<string, { downsample?: number }> };
      };
      assert.equal(manifest.mppExpected, 0.5);
      assert.equal(manifest.training.classes.nucleus.downsample, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
