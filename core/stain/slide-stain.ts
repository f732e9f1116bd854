import type { PixelSource } from '../slide/pixel-source.js';
import { readTissueMask } from '../slide/tissue-mask.js';
import { estimateStain } from './stain-normaliser.js';
import type { StainStats } from './stain-stats.js';

/**
 * A slide's stain, estimated once from a sample of its tissue at the extractors' scale: `count`
 * windows of `edge`² spread evenly over the tissue mask (in raster order of its tissue pixels),
 * pooled. Once per slide, not per tile: a tile's own statistics depend on what it shows (a tile of
 * stroma has little haematoxylin, and Macenko would stretch its few nuclei to the target's
 * darkest), so per-tile normalisation would colour the same nucleus differently in two tiles and
 * draw their seams. At the inference scale, not on the overview: averaging 40 pixels into one
 * blurs nuclei into stroma and shrinks the spread both methods match.
 */
export interface SlideStainOptions {
  /** Windows read (default 16). */
  readonly count?: number;
  /** Their edge at the extractors' scale (default 256). */
  readonly edge?: number;
  /** The level of `view` the extractors read (default 0: an inference grid's view). */
  readonly level?: number;
  readonly signal?: AbortSignal;
}

/**
 * `slide`: the slide as opened (for its tissue mask); `view`: the same slide at the extractors'
 * scale, its level `options.level` read (level 0 of the inference grid's resampled view). Undefined when the sample has
 * too little tissue to say.
 */
export async function estimateSlideStain(
  slide: PixelSource,
  view: PixelSource,
  options: SlideStainOptions = {},
): Promise<StainStats | undefined> {
  const count = options.count ?? 16;
  const level = options.level ?? 0;
  const { width, height } = view.levels[level];
  const edge = Math.min(options.edge ?? 256, width, height);
  const mask = await readTissueMask(slide, { maxSide: 256, signal: options.signal });
  const tissue: number[] = [];
  mask.data.forEach((v, i) => v && tissue.push(i));
  // No tissue found (a faint or grey slide): a lattice over the whole slide instead.
  const cells = tissue.length > 0 ? tissue : Array.from({ length: mask.data.length }, (_, i) => i);
  const picks = Math.min(count, cells.length);
  const pixels = new Uint8Array(picks * edge * edge * 3);
  for (let k = 0; k < picks; k++) {
    const cell = cells[Math.floor(((k + 0.5) * cells.length) / picks)];
    const cx = (((cell % mask.width) + 0.5) * width) / mask.width;
    const cy = ((Math.floor(cell / mask.width) + 0.5) * height) / mask.height;
    const x = Math.max(0, Math.min(width - edge, Math.round(cx - edge / 2)));
    const y = Math.max(0, Math.min(height - edge, Math.round(cy - edge / 2)));
    pixels.set(
      await view.readRegion({ level, x, y, width: edge, height: edge, signal: options.signal }),
      k * edge * edge * 3,
    );
  }
  return estimateStain(pixels);
}
