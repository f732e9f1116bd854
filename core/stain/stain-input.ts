import type { ExtractorBundle } from '../msd/bundle.js';
import type { PixelSource } from '../slide/pixel-source.js';
import { estimateSlideStain } from './slide-stain.js';
import { stainNormalisedSource, stainTransform } from './stain-normaliser.js';
import type { StainMethod } from './stain-stats.js';

/**
 * A worker's input stain normalisation: per slide view, the slide's stain estimated once
 * (core/stain/slide-stain.ts) and every read of the view brought to the bundle's training stain.
 * Every worker estimates it itself from the same sample, so all compute the same pixels.
 */
export interface StainInput {
  /** `pixels` normalised; `key` names the slide view (one estimate each). */
  source(
    key: string,
    slide: PixelSource,
    pixels: { source: PixelSource; level: number },
    signal: AbortSignal,
  ): Promise<PixelSource>;
  forget(slideId: number): void;
}

/** The normalisation `method` asks for with this bundle, or why there is none (a warning for the user). */
export function stainInput(method: StainMethod, bundle: ExtractorBundle): { input?: StainInput; warning?: string } {
  if (method === 'none') return {};
  const target = bundle.stain;
  if (!target)
    return {
      warning:
        `stain normalisation '${method}' is off: the bundle has no stain statistics ` +
        '(add them with `npm run stain-stats`)',
    };
  const views = new Map<string, Promise<PixelSource>>();
  return {
    input: {
      source(key, slide, pixels, signal) {
        let view = views.get(key);
        if (!view) {
          view = (async () => {
            const own = await estimateSlideStain(slide, pixels.source, { level: pixels.level, signal });
            // Too little tissue in the sample to say what its stain is: the pixels as they are.
            const transform = own && stainTransform(method, own, target);
            return transform ? stainNormalisedSource(pixels.source, transform) : pixels.source;
          })();
          views.set(key, view);
          // An aborted or failed estimate is not kept: the next request estimates again.
          view.catch(() => views.get(key) === view && views.delete(key));
        }
        return view;
      },
      forget(slideId) {
        for (const key of [...views.keys()]) if (key.startsWith(`${slideId}/`)) views.delete(key);
      },
    },
  };
}
