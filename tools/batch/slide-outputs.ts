import fs from 'node:fs';
import type { Head } from '../../core/adaptation/head.js';
import { parseHexColor } from '../../core/session/hex-color.js';
import type { SummaryRow } from './cohort-summary.js';
import { writeOverlayTiff } from './overlay-tiff.js';
import { writeSlideCells } from './slide-cells.js';
import type { SlidePlan } from './slide-plan.js';
import { writeAtomic } from './tile-store.js';

/**
 * A slide's outputs from its stored tiles, once every tile of its plan is stored: its cells
 * (`<name>.geojson.gz`, slide-cells.ts), its probabilities (`<name>.probability.tif`,
 * overlay-tiff.ts), and its summary row, written last (`done.json`) to say the outputs are
 * whole. Every file goes through a temporary name and a rename, and the same tiles give the same
 * bytes: written twice (a retried job, a rerun) they are the same files.
 */

export interface SlideNaming {
  readonly className: string;
  readonly color: readonly [number, number, number];
}

/** The class name and colour the head was saved with (the viewer's defaults when it has none). */
export function headNaming(head: Head): SlideNaming {
  const className = typeof head.metadata.className === 'string' ? head.metadata.className : 'New class';
  const rgba = parseHexColor(typeof head.metadata.color === 'string' ? head.metadata.color : '#00e676');
  return { className, color: [rgba[0], rgba[1], rgba[2]] };
}

export interface WrittenSlide {
  readonly name: string;
  readonly geojson: string;
  readonly overlay: string;
  readonly summary: SummaryRow;
}

/** The slide's outputs as an earlier run wrote them, or undefined when they are not all there. */
export function finishedSlide(plan: SlidePlan): WrittenSlide | undefined {
  if (!(fs.existsSync(plan.doneFile) && fs.existsSync(plan.geojson) && fs.existsSync(plan.overlay))) return undefined;
  const summary = JSON.parse(fs.readFileSync(plan.doneFile, 'utf8')) as SummaryRow;
  return { name: plan.name, geojson: plan.geojson, overlay: plan.overlay, summary };
}

export async function writeSlideOutputs(plan: SlidePlan, naming: SlideNaming): Promise<WrittenSlide> {
  const { name, grid, store } = plan;
  const rects = [...plan.tiles].map((t) => t.tile);
  const cells = await writeSlideCells({ grid, tiles: store, rects, slideName: name, ...naming, file: plan.geojson });
  writeOverlayTiff({
    grid,
    tiles: store,
    rects,
    file: plan.overlay,
    description: `probability of ${naming.className} (round(255 p)) at ${grid.mpp.x} µm/px: ${name}`,
  });
  const summary = cells.sums.row(name, plan.tissueMm2);
  writeAtomic(plan.doneFile, JSON.stringify(summary));
  return { name, geojson: plan.geojson, overlay: plan.overlay, summary };
}
