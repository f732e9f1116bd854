import { importSupportSet, supportSetToText, parseSupportSet } from '../../core/support-set/support-set-file.js';
import { SupportSetFileError } from '../../core/support-set/support-set-file-error.js';
import { createSupportSet, placementProblem, type SlideIdentity } from '../../core/support-set/support-set.js';
import type { FuzzKind } from './fuzz-kind.js';
import { jsonText, mutateJson } from './json-mutator.js';

const SLIDE: SlideIdentity = { name: 'fuzz-slide.svs', width: 4000, height: 3000, mpp: 0.25 };
const PATCH = 64;

/**
 * Support-set files (core/support-set/support-set-file.ts), read as the panel's import reads one
 * (importSupportSet into the open slide's store). An accepted file must leave a store whose every
 * patch lies on the slide with a whole mask of known labels, and that saves to a file read back the same.
 */
export function supportSetKind(): FuzzKind {
  const store = () => createSupportSet({ slide: SLIDE, extractorMpp: 0.25, patchSize: PATCH });
  return {
    name: 'support-set',
    async seeds() {
      return [3, 1].map((patches) => {
        const s = store();
        for (let k = 0; k < patches; k++) {
          const id = s.addPatch({ x: 100 + 300 * k, y: 50 + 200 * k });
          s.paintStroke(id, { label: k % 2 === 0 ? 'class' : 'ignore', size: 9 }, [
            [5, 5],
            [40, 30 + k],
          ]);
        }
        return new TextEncoder().encode(supportSetToText(s.state()));
      });
    },
    mutate: mutateJson,
    async check(bytes, signal) {
      signal.throwIfAborted();
      const s = store();
      importSupportSet(s, jsonText(bytes));
      const state = s.state();
      for (const p of state.patches) {
        const problem = placementProblem(SLIDE, PATCH, p.x, p.y, p.scale);
        if (problem) throw new Error(`accepted a patch off the slide: ${problem}`);
        const classes = s.classes.length;
        if (p.mask.length !== PATCH * PATCH || p.mask.some((v) => v > classes && v !== 255))
          throw new Error(`accepted patch ${p.id} with a broken mask`);
      }
      const again = parseSupportSet(supportSetToText(state));
      if (
        JSON.stringify(again.patches.map((p) => [p.id, p.x, p.y, p.scale])) !==
        JSON.stringify(state.patches.map((p) => [p.id, p.x, p.y, p.scale]))
      )
        throw new Error('accepted, but it does not save and read back the same');
    },
    isTyped: (error) => error instanceof SupportSetFileError && typeof error.code === 'string',
  };
}
