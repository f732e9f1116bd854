import type { Components } from './connected-components.js';

/** Step of each heading: 0 east, 1 south, 2 west, 3 north (y grows downwards). */
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];
// The two pixels ahead of a vertex reached heading d: ahead-left and ahead-right of the walker.
const AHEAD_LEFT_DX = [0, 0, -1, -1];
const AHEAD_LEFT_DY = [-1, 0, 0, -1];
const AHEAD_RIGHT_DX = [0, -1, -1, 0];
const AHEAD_RIGHT_DY = [0, 0, -1, -1];

let scratch = new Float64Array(4096);

/**
 * The outlines of every component: for label k, `rings[k - 1]` is its outer ring followed by
 * its holes. Each ring is flat [x0, y0, x1, y1, …] (first vertex not repeated), in pixel-corner
 * coordinates of the mask (pixel (x, y) covers [x, x + 1) × [y, y + 1)).
 *
 * The rings run through the midpoints of the pixel edges that separate a component from the
 * background (marching squares on the pixel centres, in effect): they cut each pixel corner
 * by a chord that passes no pixel centre, so rasterising a component's rings by pixel centre
 * gives back exactly its pixels, and — unlike outlines along the pixel edges — no ring touches
 * itself or another ring where two pixels meet only at a corner. Where a component is joined
 * through a corner (8-connectivity) the ring crosses through that corner as a neck of width
 * √2/2; with 4-connectivity the corner separates.
 *
 * Outer rings have positive signed area Σ (x_i·y_{i+1} − x_{i+1}·y_i) / 2 in these coordinates
 * (counter-clockwise when read with y up, as GeoJSON's right-hand rule asks; clockwise as seen
 * on screen); holes negative. Only vertices where the outline turns are kept.
 *
 * Linear in the pixels plus the outline length: one scan over the horizontal pixel edges, each
 * boundary edge walked once.
 */
export function traceRings(components: Components): Float64Array[][] {
  const { width, height, labels, count, connectivity } = components;
  const joinCorners = connectivity === 8;
  const rings: Float64Array[][] = Array.from({ length: count }, () => []);
  // One flag per horizontal pixel edge (width × (height + 1)): the scan starts a walk only on
  // edges no walk has used, and every ring has at least one horizontal edge.
  const walked = new Uint8Array(width * (height + 1));
  const on = (x: number, y: number): boolean =>
    x >= 0 && y >= 0 && x < width && y < height && labels[y * width + x] !== 0;

  for (let y = 0; y <= height; y++) {
    for (let x = 0; x < width; x++) {
      const above = y > 0 ? labels[(y - 1) * width + x] : 0;
      const below = y < height ? labels[y * width + x] : 0;
      if ((above !== 0) === (below !== 0) || walked[y * width + x] !== 0) continue;
      // The walker keeps the component on its left. The first edge the scan meets of an outer
      // ring has background above; of a hole, the component above.
      const ring = below !== 0 ? walk(x + 1, y, 2) : walk(x, y, 0);
      rings[(below !== 0 ? below : above) - 1].push(ring);
    }
  }
  return rings;

  function walk(startX: number, startY: number, startHeading: number): Float64Array {
    let n = 0;
    const push = (px: number, py: number): void => {
      if (n >= 2 && scratch[n - 2] === px && scratch[n - 1] === py) return;
      if (n + 2 > scratch.length) {
        const grown = new Float64Array(scratch.length * 2);
        grown.set(scratch);
        scratch = grown;
      }
      scratch[n++] = px;
      scratch[n++] = py;
    };
    let vx = startX;
    let vy = startY;
    let d = startHeading;
    do {
      if (d === 0) walked[vy * width + vx] = 1;
      else if (d === 2) walked[vy * width + vx - 1] = 1;
      vx += DX[d];
      vy += DY[d];
      const left = on(vx + AHEAD_LEFT_DX[d], vy + AHEAD_LEFT_DY[d]);
      const right = on(vx + AHEAD_RIGHT_DX[d], vy + AHEAD_RIGHT_DY[d]);
      let next: number;
      if (left && !right) next = d;
      else if (left && right) next = (d + 1) & 3;
      else if (!left && !right) next = (d + 3) & 3;
      // Component behind-left and ahead-right, background between: a corner-only contact.
      else next = joinCorners ? (d + 1) & 3 : (d + 3) & 3;
      if (next !== d) {
        push(vx - 0.5 * DX[d], vy - 0.5 * DY[d]);
        push(vx + 0.5 * DX[next], vy + 0.5 * DY[next]);
      }
      d = next;
    } while (vx !== startX || vy !== startY || d !== startHeading);
    if (n >= 4 && scratch[n - 2] === scratch[0] && scratch[n - 1] === scratch[1]) n -= 2;
    // Walked with the component on the left, y down: negative area; reversed, positive.
    const out = new Float64Array(n);
    for (let i = 0; i < n; i += 2) {
      out[i] = scratch[n - 2 - i];
      out[i + 1] = scratch[n - 1 - i];
    }
    return out;
  }
}
