/**
 * Drawing at scale: frame times of the contour layer during a scripted pan and zoom over 100 000
 * nuclei in a full-HD view in headless Chromium, this checkout's layer beside an earlier
 * commit's (default: the last one that had a single moved snapshot redrawn at rest), and the
 * time of a hit-test per click. Frame times are requestAnimationFrame intervals
 * (tools/bench-draw-page.ts); figures only, no pass/fail.
 *
 *   npm run bench:draw
 *   npm run bench:draw -- --cells 50000 --runs 3 --old main
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import type { DrawBenchResult, FrameStats } from './bench-draw-page.js';
import { integerOption, startCli } from './cli.js';
import { findChromium } from './setup.mjs';

const args = startCli({
  name: 'bench:draw',
  command: 'npm run bench:draw',
  synopsis: '[options]',
  description: `
Frame times (requestAnimationFrame) of the contour layer during a scripted pan and zoom over
many nuclei in a full-HD view in headless Chromium, this checkout's layer beside an earlier
commit's, and hit-test time per click. Figures only, no pass/fail.`,
  options: {
    cells: { type: 'string', value: 'N', default: '100000', description: 'nuclei, all in view at the start' },
    runs: { type: 'string', value: 'N', default: '1', description: 'runs per layer, alternating; medians' },
    clicks: { type: 'string', value: 'N', default: '1000', description: 'hit-tests timed' },
    old: {
      type: 'string',
      value: 'REV',
      default: '9d7ed55',
      description: "the git revision whose plugin/layers is the 'old' layer",
    },
  },
  examples: ['npm run bench:draw -- --cells 50000 --runs 3'],
});
const cells = integerOption('cells', args.cells, 1);
const runs = integerOption('runs', args.runs, 1);
const clicks = integerOption('clicks', args.clicks, 1);

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-draw-'));
// The old layer as that commit had it (its plugin/layers and the core/ it reads).
const tar = execFileSync('git', ['archive', '--format=tar', args.old, 'plugin/layers', 'core'], {
  cwd: root,
  maxBuffer: 1 << 30,
});
execFileSync('tar', ['-x', '-C', work], { input: tar });
const entry = path.join(work, 'entry.ts');
fs.writeFileSync(
  entry,
  `import { createContourLayer as before } from ${JSON.stringify(path.join(work, 'plugin/layers/contour-layer.ts'))};
import { createContourLayer as after } from ${JSON.stringify(path.join(root, 'plugin/layers/contour-layer.ts'))};
import { runDrawBench } from ${JSON.stringify(path.join(root, 'tools/bench-draw-page.ts'))};
const layers = { old: before, new: after };
window.benchDraw = (which, options) => runDrawBench((viewer) => layers[which](viewer), options);
`,
);
const bundle = await build({
  entryPoints: [entry],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  nodePaths: [path.join(root, 'node_modules')],
  logLevel: 'error',
});
const script = bundle.outputFiles[0].text.replaceAll('</script', '<\\/script');

const browser = await chromium.launch({
  executablePath: findChromium(),
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
type Which = 'old' | 'new';
const results: Record<Which, DrawBenchResult[]> = { old: [], new: [] };
try {
  for (let r = 0; r < runs; r++) {
    for (const which of (r % 2 === 0 ? ['old', 'new'] : ['new', 'old']) as Which[]) {
      const page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
      await page.setContent(`<!doctype html><body style="margin:0"><script type="module">${script}</script></body>`);
      await page.waitForFunction(() => 'benchDraw' in window);
      const result = (await page.evaluate(
        ([w, options]) =>
          (window as unknown as { benchDraw: (w: string, o: object) => Promise<unknown> }).benchDraw(w, options),
        [which, { cells, clicks }] as const,
      )) as DrawBenchResult;
      results[which].push(result);
      await page.close();
      process.stderr.write(`  run ${r + 1} ${which}: gestures median ${result.gestures.median.toFixed(1)} ms\n`);
    }
  }
} finally {
  await browser.close();
  fs.rmSync(work, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const pick = (which: Which, f: (r: DrawBenchResult) => number) => median(results[which].map(f));
const frameLine = (label: string, f: (r: DrawBenchResult) => FrameStats) => {
  const cols = (which: Which) =>
    `median ${pick(which, (r) => f(r).median).toFixed(1)} / p95 ${pick(which, (r) => f(r).p95).toFixed(1)} / ` +
    `max ${pick(which, (r) => f(r).max).toFixed(0)} ms, ${pick(which, (r) => f(r).fps).toFixed(1)} fps`;
  console.log(`${label.padEnd(22)} old (${args.old}): ${cols('old')}   |   new: ${cols('new')}`);
};
const first = results.new[0];
console.log(
  `${first.cellsInView} cells in a 1920×1080 view at the start (${(first.vertices / cells).toFixed(1)} vertices ` +
    `per cell); ${runs} run(s) per layer, medians; load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
);
const load = (which: Which) => pick(which, (r) => r.loadMs).toFixed(0);
console.log(`addTile, all cells:     old ${load('old')} ms   |   new ${load('new')} ms`);
frameLine('pan and zoom frames:', (r) => r.gestures);
frameLine('all, with rests:', (r) => r.all);
const hits = results.new.map((r) => r.hit!);
console.log(
  `hit-test (new): median ${median(hits.map((h) => h.medianMs)).toFixed(3)} ms per click ` +
    `(timer resolution ~0.1 ms), mean ${median(hits.map((h) => h.meanMs * 1000)).toFixed(1)} µs over ${clicks}; ` +
    `brute force over every ring ${median(hits.map((h) => h.bruteMs)).toFixed(1)} ms; agreeing with it ` +
    `${(100 * median(hits.map((h) => h.agree))).toFixed(0)} %`,
);
