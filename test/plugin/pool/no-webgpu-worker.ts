/**
 * Test fixture: the inference worker on a platform without WebGPU. navigator.gpu is hidden
 * before TF.js loads (its WebGPU backend registers only where navigator.gpu exists), then the
 * real worker entry is imported. Messages that arrive while it loads are replayed to it.
 */
const early: MessageEvent[] = [];
self.onmessage = (event) => early.push(event);
Object.defineProperty(Object.getPrototypeOf(navigator), 'gpu', { get: () => undefined, configurable: true });
await import('../../../worker/worker-entry.js');
for (const event of early) (self.onmessage as (e: MessageEvent) => void)(event);
export {};
