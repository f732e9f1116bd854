import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trainMsd, type TrainOptions } from '../../../core/training/trainer.js';
import { CropSampler, type MaskedImage } from '../../../core/training/crop-sampler.js';
import { localTrainEngine } from '../../../core/training/train-engine.js';
import { packMsdParams } from '../../../core/msd/engine.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';
import { maskClass, readLabelledDataset } from '../../../tools/dataset.js';
import { folderCheckpointStore } from '../../../tools/checkpoint-folder.js';
import { threadedTrainEngine } from '../../../tools/train-threads.js';

const SAMPLE_PATCHES = '.cache/sample/patches';

/**
 * Dark "nuclei" (the class) and equally dark but larger "blobs" (not the class) on a noisy pink
 * background: telling them apart needs more than a colour threshold.
 */
function syntheticImages(count: number, size: number, seed: number): MaskedImage[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: count }, (_, k) => {
    const rgb = new Uint8Array(size * size * 3);
    const mask = new Uint8Array(size * size);
    const shade = new Float32Array(size * size);
    for (let n = 0; n < 6; n++) {
      const cx = rng.next() * size,
        cy = rng.next() * size;
      const nucleus = n % 2 === 0;
      const r = nucleus ? 3 + 2 * rng.next() : 9 + 3 * rng.next();
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) {
            shade[y * size + x] = 1;
            if (nucleus) mask[y * size + x] = 1;
            else mask[y * size + x] = 0;
          }
        }
      }
    }
    for (let i = 0; i < size * size; i++) {
      const s = shade[i];
      rgb[3 * i] = clamp(230 - 130 * s + 18 * rng.gaussian());
      rgb[3 * i + 1] = clamp(180 - 110 * s + 18 * rng.gaussian());
      rgb[3 * i + 2] = clamp(210 - 40 * s + 18 * rng.gaussian());
    }
    return { name: `synthetic_${k + 1}`, width: size, height: size, rgb, mask };
  });
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

function dataset(): { images: MaskedImage[]; source: string; options: Partial<TrainOptions> } {
  if (fs.existsSync(path.join(SAMPLE_PATCHES, 'manifest.csv'))) {
    // Class 2 of the sample slide: lymphocytes, small round nuclei.
    const images = maskClass(readLabelledDataset(SAMPLE_PATCHES, 'train'), { name: 'lymphocyte', ids: [2] });
    return {
      images,
      source: SAMPLE_PATCHES,
      options: { depth: 8, crop: 64, batch: 4, cropsPerEpoch: 64, learningRate: 0.01 },
    };
  }
  return {
    images: syntheticImages(10, 72, 3),
    source: 'synthetic discs',
    options: { depth: 8, crop: 40, batch: 4, cropsPerEpoch: 48, learningRate: 0.01 },
  };
}

test('a short training run raises validation Dice well above the untrained network', async () => {
  const { images, source, options } = dataset();
  const started = performance.now();
  const result = await trainMsd(images, {
    ...options,
    seed: 2,
    maxEpochs: 12,
    patience: 12,
    maxSeconds: 45,
    engine: localTrainEngine,
  });
  const start = result.history[0].valDice;
  const line = result.history.map((h) => h.valDice.toFixed(3)).join(' ');
  console.log(
    `  ${source}: val Dice by epoch ${line}; best ${result.bestValDice.toFixed(3)} @${result.bestEpoch}; ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  assert.ok(result.bestValDice > start + 0.3, `validation Dice went from ${start} to only ${result.bestValDice}`);
  assert.ok(result.bestValDice > 0.5, `best validation Dice ${result.bestValDice}`);
  assert.equal(result.weights.layers.length, options.depth);
  // The returned weights are the best epoch's, not the last one's.
  assert.equal(result.history[result.bestEpoch].valDice, result.bestValDice);
});

test('a run resumed from its checkpoint ends exactly where an uninterrupted run does', async () => {
  const images = syntheticImages(5, 48, 9);
  const common: Partial<TrainOptions> = {
    depth: 4,
    crop: 24,
    batch: 2,
    cropsPerEpoch: 6,
    patience: 50,
    seed: 4,
    engine: localTrainEngine,
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msd-train-'));
  try {
    const whole = await trainMsd(images, { ...common, maxEpochs: 4 });
    const first = await trainMsd(images, { ...common, maxEpochs: 2, checkpoint: folderCheckpointStore(dir) });
    assert.equal(first.epochs, 2);
    const seen: number[] = [];
    const resumed = await trainMsd(images, {
      ...common,
      maxEpochs: 4,
      checkpoint: folderCheckpointStore(dir),
      onEpoch: (p) => seen.push(p.epoch),
    });
    assert.deepEqual(seen, [3, 4]);
    assert.deepEqual(packMsdParams(resumed.weights), packMsdParams(whole.weights));
    assert.deepEqual(
      resumed.history.map((h) => h.valDice),
      whole.history.map((h) => h.valDice),
    );
    await assert.rejects(
      trainMsd(images, { ...common, depth: 5, maxEpochs: 4, checkpoint: folderCheckpointStore(dir) }),
      /depth/,
    );
    // A setting only one side has (HED jitter, absent from older checkpoints) is a difference too.
    await assert.rejects(
      trainMsd(images, { ...common, hedJitter: 0.05, maxEpochs: 4, checkpoint: folderCheckpointStore(dir) }),
      /hedJitter = undefined, this run has 0\.05/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('worker threads compute the same step as one thread', async () => {
  const images = syntheticImages(4, 40, 5);
  const sampler = new CropSampler(images, { size: 24, positiveFraction: 0.8, augment: true });
  const rng = new SeededRandom(1);
  const crops = Array.from({ length: 5 }, () => sampler.sample(rng));
  const shape = { inputChannels: 3, depth: 6, crop: 24, batch: 5 };
  const params = new Float32Array(9 * (3 * 6 + 15) + 6 + 9 + 1).map((_, i) => 0.05 * Math.sin(i));
  const normalisation = { mean: [150, 120, 170], std: [50, 50, 40] };
  const local = await localTrainEngine(shape);
  const threaded = await threadedTrainEngine(2)(shape);
  try {
    const a = await local.step(params, normalisation, crops);
    const b = await threaded.step(params, normalisation, crops);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-9, `loss ${a.loss} vs ${b.loss}`);
    let diff = 0,
      norm = 0;
    for (let i = 0; i < a.grad.length; i++) {
      diff = Math.max(diff, Math.abs(a.grad[i] - b.grad[i]));
      norm = Math.max(norm, Math.abs(a.grad[i]));
    }
    // Only the order of the sum over crops differs.
    assert.ok(diff <= 1e-9 * norm, `gradients differ by ${diff} (largest ${norm})`);
    await local.setValidation(images);
    await threaded.setValidation(images);
    assert.deepEqual(await threaded.validate(params, normalisation), await local.validate(params, normalisation));
  } finally {
    await threaded.close();
  }
});

test('most sampled crops contain the class, even when it is sparse', () => {
  const images = syntheticImages(6, 64, 7);
  // Keep one nucleus pixel per image: a class far sparser than CoNSeP's inflammatory cells.
  const sparse = images.map((im) => {
    const mask = new Uint8Array(im.mask.length);
    const first = im.mask.indexOf(1);
    if (first >= 0) mask[first] = 1;
    return { ...im, mask };
  });
  const sampler = new CropSampler(sparse, { size: 16, positiveFraction: 0.8, augment: true });
  const rng = new SeededRandom(3);
  let withClass = 0;
  for (let i = 0; i < 500; i++) if (sampler.sample(rng).mask.includes(1)) withClass++;
  assert.ok(withClass >= 0.75 * 500, `${withClass} of 500 crops contain the class`);
});

test("an aborted run rejects with the signal's reason and its checkpoint resumes", async () => {
  const images = syntheticImages(4, 40, 11);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msd-train-'));
  try {
    const controller = new AbortController();
    const reason = new Error('stop now');
    const common: Partial<TrainOptions> = {
      depth: 3,
      crop: 16,
      batch: 2,
      cropsPerEpoch: 4,
      maxEpochs: 5,
      patience: 50,
      engine: localTrainEngine,
      checkpoint: folderCheckpointStore(dir),
    };
    await assert.rejects(
      trainMsd(images, {
        ...common,
        signal: controller.signal,
        onEpoch: (p) => p.epoch === 2 && controller.abort(reason),
      }),
      (e) => e === reason,
    );
    const epochs: number[] = [];
    const resumed = await trainMsd(images, { ...common, onEpoch: (p) => epochs.push(p.epoch) });
    assert.deepEqual(epochs, [3, 4, 5]);
    assert.equal(resumed.stopReason, 'max-epochs');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the 80/20 split is by image, seeded, and keeps the class share of validation near the whole set's", async () => {
  const { splitByImage } = await import('../../../core/training/trainer.js');
  // One image holds most of the class: a validation set made of it would rank epochs on it alone.
  const images: MaskedImage[] = Array.from({ length: 10 }, (_, k) => {
    const mask = new Uint8Array(100);
    mask.fill(1, 0, k === 0 ? 60 : k % 3 === 0 ? 0 : 5);
    return { name: `im_${k}`, width: 10, height: 10, rgb: new Uint8Array(300), mask };
  });
  const a = splitByImage(images, 0.2, new SeededRandom(5));
  assert.deepEqual(a, splitByImage(images, 0.2, new SeededRandom(5)));
  assert.equal(a.validation.length, 2);
  assert.equal(new Set([...a.train, ...a.validation]).size, 10);
  assert.ok(!a.validation.includes('im_0'), `validation ${a.validation}`);
  assert.ok(
    a.validation.every((n) => Number(n.slice(3)) % 3 !== 0),
    `validation ${a.validation} should hold the class`,
  );
});
