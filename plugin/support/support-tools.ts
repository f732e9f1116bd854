import type OpenSeadragon from 'openseadragon';
import { withEvents } from '../../core/events/event-handle.js';
import { Emitter, type TypedEventTarget } from '../../core/events/typed-events.js';
import {
  level0ToPatch,
  type Point,
  type SupportLabel,
  type SupportSetStore,
} from '../../core/support-set/support-set.js';
import { apply, clickToLevel0, imageToElement, invert, slideItem } from '../layers/view-transform.js';

/**
 * The support-set tools on an OpenSeadragon viewer: pointer gestures turned into edits of a
 * support-set store. 'navigate' leaves the viewer alone; 'place' puts a patch centred on a
 * click; the brushes paint while dragging inside a patch (a drag that starts outside one pans,
 * so the user never has to switch tools to move around); 'polygon' collects vertices by click
 * and fills on double-click or Enter. Coordinates are level-0 pixels of the slide, i.e. the
 * image coordinates of the viewer's first world item.
 */

export type SupportTool = 'navigate' | 'place' | 'brush' | 'erase' | 'ignore' | 'polygon';

const BRUSH_LABEL: Partial<Record<SupportTool, SupportLabel>> = {
  brush: 'class',
  erase: 'background',
  ignore: 'ignore',
};

export interface PolygonDraft {
  readonly patchId: string;
  /** Vertices so far, level-0 pixels. */
  readonly points: readonly Point[];
  readonly label: SupportLabel;
  /** With label 'class': the class it fills (its label, 1-based). */
  readonly classLabel?: number;
}

/** What the tools are set to now. */
export interface SupportToolsState {
  readonly tool: SupportTool;
  readonly brushSize: number;
  /** The class the brush and polygon paint (its label in the support set, 1-based). */
  readonly activeClass: number;
  readonly draft: PolygonDraft | undefined;
}

/**
 * `tools.addEventListener('change', (e) => e.detail.tool)`: the tool, brush or polygon draft
 * changed (the support set reports its own changes).
 */
export type SupportToolsEvents = {
  change: SupportToolsState;
};

export interface SupportTools extends TypedEventTarget<SupportToolsEvents> {
  readonly tool: SupportTool;
  setTool(tool: SupportTool): void;
  /** Brush diameter in patch pixels. */
  readonly brushSize: number;
  setBrushSize(size: number): void;
  /**
   * The class the brush and a class polygon paint, as its label (1-based index in the store's
   * classes); 1 by default. Falls back to 1 when its class is removed.
   */
  readonly activeClass: number;
  setActiveClass(label: number): void;
  /** The label a polygon fills with (class by default; ignore or background to cut out). */
  polygonLabel: SupportLabel;
  readonly draft: PolygonDraft | undefined;
  /** Fills the draft polygon (≥ 3 vertices); false when there is none to fill. */
  closePolygon(): boolean;
  cancelPolygon(): void;
  /** Detaches from the viewer; no event follows. */
  destroy(): void;
}

export const MIN_BRUSH = 1;
export const MAX_BRUSH = 128;

export function createSupportTools(
  viewer: OpenSeadragon.Viewer,
  store: SupportSetStore,
  options: { readonly brushSize?: number } = {},
): SupportTools {
  let tool: SupportTool = 'navigate';
  let brushSize = options.brushSize ?? 12;
  let draft: PolygonDraft | undefined;
  let activeClass = 1;
  let destroyed = false;
  const events = new Emitter<SupportToolsEvents>();
  const changed = () => {
    if (!destroyed) events.emit('change', { tool, brushSize, activeClass, draft });
  };
  /** The active class, or 1 once its class is gone (removed, or an import with fewer classes). */
  const currentClass = () => (activeClass <= store.classes.length ? activeClass : 1);
  const onStoreChange = () => {
    if (activeClass > store.classes.length) {
      activeClass = 1;
      changed();
    }
  };
  store.addEventListener('change', onStoreChange);

  // Through the overlays' own transform: OpenSeadragon's point conversions leave out flips.
  const toLevel0 = (position: OpenSeadragon.Point): Point => {
    const item = slideItem(viewer);
    if (!item) return [NaN, NaN];
    return apply(invert(imageToElement(viewer, item)), position.x, position.y);
  };
  const inPatch = (id: string, [x, y]: Point): Point => {
    const patch = store.patch(id)!;
    return level0ToPatch(patch, x, y) as Point;
  };

  const onPress = (event: OpenSeadragon.CanvasPressEvent) => {
    const label = BRUSH_LABEL[tool];
    if (!label) return;
    const at = toLevel0(event.position);
    const patch = store.patchAt(at[0], at[1]);
    if (!patch) return;
    store.select(patch.id);
    store.beginStroke(patch.id, { label, size: brushSize, classLabel: currentClass() }, inPatch(patch.id, at));
  };
  const onDrag = (event: OpenSeadragon.CanvasDragEvent) => {
    if (!store.stroking) return;
    event.preventDefaultAction = true;
    const id = store.selectedId;
    if (id) store.extendStroke(inPatch(id, toLevel0(event.position)));
  };
  const onRelease = () => {
    if (store.stroking) store.endStroke();
  };
  const onClick = (event: OpenSeadragon.CanvasClickEvent) => {
    if (!event.quick) return;
    const at = clickToLevel0(viewer, event.position);
    if (tool === 'place') {
      event.preventDefaultAction = true;
      const hit = store.patchAt(at[0], at[1]);
      if (hit) store.select(hit.id);
      else {
        // On whole inference-grid pixels, so that the painted pixels are the pixels adapted on.
        const o = store.originCentredAt(at[0], at[1]);
        const scale = store.defaultScale;
        store.addPatch({ x: Math.floor(o.x / scale + 1e-9) * scale, y: Math.floor(o.y / scale + 1e-9) * scale });
      }
    } else if (BRUSH_LABEL[tool]) {
      // The stroke already painted the dot on press; a click must not also zoom.
      if (store.patchAt(at[0], at[1])) event.preventDefaultAction = true;
    } else if (tool === 'polygon') {
      event.preventDefaultAction = true;
      if (!draft) {
        const patch = store.patchAt(at[0], at[1]);
        if (!patch) return;
        store.select(patch.id);
        draft = { patchId: patch.id, points: [at], label: tools.polygonLabel, classLabel: currentClass() };
      } else {
        draft = { ...draft, points: [...draft.points, at] };
      }
      changed();
    }
  };
  const onDoubleClick = (event: OpenSeadragon.CanvasDoubleClickEvent) => {
    if (tool !== 'polygon' && tool !== 'place' && !BRUSH_LABEL[tool]) return;
    event.preventDefaultAction = true;
    if (tool === 'polygon') tools.closePolygon();
  };

  viewer.addHandler('canvas-press', onPress);
  viewer.addHandler('canvas-drag', onDrag);
  viewer.addHandler('canvas-release', onRelease);
  viewer.addHandler('canvas-click', onClick);
  viewer.addHandler('canvas-double-click', onDoubleClick);

  const tools: SupportTools = withEvents(events, {
    get tool() {
      return tool;
    },
    setTool(next) {
      if (next === tool) return;
      if (store.stroking) store.endStroke();
      draft = undefined;
      tool = next;
      changed();
    },
    get brushSize() {
      return brushSize;
    },
    setBrushSize(size) {
      const next = Math.round(Math.min(MAX_BRUSH, Math.max(MIN_BRUSH, size)));
      if (next === brushSize || !Number.isFinite(next)) return;
      brushSize = next;
      changed();
    },
    get activeClass() {
      return currentClass();
    },
    setActiveClass(label) {
      if (!(Number.isInteger(label) && label >= 1 && label <= store.classes.length))
        throw new RangeError(`no class with label ${label} (there are ${store.classes.length})`);
      if (label === activeClass) return;
      activeClass = label;
      changed();
    },
    polygonLabel: 'class',
    get draft() {
      return draft;
    },
    closePolygon() {
      const d = draft;
      draft = undefined;
      changed();
      if (!d || d.points.length < 3 || !store.patch(d.patchId)) return false;
      const classLabel = d.classLabel !== undefined && d.classLabel <= store.classes.length ? d.classLabel : 1;
      return store.fillPolygon(d.patchId, [d.points.map((p) => inPatch(d.patchId, p))], d.label, classLabel);
    },
    cancelPolygon() {
      if (!draft) return;
      draft = undefined;
      changed();
    },
    destroy() {
      destroyed = true;
      store.removeEventListener('change', onStoreChange);
      if (store.stroking) store.cancelStroke();
      viewer.removeHandler('canvas-press', onPress);
      viewer.removeHandler('canvas-drag', onDrag);
      viewer.removeHandler('canvas-release', onRelease);
      viewer.removeHandler('canvas-click', onClick);
      viewer.removeHandler('canvas-double-click', onDoubleClick);
    },
  });
  return tools;
}
