import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUndoStack, type UndoStep } from '../../../core/support-set/undo-stack.js';

/** Steps that add to a counter, so the order of undo and redo shows in the value. */
function counter() {
  const state = { value: 0 };
  const step = (amount: number, bytes = 10): UndoStep => ({
    label: `add ${amount}`,
    bytes,
    undo: () => {
      state.value -= amount;
    },
    redo: () => {
      state.value += amount;
    },
  });
  const apply = (s: UndoStep) => {
    s.redo();
    return s;
  };
  return { state, step, apply };
}

test('undo and redo walk the history in order; a new step drops the redo branch', () => {
  const { state, step, apply } = counter();
  const stack = createUndoStack();
  assert.equal(stack.canUndo, false);
  assert.equal(stack.undo(), undefined);
  for (const a of [1, 10, 100]) stack.push(apply(step(a)));
  assert.equal(state.value, 111);
  assert.equal(stack.undoLabel, 'add 100');
  stack.undo();
  stack.undo();
  assert.equal(state.value, 1);
  assert.equal(stack.redoLabel, 'add 10');
  stack.redo();
  assert.equal(state.value, 11);
  assert.equal(stack.size, 3);
  stack.push(apply(step(1000)));
  assert.equal(state.value, 1011);
  assert.equal(stack.canRedo, false, 'the undone "add 100" is gone');
  assert.equal(stack.redo(), undefined);
  assert.equal(stack.size, 3);
  assert.equal(stack.bytes, 30);
  while (stack.undo());
  assert.equal(state.value, 0);
  assert.equal(stack.size, 3);
  stack.clear();
  assert.equal(stack.size, 0);
  assert.equal(stack.bytes, 0);
  assert.equal(stack.canRedo, false);
});

test(
  'the history forgets its oldest steps beyond the step count and the byte budget, ' + 'but always keeps the newest',
  () => {
    const { state, step, apply } = counter();
    const byCount = createUndoStack({ maxSteps: 3, maxBytes: Infinity });
    for (let i = 1; i <= 6; i++) byCount.push(apply(step(i)));
    assert.equal(byCount.size, 3);
    let undone = 0;
    while (byCount.undo()) undone++;
    assert.equal(undone, 3);
    assert.equal(state.value, 1 + 2 + 3, 'only 4, 5, 6 could be undone');

    const bytes = counter();
    const byBytes = createUndoStack({ maxSteps: 100, maxBytes: 250 });
    for (const b of [100, 100, 100, 100]) byBytes.push(bytes.apply(bytes.step(1, b)));
    assert.equal(byBytes.size, 2);
    assert.equal(byBytes.bytes, 200);
    byBytes.push(bytes.apply(bytes.step(1, 1000)));
    assert.equal(byBytes.size, 1, 'a step over the whole budget is still undoable on its own');
    assert.equal(byBytes.bytes, 1000);
    assert.ok(byBytes.undo());
    assert.equal(byBytes.undo(), undefined);
  },
);

test('impossible limits are refused', () => {
  assert.throws(() => createUndoStack({ maxSteps: 0, maxBytes: 1 }), /maxSteps/);
  assert.throws(() => createUndoStack({ maxSteps: 1.5, maxBytes: 1 }), /maxSteps/);
  assert.throws(() => createUndoStack({ maxSteps: 1, maxBytes: -1 }), /maxBytes/);
});
