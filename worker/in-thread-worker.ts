import type { WorkerEndpoint, WorkerLike } from './protocol.js';
import { serveWorker } from './serve-worker.js';

/**
 * The worker served in this thread over a MessageChannel: the same code and the same messages
 * (structured clone, transfers) as a Web Worker, without a thread of its own. For Node, where
 * there is no Web Worker: tests run the real pool over these, and a command-line tool can too.
 * `terminate` closes the channel; work already running finishes unseen.
 */
export function createInThreadWorker(): WorkerLike {
  const { port1, port2 } = new MessageChannel();
  serveWorker(port2 as unknown as WorkerEndpoint);
  return {
    postMessage: (message, transfer = []) => port1.postMessage(message, transfer),
    terminate() {
      port1.close();
      port2.close();
    },
    get onmessage() {
      return port1.onmessage as WorkerLike['onmessage'];
    },
    set onmessage(handler) {
      port1.onmessage = handler as typeof port1.onmessage;
    },
    onerror: null,
    onmessageerror: null,
  };
}
