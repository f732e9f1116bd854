import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHeadPatchModel } from '../../../core/inference/head-patch-model.js';
import { outputTiles } from '../../../core/inference/patch-grid.js';
import type { PatchModel } from '../../../core/inference/patch-model.js';
import {
  predictWholeBlock,
  predictWholeBlockUncertain,
  predictWholeTile,
  wholeTileRead,
} from '../../../core/inference/predict-whole-tile.js';
import { binaryEntropy } from '../../../core/inference/uncertainty.js';
import { receptiveMargin } from '../../../core/inference/receptive-field.js';
import { createSimdHeadPatchModel } from '../../../core/inference/simd-patch-model.js';
import { createMsd } from '../../../core/msd/tf-network.js';
import { initBackend } from '../../../core/msd/tf-backend.js';
import { seededGaussian } from '../../../core/msd/weights.js';
import { randomWeights } from '../msd/msd-test-cases.js';
import { memorySource } from './engine-fixtures.js';

// Depths 7 and 12 (margins 28 and 58 — dilations 1…7, then 1…10, 1 and 2): the head's margin is
// the deeper one's. The image is large enough for tiles that never touch its edges.
const extractors = [randomWeights(3, 7, 51), randomWeights(3, 12, 52)];
const gaussian = seededGaussian(53);
const head = { W: Array.from({ length: 19 }, () => gaussian() / Math.sqrt(19)), b: 0.1 };
const WIDTH = 331,
  HEIGHT = 290;

/** max |a − b| between a tile and the same pixels of a whole-image result. */
function worstAgainstWhole(
  tile: { x: number; y: number; width: number; height: number },
  values: Float32Array,
  whole: Float32Array,
): number {
  let worst = 0;
  for (let r = 0; r < tile.height; r++) {
    for (let c = 0; c < tile.width; c++) {
      worst = Math.max(worst, Math.abs(values[r * tile.width + c] - whole[(tile.y + r) * WIDTH + tile.x + c]));
    }
  }
  return worst;
}

test('the receptive-field margin is the sum of the dilations (depth 25: 125, 50: 275, 100: 550)', () => {
  const layers = (n: number) => ({ layers: Array.from({ length: n }, () => ({})) }) as never;
  assert.equal(receptiveMargin([layers(25)]), 125);
  assert.equal(receptiveMargin([layers(50)]), 275);
  assert.equal(receptiveMargin([layers(100), layers(25)]), 550);
  assert.equal(receptiveMargin(extractors), 58);
});

test('the read is the tile plus the margin, kept inside the image', () => {
  assert.deepEqual(wholeTileRead({ x: 100, y: 90, width: 50, height: 40 }, { width: WIDTH, height: HEIGHT }, 58), {
    x: 42,
    y: 32,
    width: 166,
    height: 156,
  });
  assert.deepEqual(wholeTileRead({ x: 10, y: 250, width: 50, height: 40 }, { width: WIDTH, height: HEIGHT }, 58), {
    x: 0,
    y: 192,
    width: 118,
    height: 98,
  });
});

async function checkModel(name: string, model: PatchModel, tolerance: number) {
  const source = memorySource(WIDTH, HEIGHT, 54);
  const margin = receptiveMargin(extractors);
  // The independent reference: one plain forward of the model over the whole image.
  const whole = await model(source.pixels, WIDTH, HEIGHT);
  const inner = { x: 70, y: 64, width: 150, height: 130 };
  for (const size of [150, 64, 37]) {
    let worst = 0;
    for (const tile of outputTiles(
      { x: 0, y: 0, width: WIDTH, height: HEIGHT },
      { width: WIDTH, height: HEIGHT },
      size,
    )) {
      const values = await predictWholeTile(source, 0, tile, model, { margin });
      worst = Math.max(worst, worstAgainstWhole(tile, values, whole));
    }
    assert.ok(
      worst < tolerance,
      `${name}: ${size}² tiles computed alone differ from the whole-image forward by ${worst}`,
    );
  }
  const together = await predictWholeTile(source, 0, inner, model, { margin });
  assert.ok(worstAgainstWhole(inner, together, whole) < tolerance, `${name}: a region inside the image`);
  // The margin is needed: half of it leaves border effects inside an interior tile.
  const short = await predictWholeTile(source, 0, inner, model, { margin: Math.floor(margin / 2) });
  const shortBy = worstAgainstWhole(inner, short, whole);
  assert.ok(shortBy > 10 * tolerance, `${name}: half the margin should not be enough (${shortBy})`);
}

test(
  'SIMD engine: whole-forward tiles equal one forward of the whole image, ' + 'alone or together, at any tile size',
  async () => {
    await checkModel('simd', createSimdHeadPatchModel(head, extractors).model, 2e-5);
  },
);

test('TF.js (wasm): whole-forward tiles equal one forward of the whole image, at any tile size', async () => {
  await initBackend('wasm');
  const networks = extractors.map((w) => createMsd(w));
  const compiled = createHeadPatchModel(head, networks);
  try {
    await checkModel('tfjs', compiled.model, 2e-5);
  } finally {
    compiled.dispose();
    networks.forEach((n) => n.dispose());
  }
});

test("SIMD engine: a block's tiles equal the same tiles computed alone, inside the image and at its edge", async () => {
  const model = createSimdHeadPatchModel(head, extractors).model;
  const source = memorySource(WIDTH, HEIGHT, 55);
  const margin = receptiveMargin(extractors);
  const tiles = outputTiles({ x: 0, y: 0, width: WIDTH, height: HEIGHT }, { width: WIDTH, height: HEIGHT }, 64);
  const at = (x: number, y: number) => tiles.find((t) => t.x === x && t.y === y)!;
  const blocks = [
    // Inside: the 2×2 block's read stays off the image's edges.
    [at(128, 128), at(192, 128), at(128, 192), at(192, 192)],
    // The top-left corner: mirror padding on two sides.
    [at(0, 0), at(64, 0), at(128, 0), at(0, 64), at(64, 64), at(128, 64)],
    // The bottom-right corner, with the clipped last column (331 = 5·64 + 11) and row (290 = 4·64 + 34).
    [at(256, 192), at(320, 192), at(256, 256), at(320, 256)],
    // A whole column of the image.
    tiles.filter((t) => t.x === 64),
  ];
  for (const block of blocks) {
    const together = await predictWholeBlock(source, 0, block, model, { margin });
    assert.equal(together.length, block.length);
    for (const [i, tile] of block.entries()) {
      const alone = await predictWholeTile(source, 0, tile, model, { margin });
      assert.equal(together[i].length, tile.width * tile.height);
      let worst = 0;
      for (let k = 0; k < alone.length; k++) worst = Math.max(worst, Math.abs(alone[k] - together[i][k]));
      assert.ok(worst < 2e-5, `tile ${tile.x},${tile.y} of a ${block.length}-tile block differs by ${worst}`);
    }
  }
  // One read per block, of the block and its margin.
  const reads = source.reads;
  await predictWholeBlock(source, 0, blocks[0], model, { margin });
  assert.equal(source.reads, reads + 1);
});

test("an ensemble head's block: each tile's p and u equal one forward of the whole image", async () => {
  // Members near the head, so that they disagree in places.
  const members = [0, 1, 2].map(() => ({ W: head.W.map((w) => w + 0.5 * gaussian()), b: head.b + 0.2 * gaussian() }));
  const compiled = createSimdHeadPatchModel({ ...head, members }, extractors);
  const uncertain = compiled.uncertain!;
  const source = memorySource(WIDTH, HEIGHT, 57);
  const margin = receptiveMargin(extractors);
  const rgb = await source.readRegion({ level: 0, x: 0, y: 0, width: WIDTH, height: HEIGHT });
  const whole = await uncertain(rgb, WIDTH, HEIGHT);
  const tiles = outputTiles({ x: 0, y: 0, width: WIDTH, height: HEIGHT }, { width: WIDTH, height: HEIGHT }, 64);
  const block = tiles.filter((t) => t.y === 128 && t.x >= 192);
  const together = await predictWholeBlockUncertain(source, 0, block, uncertain, { margin });
  const plain = await predictWholeBlock(source, 0, block, compiled.model, { margin });
  for (const [i, tile] of block.entries()) {
    const { probabilities, uncertainty } = together[i];
    assert.ok(worstAgainstWhole(tile, probabilities, whole.probabilities) < 2e-5, `p of tile ${tile.x},${tile.y}`);
    assert.ok(worstAgainstWhole(tile, uncertainty, whole.uncertainty) < 1e-3, `u of tile ${tile.x},${tile.y}`);
    assert.deepEqual(probabilities, plain[i], 'the same probabilities as without the ensemble');
  }
  assert.ok(
    whole.uncertainty.some((u, p) => Math.abs(u - binaryEntropy(whole.probabilities[p])) > 0.05),
    'the members add doubt somewhere',
  );
  compiled.dispose();
});
