import type OpenSeadragon from 'openseadragon';
import {
  LABEL_IGNORE,
  type SupportSetChange,
  type SupportSetPatch,
  type SupportSetStore,
} from '../../core/support-set/support-set.js';
import { parseColor } from '../layers/css-color.js';
import { createOverlayCanvas, type OverlayCanvas } from '../layers/overlay-canvas.js';
import type { SupportTools } from './support-tools.js';
import { apply, args, local } from '../layers/view-transform.js';

/**
 * The support set drawn over the slide: each patch's box (the selected one highlighted), its
 * painted class pixels in the class colour, ignored ones hatched grey, and the polygon being
 * drawn; with several classes (support-classes.ts) each class's pixels in its own colour, with one
 * the layer's colour (the session's, setColor). Each patch's labels live in a small canvas
 * repainted only on the rows an edit changed, so painting stays smooth however many patches there are.
 */

export interface SupportLayer {
  readonly canvas: HTMLCanvasElement;
  visible: boolean;
  setColor(color: string): void;
  destroy(): void;
}

export function createSupportLayer(
  viewer: OpenSeadragon.Viewer,
  store: SupportSetStore,
  tools: SupportTools,
  options: { readonly color?: string } = {},
): SupportLayer {
  let rgb = parseColor(options.color ?? '#00e676');
  const images = new Map<string, HTMLCanvasElement>();
  /** A class's colour; the layer's own for one that is not a colour (the store takes any text). */
  const colourOf = (color: string) => {
    try {
      return parseColor(color);
    } catch {
      return rgb;
    }
  };

  const paint = (patch: SupportSetPatch, rows?: readonly [number, number]) => {
    const size = store.patchSize;
    let canvas = images.get(patch.id);
    if (!canvas) {
      canvas = document.createElement('canvas');
      canvas.width = canvas.height = size;
      images.set(patch.id, canvas);
      rows = undefined;
    }
    const [first, last] = rows ?? [0, size - 1];
    const data = new ImageData(size, last - first + 1);
    const px = new Uint32Array(data.data.buffer);
    // Little-endian RGBA as one word, per label 1…n.
    const word = (c: readonly number[]) => ((0x99 << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0;
    const classes = store.classes;
    const palette = [0, ...(classes.length === 1 ? [word(rgb)] : classes.map((c) => word(colourOf(c.color))))];
    for (let y = first; y <= last; y++) {
      for (let x = 0; x < size; x++) {
        const label = patch.mask[y * size + x];
        const o = (y - first) * size + x;
        if (label !== 0 && label < palette.length) px[o] = palette[label];
        else if (label === LABEL_IGNORE) px[o] = ((x + y) & 4) === 0 ? 0xb0808080 : 0x60404040;
      }
    }
    canvas.getContext('2d')!.putImageData(data, 0, first);
  };

  const overlay: OverlayCanvas = createOverlayCanvas(
    viewer,
    ({ ctx, toCanvas, pixelRatio }) => {
      ctx.imageSmoothingEnabled = false;
      for (const patch of store.patches) {
        let image = images.get(patch.id);
        if (!image) {
          paint(patch);
          image = images.get(patch.id)!;
        }
        const t = local(toCanvas, patch.x, patch.y, patch.scale, patch.scale);
        ctx.setTransform(...args(t));
        ctx.drawImage(image, 0, 0);
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        // Outlines in device pixels, so they stay thin at every zoom.
        const corner = (x: number, y: number) => apply(t, x, y);
        const s = store.patchSize;
        const selected = patch.id === store.selectedId;
        ctx.beginPath();
        [corner(0, 0), corner(s, 0), corner(s, s), corner(0, s)].forEach(([x, y], i) =>
          i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y),
        );
        ctx.closePath();
        ctx.lineWidth = (selected ? 3 : 1.5) * pixelRatio;
        ctx.strokeStyle = selected ? '#ffffff' : 'rgba(255,255,255,0.7)';
        ctx.setLineDash(selected ? [] : [6 * pixelRatio, 4 * pixelRatio]);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      const draft = tools.draft;
      if (draft && draft.points.length > 0) {
        ctx.beginPath();
        draft.points.forEach(([x, y], i) => {
          const [px, py] = apply(toCanvas, x, y);
          if (i === 0) ctx.moveTo(px, py);
          else ctx.lineTo(px, py);
        });
        ctx.lineWidth = 2 * pixelRatio;
        ctx.strokeStyle = '#ffffff';
        ctx.setLineDash([4 * pixelRatio, 3 * pixelRatio]);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    },
    { className: 'fewshot-support-layer' },
  );

  const onStoreChange = ({ detail: change }: CustomEvent<SupportSetChange>) => {
    if (change.type === 'mask') {
      const patch = store.patch(change.id);
      if (patch) paint(patch, change.rows);
    } else if (change.type === 'remove') images.delete(change.id);
    else if (change.type === 'replace') images.clear();
    overlay.invalidate();
  };
  const onToolsChange = () => overlay.invalidate();
  store.addEventListener('change', onStoreChange);
  tools.addEventListener('change', onToolsChange);

  return {
    canvas: overlay.canvas,
    get visible() {
      return overlay.visible;
    },
    set visible(value: boolean) {
      overlay.visible = value;
    },
    setColor(color) {
      rgb = parseColor(color);
      images.clear();
      overlay.invalidate();
    },
    destroy() {
      store.removeEventListener('change', onStoreChange);
      tools.removeEventListener('change', onToolsChange);
      overlay.destroy();
      images.clear();
    },
  };
}
