// The page of test/plugin/support/autosave-close.node.test.ts: a support set autosaved to
// IndexedDB (the default store) as a host page has it, with calls for the test to make edits,
// start a save and read back what a reload restores. Edit k adds patch `e<k>` whose mask is
// seeded label noise, so every patch can be checked to the pixel and the record is large enough
// (≈ 100 KiB per patch) for its write to take a while.
import { SeededRandom } from '../../../core/math/seeded-random.js';
import type { SupportSetStore } from '../../../core/support-set/support-set.js';
import { autosaveSupportSet, restoreSupportSet, type Autosave } from '../../../plugin/support/support-set-storage.js';

const slide = { name: 'close-test.svs', width: 40000, height: 30000, mpp: 0.5 };
const VALUES = [0, 1, 255];

function noise(k: number): Uint8Array {
  const random = new SeededRandom(1000 + k);
  return Uint8Array.from({ length: 256 * 256 }, () => VALUES[random.int(3)]);
}

let store: SupportSetStore;
let autosave: Autosave;

export interface Restored {
  readonly restored: number;
  readonly problem: string | null;
  /** Patches whose id, place and mask are not those of edit k (k their position): should be none. */
  readonly wrong: readonly string[];
}

const api = {
  async open(): Promise<Restored> {
    const r = await restoreSupportSet({ slide, extractorMpp: 0.25 });
    store = r.store;
    autosave = autosaveSupportSet(store);
    const wrong = store.patches.flatMap((p, k) => {
      const expected = noise(k);
      const ok = p.id === `e${k}` && p.x === 600 * k && p.y === 0 && p.mask.every((v, i) => v === expected[i]);
      return ok ? [] : [`${k}: ${p.id}`];
    });
    return { restored: r.restored, problem: r.problem ? r.problem.message : null, wrong };
  },
  /** Edit k: a patch at (600k, 0) with seeded noise for labels, in one change. */
  edit(k: number): void {
    // One change (one undo step, one revision), as an import is.
    const patch = { id: `e${k}`, x: 600 * k, y: 0, scale: store.defaultScale, mask: noise(k) };
    store.replacePatches([...store.patches, patch], { label: `edit ${k}` });
  },
  /** Starts a save without waiting for it. */
  flush(): void {
    void autosave.flush().catch(() => undefined);
  },
  /** Resolves once everything so far is written. */
  async settle(): Promise<void> {
    await autosave.flush();
  },
};

(window as unknown as { autosavePage: typeof api }).autosavePage = api;
