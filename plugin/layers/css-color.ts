/** 0…255 each, alpha included. */
export type Rgba = readonly [number, number, number, number];

const parsed = new Map<string, Rgba>();
let probe: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | undefined;

/**
 * Any CSS colour (names, hex, rgb(), hsl(), …) as RGBA bytes, by letting the browser paint it:
 * the browser's parser is the one the colour will be shown with. Throws on what is not a colour.
 */
export function parseColor(color: string): Rgba {
  const known = parsed.get(color);
  if (known) return known;
  if (typeof color !== 'string' || !CSS.supports('color', color))
    throw new RangeError(`${String(color)} is not a CSS colour`);
  if (!probe) {
    probe =
      typeof OffscreenCanvas === 'function'
        ? new OffscreenCanvas(1, 1).getContext('2d', { willReadFrequently: true })!
        : document.createElement('canvas').getContext('2d', { willReadFrequently: true })!;
  }
  probe.clearRect(0, 0, 1, 1);
  probe.fillStyle = color;
  probe.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data;
  const rgba: Rgba = [r, g, b, a];
  parsed.set(color, rgba);
  return rgba;
}
