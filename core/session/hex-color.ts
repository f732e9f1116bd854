/** 0…255 each, alpha included. */
export type Rgba = readonly [number, number, number, number];

/**
 * A hex colour (#rgb, #rgba, #rrggbb, #rrggbbaa) as RGBA bytes: the session's own colour parser
 * where no CSS engine is at hand (Node, tools). In a page the plugin gives the session the
 * browser's parser instead (plugin/layers/css-color.ts), which knows every CSS colour.
 */
export function parseHexColor(color: string): Rgba {
  const m = typeof color === 'string' ? /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(color.trim()) : null;
  if (!m) throw new RangeError(`${String(color)} is not a hex colour (#rgb, #rgba, #rrggbb or #rrggbbaa)`);
  const hex = m[1].length <= 4 ? [...m[1]].map((c) => c + c).join('') : m[1];
  const byte = (i: number) => (i < hex.length ? parseInt(hex.slice(i, i + 2), 16) : 255);
  return [byte(0), byte(2), byte(4), byte(6)];
}
