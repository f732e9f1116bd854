import { parentPort } from 'node:worker_threads';
import type { WorkerEndpoint } from './protocol.js';
import { serveWorker } from './serve-worker.js';

// The module a Node worker thread runs (the batch command's threads, tools/batch/batch-threads.ts;
// built as dist/bin/node-worker.js): the same worker as a Web Worker's, served on the thread's
// parentPort, whose messages are structured clones with transfers as a Web Worker's are.
if (!parentPort) throw new Error('worker/node-thread-entry.ts runs as a worker thread, not as a main module');
serveWorker(parentPort as unknown as WorkerEndpoint);
