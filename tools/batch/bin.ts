import { batchCommand } from './batch.js';
import { workerCommand } from './worker-command.js';

// The package's command line (package.json `bin`, built to dist/bin/openseadragon-fewshot.js):
// `openseadragon-fewshot <command> [options]`: `batch`, and `worker` for a batch queued on Redis.
const [command, ...rest] = process.argv.slice(2);
if (command === 'batch') await batchCommand(rest);
else if (command === 'worker') await workerCommand(rest);
else {
  const usage =
    'usage: openseadragon-fewshot batch --head FILE --slide PATH|GLOB|URL --out DIR [options]\n' +
    '       openseadragon-fewshot worker --queue redis://HOST:PORT [options]';
  const known = command === undefined || command === '--help' || command === '-h';
  (known ? process.stdout : process.stderr).write(
    `${known ? '' : `openseadragon-fewshot: unknown command ${JSON.stringify(command)}\n`}${usage}\n` +
      "Try 'npx openseadragon-fewshot batch --help' (or worker --help) for the options.\n",
  );
  process.exitCode = known ? 0 : 2;
}
