import type { FuzzKind } from './fuzz-kind.js';

/**
 * The kinds `npm run fuzz -- --kind NAME` knows. Each is loaded only when asked for, in the
 * runner and in every child process, so a kind's dependencies cost nothing to the others.
 */
export const FUZZ_KINDS: Readonly<Record<string, () => Promise<FuzzKind>>> = {
  tiff: async () => (await import('./tiff-kind.js')).tiffKind,
  head: async () => (await import('./head-kind.js')).headKind(),
  'support-set': async () => (await import('./support-set-kind.js')).supportSetKind(),
  bundle: async () => (await import('./bundle-kind.js')).bundleKind(),
};
