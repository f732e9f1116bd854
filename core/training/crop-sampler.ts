import type { SeededRandom } from '../math/seeded-random.js';
import { applyHedJitter, drawHedJitter } from './hed-jitter.js';

/** An RGB image with a binary mask of the class being learned. */
export interface MaskedImage {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB, 0..255. */
  readonly rgb: Uint8Array;
  /** 1 where the pixel belongs to the class, else 0. */
  readonly mask: Uint8Array;
}

/** A square training crop: `size`² RGB values and mask values, row-major. */
export interface Crop {
  readonly rgb: Uint8Array;
  readonly mask: Uint8Array;
}

export interface CropSamplerOptions {
  readonly size: number;
  /**
   * Share of crops placed around a random pixel of the class; the rest are placed uniformly.
   * Uniform crops of a sparse class are mostly empty, and a soft-Dice network fed mostly
   * empty crops learns to predict nothing (docs/ARCHITECTURE.md#feature-extractors); the uniform
   * share keeps the class-free tissue in view so the network does not over-predict there.
   */
  readonly positiveFraction: number;
  /** Random flips and 90° rotations (the eight symmetries of the square): tissue has no up. */
  readonly augment: boolean;
  /**
   * σ of the HED stain jitter of each crop (hed-jitter.ts); 0 or absent: none, and the crops (and
   * the generator's draws) are those of a sampler without the option.
   */
  readonly hedJitter?: number;
}

export class CropSampler {
  readonly options: CropSamplerOptions;
  private readonly images: readonly MaskedImage[];
  /** Per image, the indices of its class pixels. */
  private readonly positives: Int32Array[];
  /** The images with at least one class pixel. */
  private readonly withClass: number[];

  constructor(images: readonly MaskedImage[], options: CropSamplerOptions) {
    if (images.length === 0) throw new Error('no images to sample crops from');
    for (const im of images) {
      if (im.width < options.size || im.height < options.size)
        throw new Error(`${im.name} is ${im.width}×${im.height}, smaller than the ${options.size}² crops`);
    }
    this.options = options;
    this.images = images;
    this.positives = images.map((im) => {
      let n = 0;
      for (let i = 0; i < im.mask.length; i++) if (im.mask[i]) n++;
      const idx = new Int32Array(n);
      for (let i = 0, k = 0; i < im.mask.length; i++) if (im.mask[i]) idx[k++] = i;
      return idx;
    });
    this.withClass = this.positives.flatMap((p, i) => (p.length > 0 ? [i] : []));
  }

  sample(rng: SeededRandom): Crop {
    const S = this.options.size;
    let image: number;
    let x0: number;
    let y0: number;
    if (this.withClass.length > 0 && rng.next() < this.options.positiveFraction) {
      // A uniform image among those with the class, then a uniform class pixel in it, then a
      // uniform crop position among those that contain it. Not a uniform class pixel over all
      // images: in CoNSeP one image holds 60% of the inflammatory pixels and would fill most
      // crops.
      image = this.withClass[rng.int(this.withClass.length)];
      const { width, height } = this.images[image];
      const candidates = this.positives[image];
      const pixel = candidates[rng.int(candidates.length)];
      const px = pixel % width;
      const py = (pixel - px) / width;
      x0 = containing(px, S, width, rng);
      y0 = containing(py, S, height, rng);
    } else {
      image = rng.int(this.images.length);
      x0 = rng.int(this.images[image].width - S + 1);
      y0 = rng.int(this.images[image].height - S + 1);
    }
    const symmetry = this.options.augment ? rng.int(8) : 0;
    const crop = cut(this.images[image], x0, y0, S, symmetry);
    const sigma = this.options.hedJitter ?? 0;
    return sigma > 0 ? { rgb: applyHedJitter(crop.rgb, drawHedJitter(sigma, rng)), mask: crop.mask } : crop;
  }
}

/** A uniform start in [p − S + 1, p] clamped to the image, so the crop covers p. */
function containing(p: number, S: number, n: number, rng: SeededRandom): number {
  const lo = Math.max(0, p - S + 1);
  const hi = Math.min(p, n - S);
  return lo + rng.int(hi - lo + 1);
}

/** Copies a crop out, applying one of the eight symmetries (bit 0 flip x, bit 1 flip y, bit 2 transpose). */
function cut(im: MaskedImage, x0: number, y0: number, S: number, symmetry: number): Crop {
  const rgb = new Uint8Array(S * S * 3);
  const mask = new Uint8Array(S * S);
  const flipX = (symmetry & 1) !== 0;
  const flipY = (symmetry & 2) !== 0;
  const transpose = (symmetry & 4) !== 0;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let u = transpose ? x : y;
      let v = transpose ? y : x;
      if (flipY) u = S - 1 - u;
      if (flipX) v = S - 1 - v;
      const src = (y0 + u) * im.width + (x0 + v);
      const dst = y * S + x;
      mask[dst] = im.mask[src];
      rgb[3 * dst] = im.rgb[3 * src];
      rgb[3 * dst + 1] = im.rgb[3 * src + 1];
      rgb[3 * dst + 2] = im.rgb[3 * src + 2];
    }
  }
  return { rgb, mask };
}
