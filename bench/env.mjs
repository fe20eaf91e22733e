/** The environment header printed above the results, and the shared bench context. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST_INDEX = join(ROOT, 'dist', 'index.js');
export const DIST_CLI = join(ROOT, 'dist', 'cli.cjs');

/** Fails early, with a hint, when dist/ is missing. */
export function requireDist() {
  for (const file of [DIST_INDEX, DIST_CLI]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run \`npm run build\` (or \`npm run bench\`) first`);
    }
  }
}

/**
 * Loads the built core library (dist/index.js: core API plus the SQLite storage), or another
 * build's (`index`: a baseline's dist/index.js, see baseline.mjs).
 */
export async function loadCoffer(
  index = DIST_INDEX,
  names = ['Vault', 'initVault', 'openSqliteStorage', 'Keyring', 'sealSecret'],
) {
  if (index === DIST_INDEX) requireDist();
  const lib = await import(pathToFileURL(index).href);
  for (const name of names) {
    if (typeof lib[name] !== 'function') {
      throw new Error(`${index} does not export ${name}; the bench needs it`);
    }
  }
  return lib;
}

/** The short commit of a checkout (default: this one), with "(modified)" when changed. */
export function gitCommit(dir = ROOT) {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dirty ? `${head} (modified)` : head;
  } catch {
    return 'unknown';
  }
}

/** The environment as a list of [label, value] pairs. */
export function environment(mode) {
  const cpuList = cpus();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  let sqlite = 'unknown';
  try {
    const require = createRequire(join(ROOT, 'package.json'));
    const version = require('better-sqlite3/package.json').version;
    const db = new (require('better-sqlite3'))(':memory:');
    sqlite = `${version} (SQLite ${db.prepare('SELECT sqlite_version() AS v').get().v})`;
    db.close();
  } catch {
    // not essential
  }
  return [
    ['coffer', `${pkg.version} @ ${gitCommit()}`],
    ['node', `${process.version} (V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl})`],
    ['better-sqlite3', sqlite],
    ['os', `${platform()} ${release()} ${arch()}`],
    ['cpu', `${cpuList[0]?.model?.trim() ?? 'unknown'} x ${cpuList.length} cores`],
    ['memory', `${Math.round(totalmem() / 1024 ** 3)} GiB`],
    ['mode', mode],
    ['date', new Date().toISOString()],
  ];
}

export function renderEnvironment(pairs) {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return ['## coffer benchmark', '', ...pairs.map(([k, v]) => `    ${k.padEnd(width)}  ${v}`)].join(
    '\n',
  );
}

/**
 * A scratch directory for one run under .bench-tmp/ (git-ignored, on the project's own
 * file system rather than a possible tmpfs /tmp, so fsync costs what it costs for a real
 * vault). COFFER_BENCH_TMP overrides the parent directory.
 */
export function makeScratch() {
  const parent = process.env.COFFER_BENCH_TMP || join(ROOT, '.bench-tmp');
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(parent, 'run-'));
  let n = 0;
  return {
    dir,
    /** A fresh sub-directory for one section. */
    sub(name) {
      const d = join(dir, `${String(++n).padStart(2, '0')}-${name}`);
      mkdirSync(d, { recursive: true, mode: 0o700 });
      return d;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
      try {
        rmdirSync(parent); // only when empty: other runs may be using it
      } catch {
        // not empty, or already gone
      }
    },
  };
}
