import type { EventMap, TypedEventTarget } from './typed-events.js';

/**
 * A factory's handle as one object: the members of `api` defined on the event target its events
 * come from, so a caller writes `run.pause()` and `run.addEventListener('tile', …)` on the same
 * thing. Descriptors are copied, not values: getters (`state`, `progress`…) stay live, and
 * writable fields stay writable. The owner keeps the target (an Emitter) to emit with; the
 * handle's type `H` (the factory's declared interface, which gives `api` its contextual types)
 * has no `emit`, so only the owner emits.
 */
export function withEvents<M extends EventMap, H extends TypedEventTarget<M>>(
  target: TypedEventTarget<M>,
  api: Omit<H, keyof EventTarget>,
): H {
  return Object.defineProperties(target, Object.getOwnPropertyDescriptors(api)) as H;
}
