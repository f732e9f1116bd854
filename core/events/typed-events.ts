/**
 * The one event idiom of the product: a DOM EventTarget whose event names and payloads are typed
 * by a map, each event a CustomEvent carrying its payload as `detail`. It is the platform's own
 * mechanism (a host app already knows addEventListener, and EventTarget/CustomEvent exist in
 * browsers, workers and Node ≥ 19), so the handle, the panel, region runs, the pool and the
 * support set all speak it; only the types are added here:
 *
 *   run.addEventListener('progress', (e) => console.log(e.detail.doneTiles));   // e.detail is typed
 */

/** Event names → the type of each event's `detail`. */
export type EventMap = { readonly [type: string]: unknown };

export type TypedListener<D> = (event: CustomEvent<D>) => void;

/** An EventTarget whose events of M are typed; other names fall back to the plain signatures. */
export interface TypedEventTarget<M extends EventMap> extends EventTarget {
  addEventListener<K extends keyof M & string>(
    type: K,
    listener: TypedListener<M[K]> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof M & string>(
    type: K,
    listener: TypedListener<M[K]> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

/**
 * The owner's side: an EventTarget typed by M with `emit`. Factory functions build their handle
 * on one (Annotorious-style: a plain object of methods over a typed target) and hand out the
 * TypedEventTarget view, so only the owner emits.
 */
export class Emitter<M extends EventMap> extends EventTarget implements TypedEventTarget<M> {
  override addEventListener<K extends keyof M & string>(
    type: K,
    listener: TypedListener<M[K]> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(type: string, listener: unknown, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends keyof M & string>(
    type: K,
    listener: TypedListener<M[K]> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(type: string, listener: unknown, options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /** Dispatches `type` with `detail`; listeners run synchronously, in the order they were added. */
  emit<K extends keyof M & string>(type: K, detail: M[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
