import type { SupportPatch } from '../adaptation/support-patch.js';
import type { PixelSource } from '../slide/pixel-source.js';
import { LABEL_CLASS, type SupportSetState } from './support-set.js';

/**
 * From the support set to what adaptation takes, as the product goes (core/session/session.ts →
 * the compute's adapt → the worker): `supportProblem` refuses a set nothing can be fitted on,
 * `gridPatches` places each patch on the inference grid (the extractors' scale, where the
 * worker reads the pixels) with a copy of its labels, and `readGridPatches` reads those pixels
 * into adapt()'s SupportPatch (support-features.ts). The labels already are adapt()'s values
 * (0 background, 1 class, 255 ignored), so the masks go over unchanged.
 */

/** A support patch on the inference grid: its top-left corner and side in grid pixels, and its labels. */
export interface GridPatch {
  readonly x: number;
  readonly y: number;
  readonly size: number;
  /** size × size labels, row-major: a copy, so that it may be transferred to a worker. */
  readonly mask: Uint8Array;
}

/** Why adapting on this support set cannot work, for the user; null when it can be tried. */
export function supportProblem(state: SupportSetState): string | null {
  if (state.patches.length === 0) {
    return 'the support set is empty: place at least one support patch (tool "place") and paint the new class in it';
  }
  if (!state.patches.some((p) => p.mask.includes(LABEL_CLASS))) {
    return state.classes && state.classes.length > 1
      ? `no support patch has any pixel of class ${JSON.stringify(state.classes[0].name)} painted: ` +
          'paint its cells with its brush, or remove the class'
      : 'no support patch has any pixel of the new class painted: paint the cells with the brush first';
  }
  const classes = state.classes ?? [];
  for (let k = 2; k <= classes.length; k++) {
    if (!state.patches.some((p) => p.mask.includes(k)))
      return (
        `no support patch has any pixel of class ${JSON.stringify(classes[k - 1].name)} painted: ` +
        'paint its cells with its brush, or remove the class'
      );
  }
  return null;
}

/**
 * The patches on a grid of `scaleX` × `scaleY` level-0 pixels per grid pixel. The tools place
 * patches on whole grid pixels (support-tools.ts), so the rounding only absorbs float error. The
 * masks are copied now: edits made while adaptation runs do not reach it.
 */
export function gridPatches(
  state: SupportSetState,
  grid: { readonly scaleX: number; readonly scaleY: number },
): GridPatch[] {
  return state.patches.map((p) => ({
    x: Math.round(p.x / grid.scaleX),
    y: Math.round(p.y / grid.scaleY),
    size: state.patchSize,
    mask: p.mask.slice(),
  }));
}

/**
 * The patches' pixels read from `source` (the slide resampled to the grid, resampled-source.ts,
 * at `level` 0; or a slide level used as it is), with their labels: adapt()'s input.
 */
export async function readGridPatches(
  patches: readonly GridPatch[],
  source: PixelSource,
  options: { readonly level?: number; readonly signal?: AbortSignal } = {},
): Promise<SupportPatch[]> {
  const level = options.level ?? 0;
  return Promise.all(
    patches.map(async ({ x, y, size, mask }, k) => {
      const rgb = await source.readRegion({ level, x, y, width: size, height: size, signal: options.signal });
      if (rgb.length !== size * size * 3)
        throw new RangeError(`support patch ${k}: read ${rgb.length} bytes, expected ${size}×${size}×3`);
      return { rgb, width: size, height: size, mask };
    }),
  );
}
