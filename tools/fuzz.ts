// Fuzzes the product's readers of user files; `npm run fuzz -- --help` lists the options.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { integerOption, progressLine, runCli, usageError } from './cli.js';
import { FUZZ_KINDS } from './fuzz/fuzz-kinds.js';
import { formatReport } from './fuzz/fuzz-report.js';
import { runFuzz } from './fuzz/run-fuzz.js';

await runCli(
  {
    name: 'fuzz',
    command: 'npm run fuzz',
    synopsis: '[options]',
    description: `
Mutates generated files of one kind (structure-aware mutations: for TIFF, next-IFD loops, tag
counts, types and offsets, tile sizes, tile tables, byte flips, cuts) and reads each mutant as
the product does, in child processes, so that a native crash or a hang is caught and counted.
Prints the count of each outcome: opened, typed error (by code), untyped error, abort later than
1 s after the signal, hang, crash; then up to --show examples of each failure. The same --seed
and --n always give the same mutants. Exits 1 when any mutant was not opened or typed.`,
    options: {
      kind: { type: 'string', value: Object.keys(FUZZ_KINDS).join('|'), default: 'tiff', description: 'what to fuzz' },
      n: { type: 'string', value: 'N', default: '500', description: 'mutants' },
      seed: { type: 'string', value: 'N', default: '1', description: 'random seed' },
      workers: {
        type: 'string',
        value: 'N',
        description: `child processes side by side (default ${Math.max(1, os.availableParallelism() - 1)})`,
      },
      limit: {
        type: 'string',
        value: 'MS',
        default: '10000',
        description: "a check's signal fires after MS unless it fired earlier; a child silent MS after that has hung",
      },
      show: { type: 'string', value: 'N', default: '5', description: 'examples printed per failing outcome' },
      save: { type: 'string', value: 'DIR', description: 'write every failing mutant to DIR as <index>.<kind>' },
    },
    examples: ['npm run fuzz -- --kind tiff --n 5000', 'npm run fuzz -- --n 200 --seed 7 --save .cache/fuzz'],
  },
  async (values) => {
    if (!(values.kind in FUZZ_KINDS))
      usageError(`--kind must be one of ${Object.keys(FUZZ_KINDS).join(', ')}, got "${values.kind}"`);
    const n = integerOption('n', values.n, 1);
    const seed = integerOption('seed', values.seed, 0);
    const workers =
      values.workers === undefined
        ? Math.max(1, os.availableParallelism() - 1)
        : integerOption('workers', values.workers, 1);
    const show = integerOption('show', values.show, 0);
    const limitMs = integerOption('limit', values.limit, 100);
    const progress = progressLine({ label: `fuzzing ${values.kind}`, total: n });
    const report = await runFuzz({
      kind: values.kind,
      n,
      seed,
      workers,
      limitMs,
      hangMs: limitMs,
      onResult: (_, done) => progress.update(done),
    });
    progress.finish();
    console.log(formatReport(report, show));
    if (values.save && report.failures.length) {
      fs.mkdirSync(values.save, { recursive: true });
      for (const f of report.failures) fs.writeFileSync(path.join(values.save, `${f.index}.${values.kind}`), f.bytes);
      console.log(`wrote ${report.failures.length} failing mutants to ${values.save}`);
    }
    if (report.failures.length) process.exitCode = 1;
  },
);
