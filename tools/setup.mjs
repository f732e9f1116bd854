#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm dependencies when they are missing or stale and,
// with --chromium, finds (or installs) the Chromium the browser tests drive; with --redis, the
// redis-server the queued batch's tests start (test/tools/batch/redis-server.ts).
// Plain JavaScript with Node built-ins only: it runs before anything else is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));

function run(cmd, cmdArgs) {
  console.log(`setup: ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`setup: '${cmd} ${cmdArgs.join(' ')}' failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

function ensureDependencies() {
  const lock = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  // npm rewrites node_modules/.package-lock.json on every install, so an older one means the lock
  // file changed since (a pull, a branch switch) and node_modules may not match it.
  const stale = !existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs;
  if (stale) run('npm', ['ci', '--no-audit', '--no-fund']);
}

const candidates = [
  process.env.CHROME_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
].filter(Boolean);

export function findChromium() {
  return candidates.find((p) => existsSync(p));
}

/** Installs Debian's `pkg` (as root, with apt-get), or exits naming `what` is missing and how to install it. */
function aptInstall(pkg, what, lookedAt) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (!isRoot || !hasApt) {
    console.error(
      `setup: no ${what} found (looked at ${lookedAt}).\n  Install one (Debian/Ubuntu: sudo apt-get install ${pkg}).`,
    );
    process.exit(1);
  }
  console.log(`setup: ${what} is missing; installing Debian's ${pkg} package (needs a minute)`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', pkg], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function ensureChromium() {
  if (findChromium()) return;
  aptInstall('chromium', 'Chromium', `${candidates.join(', ')}; or set CHROME_PATH to its executable`);
  if (!findChromium()) {
    console.error('setup: apt-get finished but no Chromium executable appeared');
    process.exit(1);
  }
}

const REDIS = '/usr/bin/redis-server';

function ensureRedis() {
  if (existsSync(REDIS)) return;
  aptInstall('redis-server', 'redis-server', REDIS);
  if (!existsSync(REDIS)) {
    console.error('setup: apt-get finished but no redis-server appeared');
    process.exit(1);
  }
}

if (args.has('--deps')) ensureDependencies();
if (args.has('--chromium')) ensureChromium();
if (args.has('--redis')) ensureRedis();
