/// <reference lib="webworker" />
import { serveWorker } from './serve-worker.js';

// The module a Web Worker runs (dist/worker.js): the worker served on its own global scope.
serveWorker(self as unknown as DedicatedWorkerGlobalScope);
