import { fractalNoise, hash3, valueNoise } from './random.js';
import type { SlideSpec } from './spec.js';

// Salts that keep the independent noise fields uncorrelated.
export const SALT_STROMA_TEXTURE = 3;
export const SALT_SENSOR_NOISE = 4;
const SALT_HOLES = 11;
const SALT_EDGE = 12;
const SALT_GLAND_ZONE = 13;
const SALT_INFLAMMATION = 14;
const SALT_FIBRE_ANGLE = 15;
const SALT_STROMA = 16;
const SALT_STAIN_H = 17;
const SALT_STAIN_E = 18;
const SALT_STAIN_HUE = 19;
const SALT_OUTLINE = 10;

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

export function smoothstep(lo: number, hi: number, v: number): number {
  const t = clamp01((v - lo) / (hi - lo));
  return t * t * (3 - 2 * t);
}

/**
 * The slide's large-scale context, as smooth functions of absolute level-0 pixel
 * coordinates: where tissue is, which compartment a point belongs to, which way the
 * fibres run, and how strongly the stains took. Scales are in microns so a change of
 * mpp keeps the anatomy the same size.
 */
export class TissueFields {
  readonly pxPerUm: number;
  private readonly salts: number[];

  constructor(readonly spec: SlideSpec) {
    this.pxPerUm = 1 / spec.mpp;
    this.salts = [];
    for (let i = 0; i < 20; i++) this.salts.push(hash3(spec.seed, i, 0x5eed) | 0);
  }

  private scaled(salt: number, x: number, y: number, scaleUm: number): number {
    const s = 1 / (scaleUm * this.pxPerUm);
    return fractalNoise(this.salts[salt], x * s, y * s);
  }

  /**
   * Tissue opacity 0..1: 0 on glass. The section is a rounded blob with a wavy outline
   * that fills most of the slide, with ragged edges, tears and fat-like holes.
   */
  tissue(x: number, y: number): number {
    return this.outline(x, y) * this.solid(this.holeField(x, y));
  }

  /** Smooth input of the tears and holes; `solid` thresholds it (split so it can be interpolated). */
  holeField(x: number, y: number): number {
    const ragged = valueNoise(this.salts[SALT_EDGE], x / (30 * this.pxPerUm), y / (30 * this.pxPerUm)) - 0.5;
    return this.scaled(SALT_HOLES, x, y, 220) + ragged * 0.05;
  }

  solid(holeField: number): number {
    return clamp01((holeField - 0.12) * 120 + 0.5);
  }

  /** The tissue outline alone (no holes), 0..1. */
  outline(x: number, y: number): number {
    const ragged = valueNoise(this.salts[SALT_EDGE], x / (30 * this.pxPerUm), y / (30 * this.pxPerUm)) - 0.5;
    const { width, height } = this.spec;
    const rx = Math.abs(x - width / 2) / (width / 2);
    const ry = Math.abs(y - height / 2) / (height / 2);
    // A superellipse: squarish with rounded corners, like a section on a slide.
    const d = Math.cbrt(rx * rx * rx + ry * ry * ry);
    const outline = Math.min(
      0.93,
      0.84 + 0.22 * (valueNoise(this.salts[SALT_OUTLINE], (3 * x) / width, (3 * y) / height) - 0.5) + 0.03 * ragged,
    );
    return clamp01(((outline - d) * Math.min(width, height)) / 6 + 0.5);
  }

  /** 0..1, high where colonic glands crowd together. */
  glandZone(x: number, y: number): number {
    return this.scaled(SALT_GLAND_ZONE, x, y, 260);
  }

  /** 0..1, high in lymphoid aggregates; plasma cells prefer the middle of the range. */
  inflammation(x: number, y: number): number {
    return this.scaled(SALT_INFLAMMATION, x, y, 110);
  }

  /** Local collagen direction in radians; spindle nuclei align with it. */
  fibreAngle(x: number, y: number): number {
    return (this.scaled(SALT_FIBRE_ANGLE, x, y, 220) - 0.5) * 1.3 * Math.PI;
  }

  /** 0..1 stroma density (loose vs dense collagen). */
  stromaDensity(x: number, y: number): number {
    return this.scaled(SALT_STROMA, x, y, 45);
  }

  /** Multipliers for haematoxylin and eosin uptake, and eosin hue (0 pink .. 1 purple). */
  stainH(x: number, y: number): number {
    return 0.78 + 0.44 * this.scaled(SALT_STAIN_H, x, y, 500);
  }

  stainE(x: number, y: number): number {
    return 0.75 + 0.5 * this.scaled(SALT_STAIN_E, x, y, 600);
  }

  stainHue(x: number, y: number): number {
    return this.scaled(SALT_STAIN_HUE, x, y, 700);
  }

  salt(i: number): number {
    return this.salts[i];
  }
}
