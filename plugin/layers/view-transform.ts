import type OpenSeadragon from 'openseadragon';

/**
 * An affine map as CanvasRenderingContext2D.setTransform takes it:
 * x' = a·x + c·y + e, y' = b·x + d·y + f.
 */
export interface Affine {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly e: number;
  readonly f: number;
}

/** The slide the overlays belong to: the world's first item, when one is open. */
export function slideItem(viewer: OpenSeadragon.Viewer): OpenSeadragon.TiledImage | undefined {
  return viewer.world && viewer.world.getItemCount() > 0 ? viewer.world.getItemAt(0) : undefined;
}

/**
 * The map from the item's image pixels (level 0 of the slide, whatever the tile source) to CSS
 * pixels of the viewer element, as OpenSeadragon draws the current (animated) frame.
 *
 * Built from three points pushed through OpenSeadragon's own conversions, so zoom, pan, the
 * viewport's and the item's rotation and the item's placement in the world all come in one go.
 * Two things those conversions leave out and the drawers apply are added here: the viewport's
 * flip mirrors the whole drawing about the container's vertical centre line, and an item's own
 * flip mirrors the image within its bounds.
 */
export function imageToElement(viewer: OpenSeadragon.Viewer, item: OpenSeadragon.TiledImage): Affine {
  const viewport = viewer.viewport;
  const size = item.getContentSize();
  // Spanning the whole image keeps the differences below well clear of rounding.
  const w = size.x > 0 ? size.x : 1;
  const h = size.y > 0 ? size.y : 1;
  const itemFlipped = item.getFlip();
  const viewFlipped = viewport.getFlip();
  const containerWidth = viewport.getContainerSize().x;
  const at = (x: number, y: number): [number, number] => {
    const p = viewport.pixelFromPoint(item.imageToViewportCoordinates(itemFlipped ? size.x - x : x, y, true), true);
    return [viewFlipped ? containerWidth - p.x : p.x, p.y];
  };
  const [x0, y0] = at(0, 0);
  const [x1, y1] = at(w, 0);
  const [x2, y2] = at(0, h);
  return { a: (x1 - x0) / w, b: (y1 - y0) / w, c: (x2 - x0) / h, d: (y2 - y0) / h, e: x0, f: y0 };
}

/** `outer ∘ inner`: first inner, then outer. */
export function compose(outer: Affine, inner: Affine): Affine {
  return {
    a: outer.a * inner.a + outer.c * inner.b,
    b: outer.b * inner.a + outer.d * inner.b,
    c: outer.a * inner.c + outer.c * inner.d,
    d: outer.b * inner.c + outer.d * inner.d,
    e: outer.a * inner.e + outer.c * inner.f + outer.e,
    f: outer.b * inner.e + outer.d * inner.f + outer.f,
  };
}

/**
 * `t` applied after a translation by (x, y) and a scale (sx, sy): what to hand setTransform to
 * draw something in its own local units. Composed here in float64 so that canvases, whose
 * geometry is float32, never see level-0 coordinates of a large slide (tens of thousands of
 * pixels times the zoom, less the pan: float32 would lose a sizeable part of a pixel).
 */
export function local(t: Affine, x: number, y: number, sx = 1, sy = 1): Affine {
  return { a: t.a * sx, b: t.b * sx, c: t.c * sy, d: t.d * sy, e: t.a * x + t.c * y + t.e, f: t.b * x + t.d * y + t.f };
}

export function invert(t: Affine): Affine {
  const det = t.a * t.d - t.b * t.c;
  if (det === 0 || !Number.isFinite(det)) throw new RangeError('the view transform is singular');
  return {
    a: t.d / det,
    b: -t.b / det,
    c: -t.c / det,
    d: t.a / det,
    e: (t.c * t.f - t.d * t.e) / det,
    f: (t.b * t.e - t.a * t.f) / det,
  };
}

export function apply(t: Affine, x: number, y: number): [number, number] {
  return [t.a * x + t.c * y + t.e, t.b * x + t.d * y + t.f];
}

/** How many target units one source unit becomes (the map is a similarity: rotation, flip, zoom). */
export function scaleOf(t: Affine): number {
  return Math.sqrt(Math.abs(t.a * t.d - t.b * t.c));
}

/**
 * The rectangle [0, width] × [0, height] of a target (a canvas, the viewer element) in source
 * coordinates, through the inverse of `t`: a parallelogram, corners in order, x0 y0 x1 y1 …
 */
export function viewQuad(t: Affine, width: number, height: number): Float64Array {
  const inv = invert(t);
  const q = new Float64Array(8);
  const corners = [0, 0, width, 0, width, height, 0, height];
  for (let i = 0; i < 8; i += 2) {
    const [x, y] = apply(inv, corners[i], corners[i + 1]);
    q[i] = x;
    q[i + 1] = y;
  }
  return q;
}

/**
 * Whether the box [minX, maxX] × [minY, maxY] and the convex quad overlap (touching counts):
 * separating axes — the box's two and the quad's edge normals.
 */
export function boxMeetsQuad(minX: number, minY: number, maxX: number, maxY: number, q: Float64Array): boolean {
  let qMinX = Infinity,
    qMaxX = -Infinity,
    qMinY = Infinity,
    qMaxY = -Infinity;
  for (let i = 0; i < 8; i += 2) {
    if (q[i] < qMinX) qMinX = q[i];
    if (q[i] > qMaxX) qMaxX = q[i];
    if (q[i + 1] < qMinY) qMinY = q[i + 1];
    if (q[i + 1] > qMaxY) qMaxY = q[i + 1];
  }
  if (qMinX > maxX || qMaxX < minX || qMinY > maxY || qMaxY < minY) return false;
  const cx = (minX + maxX) / 2,
    cy = (minY + maxY) / 2;
  const hw = (maxX - minX) / 2,
    hh = (maxY - minY) / 2;
  for (let i = 0; i < 8; i += 2) {
    const j = (i + 2) % 8;
    const nx = -(q[j + 1] - q[i + 1]);
    const ny = q[j] - q[i];
    let lo = Infinity,
      hi = -Infinity;
    for (let k = 0; k < 8; k += 2) {
      const p = q[k] * nx + q[k + 1] * ny;
      if (p < lo) lo = p;
      if (p > hi) hi = p;
    }
    const centre = cx * nx + cy * ny;
    const radius = hw * Math.abs(nx) + hh * Math.abs(ny);
    if (centre - radius > hi || centre + radius < lo) return false;
  }
  return true;
}

/** Whether the whole box lies inside the convex quad. */
export function boxInsideQuad(minX: number, minY: number, maxX: number, maxY: number, q: Float64Array): boolean {
  return (
    pointInQuad(minX, minY, q) && pointInQuad(maxX, minY, q) && pointInQuad(maxX, maxY, q) && pointInQuad(minX, maxY, q)
  );
}

/** Inside or on the boundary of a convex quad of either orientation (a flip reverses it). */
export function pointInQuad(x: number, y: number, q: Float64Array): boolean {
  let sign = 0;
  for (let i = 0; i < 8; i += 2) {
    const j = (i + 2) % 8;
    const cross = (q[j] - q[i]) * (y - q[i + 1]) - (q[j + 1] - q[i + 1]) * (x - q[i]);
    if (cross === 0) continue;
    const s = cross > 0 ? 1 : -1;
    if (sign === 0) sign = s;
    else if (s !== sign) return false;
  }
  return true;
}

/** The six numbers in setTransform's order. */
export function args(t: Affine): [number, number, number, number, number, number] {
  return [t.a, t.b, t.c, t.d, t.e, t.f];
}

/**
 * A canvas click's position (OpenSeadragon's event.position, viewer element CSS pixels) in the
 * item's level-0 pixels, or NaNs with no slide open. OpenSeadragon 6 mirrors a click's position
 * (only a click's) before raising it when the viewport is flipped; imageToElement already holds
 * the flip, so that is undone first.
 */
export function clickToLevel0(
  viewer: OpenSeadragon.Viewer,
  position: { readonly x: number; readonly y: number },
  itemOf: (viewer: OpenSeadragon.Viewer) => OpenSeadragon.TiledImage | undefined = slideItem,
): [number, number] {
  const item = itemOf(viewer);
  if (!item) return [NaN, NaN];
  const x = viewer.viewport.getFlip() ? viewer.viewport.getContainerSize().x - position.x : position.x;
  return apply(invert(imageToElement(viewer, item)), x, position.y);
}
