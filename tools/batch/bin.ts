import { batchCommand } from './batch.js';

// The package's command line (package.json `bin`, built to dist/bin/openseadragon-fewshot.js):
// `openseadragon-fewshot <command> [options]`; `batch` is its one command today.
const [command, ...rest] = process.argv.slice(2);
if (command === 'batch') await batchCommand(rest);
else {
  const usage = 'usage: openseadragon-fewshot batch --head FILE --slide PATH|GLOB|URL --out DIR [options]';
  const known = command === undefined || command === '--help' || command === '-h';
  (known ? process.stdout : process.stderr).write(
    `${known ? '' : `openseadragon-fewshot: unknown command ${JSON.stringify(command)}\n`}${usage}\n` +
      "Try 'npx openseadragon-fewshot batch --help' for its options.\n",
  );
  process.exitCode = known ? 0 : 2;
}
