import type { GeoTIFFImage } from 'geotiff';

type Mpp = { x: number; y: number };

// Anything outside this range is a default written by software that did not know the scale
// (72 dpi reads as 352 µm/px), not a microscope's resolution.
const plausible = (v: number) => Number.isFinite(v) && v > 0.01 && v < 50;

/** Aperio's "MPP = 0.4990" or OME-XML's PhysicalSizeX/Y. */
export function mppFromDescription(description: string): Mpp | undefined {
  const aperio = /\bMPP\s*=\s*([\d.]+)/.exec(description);
  if (aperio && plausible(Number(aperio[1]))) return { x: Number(aperio[1]), y: Number(aperio[1]) };
  if (!description.includes('<OME')) return undefined;
  const size = (axis: 'X' | 'Y') => {
    const value = new RegExp(`PhysicalSize${axis}="([^"]+)"`).exec(description);
    if (!value) return undefined;
    const unit = new RegExp(`PhysicalSize${axis}Unit="([^"]+)"`).exec(description)?.[1] ?? 'µm';
    return Number(value[1]) * micronsPer(unit);
  };
  const x = size('X');
  const y = size('Y') ?? x;
  return x !== undefined && y !== undefined && plausible(x) && plausible(y) ? { x, y } : undefined;
}

/**
 * Microns in one OME length unit. The description may have reached us as Latin-1 bytes of
 * UTF-8 ("Âµm"), so micrometres are recognised by their ending.
 */
function micronsPer(unit: string): number {
  // Any non-ASCII character before 'm' (µ, or the mis-decoded UTF-8 of µ) means micrometres; the range
  // names ASCII by its bounds, control characters included.
  // eslint-disable-next-line no-control-regex
  if (/^(.*[^\x00-\x7f]|u)m$/.test(unit)) return 1;
  const scale: Record<string, number> = { nm: 1e-3, mm: 1e3, cm: 1e4, m: 1e6, Å: 1e-4 };
  return scale[unit] ?? Number.NaN;
}

/** XResolution/YResolution in pixels per inch (unit 2) or per centimetre (unit 3). */
export async function mppFromResolutionTags(image: GeoTIFFImage): Promise<Mpp | undefined> {
  const dir = image.fileDirectory;
  const unit = Number((await dir.loadValue('ResolutionUnit')) ?? 2);
  const micronsPerUnit = unit === 2 ? 25400 : unit === 3 ? 10000 : undefined;
  if (micronsPerUnit === undefined) return undefined;
  const xres = rational(await dir.loadValue('XResolution'));
  const yres = rational(await dir.loadValue('YResolution')) ?? xres;
  if (!xres || !yres) return undefined;
  const x = micronsPerUnit / xres;
  const y = micronsPerUnit / yres;
  return plausible(x) && plausible(y) ? { x, y } : undefined;
}

function rational(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'length' in value) {
    const [num, den] = Array.from(value as ArrayLike<number>);
    return den ? num / den : num;
  }
  return undefined;
}
