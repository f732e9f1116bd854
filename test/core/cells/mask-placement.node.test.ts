import assert from 'node:assert/strict';
import { test } from 'node:test';
import { levelPlacement, maskPlacement, toLevel0 } from '../../../core/cells/mask-placement.js';

test('mask pixel corners map to level-0 pixels through the origin and a scale per axis', () => {
  const placement = maskPlacement(1000, 2000, 4, 2);
  // Corners of mask pixel (3, 5): its level-0 rectangle is [1012, 1016) × [2010, 2012).
  assert.deepEqual(Array.from(toLevel0(placement, [3, 5, 4, 6])), [1012, 2010, 1016, 2012]);
  assert.deepEqual(maskPlacement(1, 2, 3), { x: 1, y: 2, scaleX: 3, scaleY: 3 });
});

test('a rectangle of a pyramid level: the scale is level 0 over the level, per axis, as the pyramid rounded it', () => {
  const placement = levelPlacement({ x: 100, y: 40 }, { width: 4097, height: 3001 }, { width: 8193, height: 6001 });
  assert.equal(placement.scaleX, 8193 / 4097);
  assert.equal(placement.scaleY, 6001 / 3001);
  assert.equal(placement.x, 100 * (8193 / 4097));
  assert.equal(placement.y, 40 * (6001 / 3001));
  // The level's far corner lands on level 0's far corner.
  const [x, y] = toLevel0(
    levelPlacement({ x: 0, y: 0 }, { width: 4097, height: 3001 }, { width: 8193, height: 6001 }),
    [4097, 3001],
  );
  assert.ok(Math.abs(x - 8193) < 1e-9 && Math.abs(y - 6001) < 1e-9);
});

test('non-finite origins and non-positive scales are refused', () => {
  assert.throws(() => maskPlacement(Number.NaN, 0, 1), /origin/);
  assert.throws(() => maskPlacement(0, 0, 0), /scale/);
  assert.throws(() => maskPlacement(0, 0, 1, Number.POSITIVE_INFINITY), /scale/);
});
