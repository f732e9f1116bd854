import type { PixelSource } from '../slide/pixel-source.js';
import { readScaled } from '../slide/read-scaled.js';
import type { SupportPatch } from '../adaptation/support-features.js';
import type { SupportSetState } from './support-set.js';

/**
 * From the support set to what adapt() takes (support-features.ts): per patch, the level-0
 * rectangle to read at patchSize × patchSize and a copy of its mask. The labels already are
 * adapt()'s values (0 background, 1 class, 255 ignored), so the masks go over unchanged.
 */

/** A patch's level-0 rectangle and output size, in the shape readScaled() takes. */
export interface SupportRegion {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly outWidth: number;
  readonly outHeight: number;
}

export function supportRegions(state: SupportSetState): SupportRegion[] {
  return state.patches.map((p) => {
    const side = state.patchSize * p.scale;
    return { id: p.id, x: p.x, y: p.y, width: side, height: side, outWidth: state.patchSize, outHeight: state.patchSize };
  });
}

/**
 * The support patches, reading each region's RGB with `read`. The masks are copied before the
 * first read, so edits made while the pixels load do not leak into this adaptation.
 */
export async function toSupportPatches(state: SupportSetState, read: (region: SupportRegion) => Promise<Uint8Array>): Promise<SupportPatch[]> {
  const regions = supportRegions(state);
  const masks = state.patches.map((p) => p.mask.slice());
  const out: SupportPatch[] = [];
  for (let k = 0; k < regions.length; k++) {
    const rgb = await read(regions[k]);
    const { outWidth: width, outHeight: height } = regions[k];
    if (rgb.length !== width * height * 3) throw new RangeError(`support patch ${regions[k].id}: read ${rgb.length} bytes, expected ${width}×${height}×3`);
    out.push({ rgb, width, height, mask: masks[k] });
  }
  return out;
}

/** toSupportPatches over a pixel source, each region box-averaged from the best level (read-scaled.ts). */
export function readSupportPatches(state: SupportSetState, source: PixelSource, signal?: AbortSignal): Promise<SupportPatch[]> {
  return toSupportPatches(state, (region) => readScaled(source, { ...region, signal }));
}
