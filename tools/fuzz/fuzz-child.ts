// One fuzz child process: loads the kind named in argv, then checks the mutants the runner
// sends, one at a time. A native abort or an endless loop here ends or stalls only this process,
// which the runner sees and reports (tools/fuzz/run-fuzz.ts); worker threads would share the
// crash with the runner.
import type { ChildReply, ChildJob } from './run-fuzz.js';
import { loadKind } from './load-kind.js';

/** How long after the signal a check may take to settle (the product's promise). */
export const ABORT_LIMIT_MS = 1000;

const kind = await loadKind(process.argv[2]);
const send = (reply: ChildReply) => process.send!(reply);

process.on('message', (job: ChildJob) => {
  const controller = new AbortController();
  let abortedAt: number | undefined;
  let done = false;
  let late: NodeJS.Timeout | undefined;
  const settle = (reply: ChildReply) => {
    if (done) return;
    done = true;
    clearTimeout(abort);
    clearTimeout(late);
    send(reply);
  };
  const abort = setTimeout(() => {
    // Measured from when the abort really happens, not from when it was due: a busy machine
    // that runs this timer late must not count against the product.
    abortedAt = performance.now();
    controller.abort();
    late = setTimeout(() => settle({ id: job.id, outcome: 'late-abort' }), ABORT_LIMIT_MS);
  }, job.abortAfterMs);
  const lateBy = () => (abortedAt === undefined ? 0 : performance.now() - abortedAt);
  kind.check(job.bytes, controller.signal).then(
    () => settle(lateBy() > ABORT_LIMIT_MS ? { id: job.id, outcome: 'late-abort' } : { id: job.id, outcome: 'opened' }),
    (error: unknown) => {
      if (lateBy() > ABORT_LIMIT_MS) return settle({ id: job.id, outcome: 'late-abort' });
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const code = (error as { code?: unknown } | null)?.code;
      settle(
        kind.isTyped(error)
          ? { id: job.id, outcome: 'typed', code: String(code), message }
          : { id: job.id, outcome: 'untyped', message },
      );
    },
  );
});
// A runner that is gone (killed, ^C) takes its children with it, unless one is stuck in a loop.
process.on('disconnect', () => process.exit(0));
send({ ready: true });
