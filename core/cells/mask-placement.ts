/**
 * Where a mask lies on the slide: mask pixel (i, j) covers the level-0 rectangle
 * [x + i·scaleX, x + (i + 1)·scaleX) × [y + j·scaleY, y + (j + 1)·scaleY). The mask is a region
 * computed at the extractors' resolution (or any pyramid level), so its pixels are usually
 * several level-0 pixels wide, and not always the same number in x and y (pyramid levels round
 * their sizes).
 */
export interface MaskPlacement {
  /** Level-0 position of the mask's top-left corner. */
  readonly x: number;
  readonly y: number;
  /** Level-0 pixels per mask pixel. */
  readonly scaleX: number;
  readonly scaleY: number;
}

export function maskPlacement(x: number, y: number, scaleX: number, scaleY: number = scaleX): MaskPlacement {
  if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`mask origin (${x}, ${y}) is not finite`);
  if (!(scaleX > 0) || !(scaleY > 0) || !Number.isFinite(scaleX) || !Number.isFinite(scaleY))
    throw new RangeError(`mask scale ${scaleX}×${scaleY} is not a pair of positive finite numbers`);
  return { x, y, scaleX, scaleY };
}

/**
 * The placement of a rectangle of a pyramid level: `rect` in that level's pixels, the level's
 * and level 0's sizes giving the scale per axis (the way read-scaled.ts relates levels).
 */
export function levelPlacement(
  rect: { readonly x: number; readonly y: number },
  level: { readonly width: number; readonly height: number },
  level0: { readonly width: number; readonly height: number },
): MaskPlacement {
  const scaleX = level0.width / level.width;
  const scaleY = level0.height / level.height;
  return maskPlacement(rect.x * scaleX, rect.y * scaleY, scaleX, scaleY);
}

/** Flat mask coordinates [x0, y0, …] (pixel corners) to level-0 pixel coordinates. */
export function toLevel0(placement: MaskPlacement, ring: ArrayLike<number>): Float64Array {
  const out = new Float64Array(ring.length);
  for (let i = 0; i < ring.length; i += 2) {
    out[i] = placement.x + ring[i] * placement.scaleX;
    out[i + 1] = placement.y + ring[i + 1] * placement.scaleY;
  }
  return out;
}
