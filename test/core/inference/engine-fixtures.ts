/**
 * Test fixtures for the inference engine: an in-memory slide and a cheap per-patch model that
 * depends on both the pixels and their position inside the patch, so a patch cut from the wrong
 * place or stitched at the wrong offset changes the output.
 */
import type { PatchModel } from '../../../core/inference/patch-model.js';
import type { PixelSource, RegionRequest } from '../../../core/slide/pixel-source.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

export function memorySource(
  width: number,
  height: number,
  seed: number,
): PixelSource & { readonly pixels: Uint8Array; reads: number } {
  const random = new SeededRandom(seed);
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = random.int(256);
  const source = {
    name: `memory ${width}×${height}`,
    levels: [{ width, height, downsample: 1, tileWidth: 256, tileHeight: 256 }],
    pixels,
    reads: 0,
    async readRegion({ level, x, y, width: w, height: h, signal }: RegionRequest): Promise<Uint8Array> {
      signal?.throwIfAborted();
      if (level !== 0 || x < 0 || y < 0 || x + w > width || y + h > height)
        throw new RangeError(`read ${x},${y} ${w}×${h} leaves the ${width}×${height} image`);
      source.reads++;
      const out = new Uint8Array(w * h * 3);
      for (let row = 0; row < h; row++)
        out.set(pixels.subarray(((y + row) * width + x) * 3, ((y + row) * width + x + w) * 3), row * w * 3);
      return out;
    },
  };
  return source;
}

/** Position-dependent and content-dependent, in (0, 1). */
export const positionalModel: PatchModel = async (rgb, width, height) => {
  const out = new Float32Array(width * height);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const i = row * width + col;
      const z =
        (rgb[3 * i] - 1.3 * rgb[3 * i + 1] + 0.7 * rgb[3 * i + 2]) / 255 +
        Math.sin(col * 0.37) -
        Math.cos(row * 0.21) +
        rgb[0] / 300;
      out[i] = 1 / (1 + Math.exp(-z));
    }
  }
  return out;
};
