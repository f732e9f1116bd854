/** What determines a synthetic slide: the same spec always renders the same pixels. */
export interface SlideSpec {
  seed: number;
  /** Level-0 size in pixels. */
  width: number;
  height: number;
  /** Microns per pixel at level 0. */
  mpp: number;
}

export interface NucleusClass {
  id: number;
  name: string;
  /** Overlay colour for viewers, as #rrggbb. */
  color: string;
}

/** Label ids written into the label mask and the patch dataset; 0 is background. */
export const NUCLEUS_CLASSES: readonly NucleusClass[] = [
  { id: 1, name: 'epithelial', color: '#e6194b' },
  { id: 2, name: 'lymphocyte', color: '#3cb44b' },
  { id: 3, name: 'spindle', color: '#ffe119' },
  { id: 4, name: 'plasma', color: '#4363d8' },
];

export const CLASS_EPITHELIAL = 1;
export const CLASS_LYMPHOCYTE = 2;
export const CLASS_SPINDLE = 3;
export const CLASS_PLASMA = 4;
export const CLASS_COUNT = 5;

export const DEFAULT_MPP = 0.5;
