// The drawable things of the synthetic tissue. Positions and sizes are in level-0 pixels.

/** A nucleus: an ellipse (optionally bent) with class-specific chromatin. */
export interface Nucleus {
  cls: number;
  x: number;
  y: number;
  /** Semi-axis along `angle` and across it. */
  a: number;
  b: number;
  angle: number;
  /** Banana-shaped bending of spindle nuclei; 0 for round ones. */
  bend: number;
  /** Haematoxylin optical density scale of this nucleus (per-nucleus stain jitter). */
  density: number;
  /** Eosin density inside the nucleus; varies the hue per nucleus. */
  eosin: number;
  salt: number;
  /** Dark chromatin spots in nucleus-local coordinates, as flat (u, v, radius) triples. */
  spots: number[];
  /** Visible cytoplasm painted under the nucleus (plasma cells), or null. */
  cytoplasm: Cytoplasm | null;
}

export interface Cytoplasm {
  x: number;
  y: number;
  a: number;
  b: number;
  angle: number;
  h: number;
  e: number;
}

/** A gland: a lumen surrounded by a ring of epithelium, slightly elliptical. */
export interface Gland {
  x: number;
  y: number;
  lumen: number;
  thickness: number;
  /** Ellipticity: radii are scaled by (1 + stretch) and (1 - stretch). */
  stretch: number;
  angle: number;
  salt: number;
}

/** A small blood vessel cut across, with red cells as flat (x, y, radius) triples. */
export interface Vessel {
  x: number;
  y: number;
  radius: number;
  stretch: number;
  angle: number;
  wall: number;
  salt: number;
  redCells: number[];
}

/** A wavy collagen fibre: a polyline with a soft profile. */
export interface Fibre {
  points: number[];
  halfWidth: number;
  amount: number;
}

/** Farthest any part of a gland (outline wobble included) reaches from its centre. */
export function glandReach(g: Gland): number {
  return (g.lumen + g.thickness) * (1 + g.stretch) * 1.06 + 2;
}

/**
 * Grid cells whose objects may touch [x0, x1) × [y0, y1), given the cell size and how
 * far an object can reach beyond its own cell. Row-major order keeps drawing order global.
 */
export function* cellsAround(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  cell: number,
  reach: number,
): Generator<[number, number]> {
  // Two more pixels cover the rounding of paint boxes to whole pixels.
  reach += 2;
  const cx0 = Math.floor((x0 - reach) / cell);
  const cx1 = Math.floor((x1 + reach) / cell);
  const cy0 = Math.floor((y0 - reach) / cell);
  const cy1 = Math.floor((y1 + reach) / cell);
  for (let cy = cy0; cy <= cy1; cy++) for (let cx = cx0; cx <= cx1; cx++) yield [cx, cy];
}
