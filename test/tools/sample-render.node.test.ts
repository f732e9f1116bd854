import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_COUNT, NUCLEUS_CLASSES, renderRegion, type SlideSpec } from '../../tools/sample/index.js';

const SPEC: SlideSpec = { seed: 11, width: 8192, height: 8192, mpp: 0.5 };

/** Copies a sub-rectangle out of an interleaved raster. */
function crop(
  data: Uint8Array,
  width: number,
  channels: number,
  x: number,
  y: number,
  w: number,
  h: number,
): Uint8Array {
  const out = new Uint8Array(w * h * channels);
  for (let j = 0; j < h; j++)
    out.set(data.subarray(((y + j) * width + x) * channels, ((y + j) * width + x + w) * channels), j * w * channels);
  return out;
}

interface Component {
  cls: number;
  area: number;
  /** Ratio of the principal axes (1 = round). */
  elongation: number;
  meanRgb: number[];
}

/** 4-connected components of each class in a label map. */
function components(labels: Uint8Array, rgb: Uint8Array, width: number, height: number): Component[] {
  const seen = new Uint8Array(labels.length);
  const out: Component[] = [];
  for (let start = 0; start < labels.length; start++) {
    const cls = labels[start];
    if (!cls || seen[start]) continue;
    const stack = [start];
    seen[start] = 1;
    let area = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    const sum = [0, 0, 0];
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      area++;
      sx += x;
      sy += y;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
      for (let c = 0; c < 3; c++) sum[c] += rgb[p * 3 + c];
      const next = [
        x > 0 ? p - 1 : -1,
        x < width - 1 ? p + 1 : -1,
        y > 0 ? p - width : -1,
        y < height - 1 ? p + width : -1,
      ];
      for (const q of next) {
        if (q >= 0 && !seen[q] && labels[q] === cls) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    const mx = sx / area;
    const my = sy / area;
    const cxx = sxx / area - mx * mx;
    const cyy = syy / area - my * my;
    const cxy = sxy / area - mx * my;
    const half = (cxx + cyy) / 2;
    const d = Math.sqrt(Math.max(0, half * half - (cxx * cyy - cxy * cxy)));
    out.push({
      cls,
      area,
      elongation: Math.sqrt((half + d) / Math.max(1e-9, half - d)),
      meanRgb: sum.map((s) => s / area),
    });
  }
  return out;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function nearestMean(rgb: number[], means: number[][]): number {
  let best = 0;
  let bestDistance = Infinity;
  means.forEach((m, i) => {
    const d = (rgb[0] - m[0]) ** 2 + (rgb[1] - m[1]) ** 2 + (rgb[2] - m[2]) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  });
  return best;
}

describe('synthetic H&E renderer', () => {
  it('is deterministic for a seed and changes with the seed', () => {
    const a = renderRegion(SPEC, 4000, 4100, 200, 150);
    const b = renderRegion(SPEC, 4000, 4100, 200, 150);
    assert.deepEqual(a.rgb, b.rgb);
    assert.deepEqual(a.labels, b.labels);
    const other = renderRegion({ ...SPEC, seed: SPEC.seed + 1 }, 4000, 4100, 200, 150);
    let differing = 0;
    for (let i = 0; i < a.rgb.length; i++) if (a.rgb[i] !== other.rgb[i]) differing++;
    assert.ok(differing > a.rgb.length / 2, `only ${differing} of ${a.rgb.length} samples differ between seeds`);
  });

  it('renders any region exactly as the same crop of a larger render', () => {
    const [X, Y, W, H] = [1000, 1000, 640, 480];
    const big = renderRegion(SPEC, X, Y, W, H);
    for (const [x, y, w, h] of [
      [1137, 1051, 301, 257],
      [1500, 1300, 140, 180],
      [1000, 1479, 640, 1],
      [1639, 1000, 1, 1],
    ]) {
      const part = renderRegion(SPEC, x, y, w, h);
      assert.deepEqual(part.rgb, crop(big.rgb, W, 3, x - X, y - Y, w, h), `rgb of ${w}×${h} at ${x},${y}`);
      assert.deepEqual(part.labels, crop(big.labels, W, 1, x - X, y - Y, w, h), `labels of ${w}×${h} at ${x},${y}`);
    }
  });

  it('matches crops at the slide edge too', () => {
    const small: SlideSpec = { seed: 3, width: 700, height: 600, mpp: 0.5 };
    const whole = renderRegion(small, 0, 0, 700, 600);
    const corner = renderRegion(small, 650, 550, 50, 50);
    assert.deepEqual(corner.rgb, crop(whole.rgb, 700, 3, 650, 550, 50, 50));
    // Glass around the tissue: the outermost rows are near-white and unlabelled.
    const row0 = whole.rgb.subarray(0, 700 * 3);
    assert.ok(Math.min(...row0) > 200, 'the slide margin is glass');
    assert.ok(whole.labels.subarray(0, 700).every((l) => l === 0));
  });

  describe('on a 1024² region', () => {
    const W = 1024;
    const H = 1024;
    const { rgb, labels } = renderRegion(SPEC, 3000, 3000, W, H);
    const comps = components(labels, rgb, W, H);
    const umPerPx2 = SPEC.mpp * SPEC.mpp;

    it('has every class with a plausible share of pixels, and some glass or lumen', () => {
      const counts = new Array<number>(CLASS_COUNT).fill(0);
      for (const l of labels) counts[l]++;
      const share = counts.map((c) => c / labels.length);
      for (const c of NUCLEUS_CLASSES)
        assert.ok(share[c.id] > 0.005 && share[c.id] < 0.15, `${c.name}: ${(share[c.id] * 100).toFixed(2)} %`);
      const nuclear = 1 - share[0];
      assert.ok(nuclear > 0.05 && nuclear < 0.35, `nuclear share ${(nuclear * 100).toFixed(1)} %`);
      let white = 0;
      for (let k = 0; k < W * H; k++) if (rgb[3 * k] > 215 && rgb[3 * k + 1] > 205 && rgb[3 * k + 2] > 215) white++;
      assert.ok(white / (W * H) > 0.01, `white share ${((white / (W * H)) * 100).toFixed(2)} %`);
    });

    it('gives classes the sizes and shapes of real nuclei', () => {
      const byClass = (id: number) => comps.filter((c) => c.cls === id);
      const [epi, lym, spindle, plasma] = [1, 2, 3, 4].map(byClass);
      for (const list of [epi, lym, spindle, plasma])
        assert.ok(list.length >= 10, `only ${list.length} nuclei of a class`);
      const area = (list: Component[]) => median(list.map((c) => c.area)) * umPerPx2;
      const shape = (list: Component[]) => median(list.map((c) => c.elongation));
      // Lymphocytes ~6.5 µm across: π·3.25² ≈ 33 µm²; epithelial ~9×13 µm: ≈ 92 µm².
      assert.ok(area(lym) > 20 && area(lym) < 50, `lymphocyte median ${area(lym).toFixed(1)} µm²`);
      assert.ok(area(plasma) > 18 && area(plasma) < 45, `plasma median ${area(plasma).toFixed(1)} µm²`);
      assert.ok(
        area(epi) > 1.8 * area(lym),
        `epithelial ${area(epi).toFixed(1)} vs lymphocyte ${area(lym).toFixed(1)} µm²`,
      );
      assert.ok(shape(spindle) > 2.5, `spindle elongation ${shape(spindle).toFixed(2)}`);
      assert.ok(shape(lym) < 1.4 && shape(plasma) < 1.4, 'lymphocytes and plasma nuclei are round');
      assert.ok(shape(epi) > shape(lym), 'epithelial nuclei are oval');
    });

    it('does not let mean colour alone separate the classes', () => {
      // Nearest class-mean colour, per pixel and per nucleus. Measured on this region:
      // ≈ 0.50 per pixel and ≈ 0.50 balanced per nucleus (chance is 0.25).
      const sums = Array.from({ length: CLASS_COUNT }, () => [0, 0, 0, 0]);
      for (let k = 0; k < labels.length; k++) {
        const s = sums[labels[k]];
        for (let c = 0; c < 3; c++) s[c] += rgb[k * 3 + c];
        s[3]++;
      }
      const means = sums.slice(1).map((s) => [s[0] / s[3], s[1] / s[3], s[2] / s[3]]);
      let right = 0;
      let total = 0;
      for (let k = 0; k < labels.length; k++) {
        if (!labels[k]) continue;
        total++;
        if (nearestMean([rgb[k * 3], rgb[k * 3 + 1], rgb[k * 3 + 2]], means) + 1 === labels[k]) right++;
      }
      const pixelAccuracy = right / total;
      assert.ok(pixelAccuracy < 0.62, `per-pixel nearest-mean accuracy ${pixelAccuracy.toFixed(3)}`);

      const recall = [1, 2, 3, 4].map((id) => {
        const mine = comps.filter((c) => c.cls === id);
        return mine.filter((c) => nearestMean(c.meanRgb, means) + 1 === id).length / mine.length;
      });
      const balanced = recall.reduce((a, b) => a + b, 0) / recall.length;
      assert.ok(balanced < 0.7, `per-nucleus balanced accuracy ${balanced.toFixed(3)}`);
    });
  });
});
