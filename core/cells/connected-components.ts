/**
 * Which neighbours join foreground pixels into one component: 8 (edges and corners; what cells
 * touching only at a corner need to stay one object) or 4 (edges only). Background regions are
 * then connected the other way, which is what makes holes and outlines well defined.
 */
export type Connectivity = 4 | 8;

export interface Components {
  readonly width: number;
  readonly height: number;
  readonly connectivity: Connectivity;
  /**
   * Per pixel, row-major: 0 for background, else the component's number 1…count, numbered in
   * the raster order of each component's first (top-most, then left-most) pixel.
   */
  readonly labels: Int32Array;
  readonly count: number;
  /** Pixels per component, indexed by label (entry 0 unused). */
  readonly areas: Int32Array;
}

/**
 * Connected components of a binary mask (non-zero = foreground): two raster passes with
 * union-find over provisional labels, so time and memory are linear in the pixels whatever the
 * shapes (no recursion, no per-component flood).
 */
export function labelComponents(
  mask: Uint8Array,
  width: number,
  height: number,
  connectivity: Connectivity = 8,
): Components {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0)
    throw new RangeError(`mask size ${width}×${height} is not a pair of non-negative integers`);
  if (mask.length !== width * height)
    throw new RangeError(`mask has ${mask.length} pixels, ${width}×${height} needs ${width * height}`);
  if (connectivity !== 4 && connectivity !== 8) throw new RangeError(`connectivity is ${connectivity}; it is 4 or 8`);
  const labels = new Int32Array(width * height);
  let parent = new Int32Array(1024);
  let next = 1;

  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  // The smaller label stays the root, so roots are the provisional labels met first.
  const union = (a: number, b: number): number => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return ra;
    if (ra < rb) {
      parent[rb] = ra;
      return ra;
    }
    parent[ra] = rb;
    return rb;
  };

  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const i = row + x;
      if (mask[i] === 0) continue;
      let label = x > 0 ? labels[i - 1] : 0;
      if (y > 0) {
        const up = i - width;
        if (labels[up] !== 0) {
          // With 8-connectivity the pixel above already shares a component with the west,
          // north-west and north-east neighbours whenever they are foreground.
          label = label === 0 || connectivity === 8 ? labels[up] : union(label, labels[up]);
        } else if (connectivity === 8) {
          if (label === 0 && x > 0 && labels[up - 1] !== 0) label = labels[up - 1];
          if (x + 1 < width && labels[up + 1] !== 0)
            label = label === 0 ? labels[up + 1] : union(label, labels[up + 1]);
        }
      }
      if (label === 0) {
        if (next === parent.length) {
          const grown = new Int32Array(parent.length * 2);
          grown.set(parent);
          parent = grown;
        }
        parent[next] = next;
        label = next++;
      }
      labels[i] = label;
    }
  }

  // Final numbers in the order roots are first met, i.e. by each component's first pixel.
  const final = new Int32Array(next);
  let count = 0;
  for (let p = 1; p < next; p++) {
    const root = find(p);
    if (root === p) final[p] = ++count;
  }
  for (let p = 1; p < next; p++) final[p] = final[find(p)];
  const areas = new Int32Array(count + 1);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === 0) continue;
    const f = final[l];
    labels[i] = f;
    areas[f]++;
  }
  return { width, height, connectivity, labels, count, areas };
}

/** Each label's bounding box (inclusive pixel bounds; x1 < 0 for a label with no pixel), from one scan. */
export function labelBoxes(labels: Int32Array, width: number, height: number, count: number) {
  const x0 = new Int32Array(count + 1).fill(width);
  const y0 = new Int32Array(count + 1).fill(height);
  const x1 = new Int32Array(count + 1).fill(-1);
  const y1 = new Int32Array(count + 1).fill(-1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const l = labels[y * width + x];
      if (l === 0) continue;
      if (x < x0[l]) x0[l] = x;
      if (x > x1[l]) x1[l] = x;
      if (y < y0[l]) y0[l] = y;
      if (y > y1[l]) y1[l] = y;
    }
  }
  return { x0, y0, x1, y1 };
}
