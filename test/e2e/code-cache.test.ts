/**
 * The V8 code cache of the `coffer` binary (dist/coffer.cjs.cache, see src/cli/loader.cjs):
 * compiled code that runs as coffer, so it must never come from anything but the bundle
 * beside it. Each test works on a copy of dist/'s loader and bundle in a temp directory
 * (node_modules linked beside it), never on dist/ itself, which other tests are using.
 *
 * The intruder: a cache compiled from other code of the same length as the bundle (V8's own
 * check compares little more than the length), a forged header on a cache others may write
 * or that another user owns, and a umask of 000 when the cache is rewritten.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from './harness.js';

const DIST = dirname(BIN);
const ROOT = resolve(DIST, '..');
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
const isRoot = process.getuid?.() === 0;
/** A uid no account on a test machine uses. */
const OTHER_UID = 54_321;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const headerFor = (source: Buffer): Buffer =>
  Buffer.from(`coffer-code-cache/1 sha256:${createHash('sha256').update(source).digest('hex')}\n`);

/** A copy of the binary: loader, bundle and (optionally) the build's cache. */
function copyOfBinary(withCache: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-cache-'));
  dirs.push(dir);
  copyFileSync(join(DIST, 'cli.cjs'), join(dir, 'cli.cjs'));
  copyFileSync(join(DIST, 'coffer.cjs'), join(dir, 'coffer.cjs'));
  copyFileSync(join(DIST, 'coffer-cold.cjs'), join(dir, 'coffer-cold.cjs'));
  copyFileSync(join(DIST, 'coffer-mcp.cjs'), join(dir, 'coffer-mcp.cjs'));
  if (withCache) copyFileSync(join(DIST, 'coffer.cjs.cache'), join(dir, 'coffer.cjs.cache'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const cache = join(dir, 'coffer.cjs.cache');
  return {
    dir,
    bundle: join(dir, 'coffer.cjs'),
    cache,
    /** Runs `node cli.cjs args` under `umask` (octal string) with a clean environment. */
    run(args: string[], env: Record<string, string> = {}, umask = '022') {
      const r = spawnSync(
        '/bin/sh',
        ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, join(dir, 'cli.cjs'), ...args],
        {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env },
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      if (r.error) throw r.error;
      return r;
    },
  };
}

/**
 * Code with exactly the string length of the real bundle that prints EVIL: what an intruder
 * would compile a cache from.
 */
function evilSource(real: string): string {
  const body = "process.stdout.write('EVIL\\n');process.exit(0);";
  return body + ' '.repeat(real.length - body.length);
}

/** Compiles a cache from same-length evil code in the copy, then restores the real bundle. */
function plantEvilCache(copy: ReturnType<typeof copyOfBinary>): Buffer {
  const real = readFileSync(copy.bundle);
  writeFileSync(copy.bundle, evilSource(real.toString('utf8')));
  rmSync(copy.cache, { force: true });
  const evil = copy.run(['--version'], { COFFER_WRITE_CODE_CACHE: '1' });
  expect(evil.stdout).toBe('EVIL\n');
  expect(existsSync(copy.cache)).toBe(true);
  writeFileSync(copy.bundle, real);
  return real;
}

/** The cache's V8 data behind a header that names `source`'s hash (a forged header). */
function forgeHeader(cache: string, source: Buffer): void {
  const bytes = readFileSync(cache);
  const nl = bytes.indexOf(0x0a);
  const data =
    bytes.subarray(0, 19).toString() === 'coffer-code-cache/1' ? bytes.subarray(nl + 1) : bytes;
  writeFileSync(cache, Buffer.concat([headerFor(source), data]));
}

describe('the code cache', () => {
  it('built by the build: mode 0600, its header names the SHA-256 of the bundle', () => {
    // coffer-mcp.cjs's too: an agent starts coffer mcp for each session.
    for (const bundle of ['coffer.cjs', 'coffer-mcp.cjs']) {
      const cache = join(DIST, `${bundle}.cache`);
      expect(statSync(cache).mode & 0o777, bundle).toBe(0o600);
      const head = readFileSync(cache).subarray(0, 200);
      const expected = headerFor(readFileSync(join(DIST, bundle)));
      expect(head.subarray(0, expected.length).equals(expected), bundle).toBe(true);
    }
  });

  it('coffer-mcp.cjs runs through its cache under the same rules', () => {
    const copy = copyOfBinary(true);
    const mcpBundle = join(copy.dir, 'coffer-mcp.cjs');
    const mcpCache = `${mcpBundle}.cache`;
    expect(copy.run(['doctor', '--help']).status).toBe(0);
    expect(existsSync(mcpCache)).toBe(false); // no other command reads it
    expect(copy.run(['mcp', '--help']).stdout).toContain('Usage: coffer mcp');
    expect(statSync(mcpCache).mode & 0o777).toBe(0o600);
    const real = readFileSync(mcpBundle);
    const header = headerFor(real);
    expect(readFileSync(mcpCache).subarray(0, header.length).equals(header)).toBe(true);
    // An intruder's cache compiled from other code of the bundle's length, under a header
    // naming the real bundle, in a file others may write: not used.
    const evil = `exports.load = () => { process.stdout.write('EVIL\\n'); process.exit(0); };`;
    writeFileSync(mcpBundle, evil + ' '.repeat(real.length - evil.length));
    rmSync(mcpCache);
    expect(copy.run(['mcp', '--help']).stdout).toBe('EVIL\n');
    writeFileSync(mcpBundle, real);
    forgeHeader(mcpCache, real);
    chmodSync(mcpCache, 0o666);
    const again = copy.run(['mcp', '--help']);
    expect(again.stdout).not.toContain('EVIL');
    expect(again.stdout).toContain('Usage: coffer mcp');
  });

  it('coffer-cold.cjs gets its own cache when a command of it first runs, under the same rules', () => {
    const copy = copyOfBinary(true);
    const coldBundle = join(copy.dir, 'coffer-cold.cjs');
    const coldCache = `${coldBundle}.cache`;
    expect(copy.run(['--version']).stdout).toBe(`${VERSION}\n`);
    expect(existsSync(coldCache)).toBe(false); // a short command never reads it
    const help = copy.run(['doctor', '--help']);
    expect(help.status).toBe(0);
    expect(statSync(coldCache).mode & 0o777).toBe(0o600);
    const header = headerFor(readFileSync(coldBundle));
    expect(readFileSync(coldCache).subarray(0, header.length).equals(header)).toBe(true);
    // An intruder's cache compiled from other code of the cold bundle's length, under a
    // header naming the real bundle, in a file others may write: not used.
    const real = readFileSync(coldBundle);
    const evil = `exports.load = () => { process.stdout.write('EVIL\\n'); process.exit(0); };`;
    writeFileSync(coldBundle, evil + ' '.repeat(real.length - evil.length));
    rmSync(coldCache);
    expect(copy.run(['doctor', '--help']).stdout).toBe('EVIL\n');
    writeFileSync(coldBundle, real);
    forgeHeader(coldCache, real);
    chmodSync(coldCache, 0o666);
    const again = copy.run(['doctor', '--help']);
    expect(again.stdout).not.toContain('EVIL');
    expect(again.stdout).toContain('Usage: coffer doctor');
  });

  it('a valid cache is used as it is (not rewritten)', () => {
    const copy = copyOfBinary(true);
    const before = statSync(copy.cache);
    const r = copy.run(['--version']);
    expect(r.stdout).toBe(`${VERSION}\n`);
    const after = statSync(copy.cache);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('a cache compiled from other code of the same length is not used: the bundle runs', () => {
    const copy = copyOfBinary(false);
    plantEvilCache(copy);
    const r = copy.run(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${VERSION}\n`);
    // and it was replaced by a cache of the real bundle
    const bytes = readFileSync(copy.cache);
    const header = headerFor(readFileSync(copy.bundle));
    expect(bytes.subarray(0, header.length).equals(header)).toBe(true);
    expect(copy.run(['--version']).stdout).toBe(`${VERSION}\n`);
  });

  it('a forged header is not trusted on a cache that others may write', () => {
    const copy = copyOfBinary(false);
    const real = plantEvilCache(copy);
    forgeHeader(copy.cache, real);
    for (const mode of [0o666, 0o620, 0o602]) {
      chmodSync(copy.cache, mode);
      const r = copy.run(['--version']);
      expect(r.stdout, mode.toString(8)).toBe(`${VERSION}\n`);
      // refused, so rewritten from the real bundle with mode 0600
      expect(statSync(copy.cache).mode & 0o777).toBe(0o600);
      plantEvilCache(copy);
      forgeHeader(copy.cache, real);
    }
  });

  it.runIf(isRoot)('a forged header is not trusted on a cache another user owns', () => {
    const copy = copyOfBinary(false);
    const real = plantEvilCache(copy);
    forgeHeader(copy.cache, real);
    chmodSync(copy.cache, 0o600);
    chownSync(copy.cache, OTHER_UID, OTHER_UID);
    expect(copy.run(['--version']).stdout).toBe(`${VERSION}\n`);
  });

  it.skipIf(isRoot)(
    'a cache owned by another user: NOT RUN, chown to another uid needs root (run the suite as root to cover it)',
    () => {},
  );

  it('is rewritten with mode 0600 under umask 000', () => {
    const copy = copyOfBinary(false);
    const r = copy.run(['--version'], {}, '000');
    expect(r.stdout).toBe(`${VERSION}\n`);
    expect(statSync(copy.cache).mode & 0o777).toBe(0o600);
    // a cache refused by V8 (here: its data cut short) is rewritten the same way
    const bytes = readFileSync(copy.cache);
    const cut = bytes.subarray(0, bytes.length - 1000);
    writeFileSync(copy.cache, cut, { mode: 0o600 });
    chmodSync(copy.cache, 0o600);
    expect(copy.run(['--version'], {}, '000').stdout).toBe(`${VERSION}\n`);
    expect(statSync(copy.cache).mode & 0o777).toBe(0o600);
    expect(readFileSync(copy.cache).length).toBeGreaterThan(cut.length);
  });

  it.runIf(isRoot)('is never written by a user who does not own the bundle', () => {
    const copy = copyOfBinary(false);
    chownSync(copy.bundle, OTHER_UID, OTHER_UID);
    chmodSync(copy.bundle, 0o644);
    expect(copy.run(['--version']).stdout).toBe(`${VERSION}\n`);
    expect(existsSync(copy.cache)).toBe(false);
  });

  it.skipIf(isRoot)(
    'a bundle owned by another user: NOT RUN, chown to another uid needs root (run the suite as root to cover it)',
    () => {},
  );
});
