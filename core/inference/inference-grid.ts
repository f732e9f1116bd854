import type { Rect } from '../math/rect.js';
import type { PixelLevel } from '../slide/pixel-source.js';

/**
 * The inference grid: a virtual image of the whole slide at the extractors' resolution, which
 * is where patches, output tiles and their keys live. The extractors were trained at one scale
 * (`bundle.mpp`, 0.25 µm/px for the defaults) and a 20× slide (0.5 µm/px) shows them nuclei half
 * the size they know, so a slide is never fed to them at its own resolution: its pixels are read
 * from the pyramid level nearest the extractors' scale (never coarser, where a level allows) and
 * resampled to this grid (resampled-source.ts). Its own stride-64 patch grid and fixed output
 * tiles (patch-grid.ts) are anchored at its origin, so tiles stay exact and cacheable however the
 * view moves; results map back to level-0 coordinates with `gridToLevel0`.
 */

export interface Mpp {
  readonly x: number;
  readonly y: number;
}

export interface InferenceGridOptions {
  /**
   * The slide's level-0 µm/px as the caller states it. It wins over the file's (some scanners
   * write a wrong one); without it and without one in the file, the slide is assumed to be at
   * the extractors' scale and the grid says so in `note`.
   */
  readonly slideMpp?: number | Mpp;
  /**
   * Relative scale differences up to this are ignored and the level is used pixel for pixel:
   * a 0.2527 µm/px scan is not worth resampling (and blurring) for 0.25 µm/px extractors.
   * Default 0.02.
   */
  readonly snap?: number;
}

export interface InferenceGrid {
  /** The slide level whose pixels are resampled to this grid. */
  readonly level: number;
  /** Size of the virtual image in inference pixels. */
  readonly width: number;
  readonly height: number;
  /** Level-0 pixels per inference pixel (level-0 width / `width`, and likewise for y). */
  readonly scaleX: number;
  readonly scaleY: number;
  /** µm per inference pixel: the extractors' scale, exactly or within `snap`. */
  readonly mpp: Mpp;
  /** The scale the extractors expect. */
  readonly targetMpp: number;
  /** The level-0 scale the grid was computed from. */
  readonly slideMpp: Mpp;
  /** Where `slideMpp` came from: the file, the caller, or an assumption (unknown scale). */
  readonly mppSource: 'file' | 'stated' | 'assumed';
  /** For the user, when the scale was assumed. */
  readonly note?: string;
}

/** What a grid needs to know of a slide: its levels and, when the file says, its level-0 scale. */
export interface SlideGeometry {
  readonly levels: readonly PixelLevel[];
  readonly mpp?: Mpp;
}

const positive = (v: number) => Number.isFinite(v) && v > 0;

/**
 * The grid at `targetMpp` for a slide. The level read is the coarsest whose scale is at least as
 * fine as the target (within `snap`): downsampling a finer level keeps detail that upsampling a
 * coarser one has lost. A slide coarser than the target at level 0 is upsampled from level 0.
 */
export function inferenceGrid(
  slide: SlideGeometry,
  targetMpp: number,
  options: InferenceGridOptions = {},
): InferenceGrid {
  if (!positive(targetMpp)) throw new RangeError(`the extractors' µm/px must be a positive number, got ${targetMpp}`);
  const snap = options.snap ?? 0.02;
  if (!(snap >= 0 && snap < 1)) throw new RangeError(`snap must be in [0, 1), got ${snap}`);
  const level0 = slide.levels[0];
  if (!level0) throw new RangeError('the slide has no levels');
  const stated = typeof options.slideMpp === 'number' ? { x: options.slideMpp, y: options.slideMpp } : options.slideMpp;
  if (stated && !(positive(stated.x) && positive(stated.y)))
    throw new RangeError(`the slide's µm/px must be positive numbers, got ${stated.x}, ${stated.y}`);
  const mppSource = stated ? 'stated' : slide.mpp ? 'file' : 'assumed';
  const slideMpp = stated ?? slide.mpp ?? { x: targetMpp, y: targetMpp };

  // A level's scale from its real size (pyramids round: Aperio's "4×" level can be 4.0005×).
  const levelMpp = (l: PixelLevel): Mpp => ({
    x: (slideMpp.x * level0.width) / l.width,
    y: (slideMpp.y * level0.height) / l.height,
  });
  const coarseness = (l: PixelLevel) => {
    const m = levelMpp(l);
    return Math.max(m.x, m.y) / targetMpp;
  };
  let level = 0;
  slide.levels.forEach((l, i) => {
    if (coarseness(l) <= 1 + snap && coarseness(l) > coarseness(slide.levels[level])) level = i;
  });
  const chosen = slide.levels[level];
  const m = levelMpp(chosen);
  const rawWidth = (chosen.width * m.x) / targetMpp;
  const rawHeight = (chosen.height * m.y) / targetMpp;
  const near = (raw: number, size: number) => Math.abs(raw / size - 1) <= snap;
  // Snapped, the level is the grid: no resampling at all.
  const snapped = near(rawWidth, chosen.width) && near(rawHeight, chosen.height);
  const width = snapped ? chosen.width : Math.max(1, Math.round(rawWidth));
  const height = snapped ? chosen.height : Math.max(1, Math.round(rawHeight));
  // Scales from the rounded size, so the grid covers the slide exactly, edge to edge.
  const scaleX = level0.width / width;
  const scaleY = level0.height / height;
  return {
    level,
    width,
    height,
    scaleX,
    scaleY,
    mpp: { x: slideMpp.x * scaleX, y: slideMpp.y * scaleY },
    targetMpp,
    slideMpp,
    mppSource,
    note:
      mppSource === 'assumed'
        ? `The slide does not say its microns per pixel; it is assumed to be at the extractors' ${targetMpp} µm/px. ` +
          `If it is not, state its scale (slideMpp) or the segmentation will be poor.`
        : undefined,
  };
}

/** A rectangle of the grid in level-0 pixels (exact, so usually fractional): where to draw a tile. */
export function gridToLevel0(grid: InferenceGrid, rect: Rect): Rect {
  return {
    x: rect.x * grid.scaleX,
    y: rect.y * grid.scaleY,
    width: rect.width * grid.scaleX,
    height: rect.height * grid.scaleY,
  };
}

// Level-0 coordinates that came from gridToLevel0 divide back to integers up to rounding.
const EPSILON = 1e-9;

/**
 * The grid pixels a level-0 rectangle touches (any numbers, e.g. a viewport that reaches past
 * the slide), clipped to the grid; undefined when nothing of the slide is inside.
 */
export function level0ToGrid(grid: InferenceGrid, rect: Rect): Rect | undefined {
  const x0 = Math.max(0, Math.floor(rect.x / grid.scaleX + EPSILON));
  const y0 = Math.max(0, Math.floor(rect.y / grid.scaleY + EPSILON));
  const x1 = Math.min(grid.width, Math.ceil((rect.x + rect.width) / grid.scaleX - EPSILON));
  const y1 = Math.min(grid.height, Math.ceil((rect.y + rect.height) / grid.scaleY - EPSILON));
  if (!(x1 > x0 && y1 > y0)) return undefined;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
