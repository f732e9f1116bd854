/**
 * A linear undo history of reversible steps, bounded by count and by the memory the steps hold
 * (each step states its own cost: a mask edit keeps only its changed rows, a deleted patch its
 * mask). When a new step takes the history over either bound, the oldest steps are forgotten;
 * the newest step is always kept so that the last action can be undone.
 */

export interface UndoStep {
  /** What the step did, for a menu ("Undo paint"). */
  readonly label: string;
  /** Bytes of memory the step keeps alive, as its owner estimates them. */
  readonly bytes: number;
  undo(): void;
  redo(): void;
}

export interface UndoLimits {
  readonly maxSteps: number;
  readonly maxBytes: number;
}

export const DEFAULT_UNDO_LIMITS: UndoLimits = { maxSteps: 200, maxBytes: 64 * 1024 * 1024 };

export interface UndoStack<S extends UndoStep = UndoStep> {
  /** Records a step that has already been applied; the redo branch is dropped. */
  push(step: S): void;
  /** Reverts the newest step and returns it, or undefined when there is nothing to undo. */
  undo(): S | undefined;
  /** Re-applies the most recently undone step and returns it, or undefined. */
  redo(): S | undefined;
  clear(): void;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  readonly undoLabel: string | undefined;
  readonly redoLabel: string | undefined;
  /** Steps held (undoable + redoable). */
  readonly size: number;
  /** Bytes held by all steps. */
  readonly bytes: number;
}

export function createUndoStack<S extends UndoStep = UndoStep>(limits: UndoLimits = DEFAULT_UNDO_LIMITS): UndoStack<S> {
  if (!(Number.isInteger(limits.maxSteps) && limits.maxSteps >= 1))
    throw new RangeError(`maxSteps is ${limits.maxSteps}; it must be an integer ≥ 1`);
  if (!(limits.maxBytes >= 0)) throw new RangeError(`maxBytes is ${limits.maxBytes}; it must be ≥ 0`);
  // done[done.length - 1] is the next to undo; undone[undone.length - 1] the next to redo.
  let done: S[] = [];
  let undone: S[] = [];
  let bytes = 0;
  const cost = (step: UndoStep) => Math.max(0, step.bytes);

  return {
    push(step) {
      for (const s of undone) bytes -= cost(s);
      undone = [];
      done.push(step);
      bytes += cost(step);
      let drop = 0;
      while (done.length - drop > 1 && (done.length - drop > limits.maxSteps || bytes > limits.maxBytes)) {
        bytes -= cost(done[drop]);
        drop++;
      }
      if (drop > 0) done = done.slice(drop);
    },
    undo() {
      const step = done.pop();
      if (!step) return undefined;
      step.undo();
      undone.push(step);
      return step;
    },
    redo() {
      const step = undone.pop();
      if (!step) return undefined;
      step.redo();
      done.push(step);
      return step;
    },
    clear() {
      done = [];
      undone = [];
      bytes = 0;
    },
    get canUndo() {
      return done.length > 0;
    },
    get canRedo() {
      return undone.length > 0;
    },
    get undoLabel() {
      return done.at(-1)?.label;
    },
    get redoLabel() {
      return undone.at(-1)?.label;
    },
    get size() {
      return done.length + undone.length;
    },
    get bytes() {
      return bytes;
    },
  };
}
