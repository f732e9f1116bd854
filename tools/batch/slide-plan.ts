import fs from 'node:fs';
import path from 'node:path';
import type { Head } from '../../core/adaptation/head.js';
import type { InferenceGrid } from '../../core/inference/inference-grid.js';
import { gridKey, headKey } from '../../core/inference/keys.js';
import { planRegion } from '../../core/inference/region-plan.js';
import { plannedTile, tileSetOf, type TileSet } from '../../core/inference/tile-set.js';
import type { Rect } from '../../core/math/rect.js';
import type { SlideInfo } from '../../core/slide/pixel-source.js';
import type { TissueMask } from '../../core/slide/tissue-mask.js';
import { tissueMm2 } from './cohort-summary.js';
import { TileStore, writeAtomic } from './tile-store.js';

/**
 * What a batch does with one slide, decided before any tile is computed: its inference grid, its
 * tiles (core/inference/region-plan.ts: the slide, its tissue or a rectangle), the folder its
 * tiles are stored in (stamped with the head, grid and region: tile-store.ts) and its output
 * files. Written as `plan.json` beside the tiles, so that whoever assembles the outputs — this
 * process, or a queue worker on another machine (batch-queue.ts) — needs neither the slide nor
 * its tissue mask again.
 */

export type BatchRegion = 'tissue' | 'slide' | Rect;

/** The batch's state folder in `--out`. */
export const STATE_DIR = '.batch';
const PLAN = 'plan.json';

export interface SlidePlan {
  readonly name: string;
  readonly grid: InferenceGrid;
  readonly tiles: TileSet;
  readonly store: TileStore;
  /** Tissue area in mm²; undefined when the slide's µm/px is not known. */
  readonly tissueMm2: number | undefined;
  readonly geojson: string;
  readonly overlay: string;
  /** Written last, with the slide's summary row: the slide's outputs are whole. */
  readonly doneFile: string;
}

export const regionName = (region: BatchRegion) =>
  typeof region === 'string' ? region : `${region.x},${region.y},${region.width},${region.height}`;

/** What a slide's tiles are computed for: tiles stamped otherwise are not this run's. */
export function slideStamp(info: SlideInfo, head: Head, grid: InferenceGrid, region: BatchRegion) {
  return {
    version: 1,
    slide: { name: info.name, levels: info.levels[0] },
    head: headKey(Array.from(head.W), head.b),
    threshold: head.threshold,
    grid: gridKey(grid),
    region: regionName(region),
  };
}

export interface PlanSlideOptions {
  readonly name: string;
  readonly info: SlideInfo;
  readonly grid: InferenceGrid;
  readonly tissue: TissueMask;
  readonly head: Head;
  readonly region: BatchRegion;
  readonly out: string;
}

/** Plans the slide, opens (or empties, for another head) its tile store and writes plan.json. */
export function planSlide(options: PlanSlideOptions): SlidePlan {
  const { name, info, grid, tissue, head, region, out } = options;
  const tiles = planRegion({
    grid,
    ...(typeof region === 'object' ? { region } : {}),
    ...(region === 'tissue' ? { tissue } : {}),
  });
  const store = TileStore.open(path.join(out, STATE_DIR, name), slideStamp(info, head, grid, region));
  const area = grid.mppSource === 'assumed' ? undefined : tissueMm2(tissue, grid.slideMpp);
  const rects = [...tiles].map((t) => t.tile);
  writeAtomic(path.join(store.dir, PLAN), JSON.stringify({ grid, rects, tissueMm2: area ?? null }));
  return outputsOf(name, out, grid, tiles, store, area);
}

/** A slide's plan as planSlide wrote it (its tile store as it is). */
export function readPlan(name: string, out: string): SlidePlan {
  const dir = path.join(out, STATE_DIR, name);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, PLAN), 'utf8')) as {
    grid: InferenceGrid;
    rects: Rect[];
    tissueMm2: number | null;
  };
  const tiles = tileSetOf(saved.rects.map((r) => plannedTile(saved.grid, r)));
  return outputsOf(name, out, saved.grid, tiles, TileStore.existing(dir), saved.tissueMm2 ?? undefined);
}

function outputsOf(
  name: string,
  out: string,
  grid: InferenceGrid,
  tiles: TileSet,
  store: TileStore,
  area: number | undefined,
): SlidePlan {
  return {
    name,
    grid,
    tiles,
    store,
    tissueMm2: area,
    geojson: path.join(out, `${name}.geojson.gz`),
    overlay: path.join(out, `${name}.probability.tif`),
    doneFile: path.join(store.dir, 'done.json'),
  };
}
